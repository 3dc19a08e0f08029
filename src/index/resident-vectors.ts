// Every stored paper vector in one Float32Array, keyed by LanceDB row id: a long-running server
// reads the Rocchio feedback vectors of a search from memory instead of a LanceDB take.
// 98k papers × 100 dimensions = 39 MB, plus ~8 MB for the row-id map; loaded once (~0.5 s).
// The arrays can live in SharedArrayBuffers, so survey worker threads use the server's copy.
import type * as lancedb from '@lancedb/lancedb';

/** What a worker thread receives to use another thread's vectors (shared, not copied). */
export interface SharedVectors {
  /** The table version the row ids belong to. */
  version: number;
  dim: number;
  rowIds: BigUint64Array;
  data: Float32Array;
}

export class ResidentVectors {
  private readonly position = new Map<bigint, number>();

  private constructor(readonly shared: SharedVectors) {
    shared.rowIds.forEach((id, i) => this.position.set(id, i));
  }

  static fromShared(shared: SharedVectors): ResidentVectors {
    return new ResidentVectors(shared);
  }

  /** Reads the vector column of the table version `table` has open, into shared memory. */
  static async load(table: lancedb.Table): Promise<ResidentVectors> {
    const version = await table.version();
    const t = await table.query().select(['vector']).withRowId().toArrow();
    const dim = (t.schema.fields.find((f) => f.name === 'vector')!.type as { listSize: number }).listSize;
    const rowIds = new BigUint64Array(new SharedArrayBuffer(t.numRows * 8));
    const data = new Float32Array(new SharedArrayBuffer(t.numRows * dim * 4));
    let at = 0;
    for (const batch of t.batches) {
      rowIds.set(batch.getChild('_rowid')!.toArray() as BigUint64Array, at);
      for (const list of batch.getChild('vector')!.data) {
        const items = list.children[0]!;
        const start = items.offset + list.offset * dim;
        data.set((items.values as Float32Array).subarray(start, start + list.length * dim), at * dim);
        at += list.length;
      }
    }
    return new ResidentVectors({ version, dim, rowIds, data });
  }

  /** The vector of a row (a view, not a copy), or undefined for a row id not in the table. */
  get(rowId: bigint): Float32Array | undefined {
    const i = this.position.get(rowId);
    const d = this.shared.dim;
    return i === undefined ? undefined : this.shared.data.subarray(i * d, (i + 1) * d);
  }
}
