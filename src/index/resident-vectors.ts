// Every stored paper vector in memory, keyed by LanceDB row id, for a long-running server: the
// Rocchio feedback vectors of a search come from memory instead of a LanceDB take, and the vector
// ranking is an exact cosine top-n over all rows (native vectorTopK) instead of an IVF query.
// 98k papers × 100 dimensions = 39 MB of f32, 9.8 MB of int8 codes (scored first; they fit in the
// L3 cache), ~8 MB for the row-id map and the filter columns (years, venues, categories);
// loaded once (~0.5 s). The arrays live in SharedArrayBuffers, so survey worker threads use the
// server's copy.
import type * as lancedb from '@lancedb/lancedb';
import { native } from '../engine/native.js';
import { filterColumns, filterMask, type FilterColumns } from './filter-mask.js';
import type { SearchFilters } from './search.js';

/** The int8 copy of the vectors that vectorTopK scores before it re-scores exactly (see native/src/kernels/vector_topk.h). */
export interface QuantizedVectors {
  data: Float32Array;
  dim: number;
  codes: Uint8Array;
  steps: Float32Array;
  residuals: Float32Array;
  codeNorms: Float32Array;
  norms: Float64Array;
}

/** The addon's exact vector search (native/src/napi/vector_napi.cpp). */
export interface VectorBindings {
  vectorQuantize(data: Float32Array, dim: number, codes: Uint8Array, steps: Float32Array, residuals: Float32Array, codeNorms: Float32Array, norms: Float64Array): void;
  /** The exact top n rows by cosine (ties: lower row first), skipping rows whose mask byte is 0. */
  vectorTopK(store: QuantizedVectors, query: Float32Array, n: number, mask?: Uint8Array | null, level?: string): { rows: Uint32Array; scores: Float64Array; candidates: number; rescored: number };
  /** sum_j codes[r][j] q[j] per row at one kernel level (the int8 kernel alone, for tests). */
  vectorInt8Dots(level: string, codes: Uint8Array, dim: number, q: Int8Array): Int32Array;
}

/** What a worker thread receives to use another thread's vectors (shared, not copied). */
export interface SharedVectors extends QuantizedVectors {
  /** The table version the row ids belong to. */
  version: number;
  rowIds: BigUint64Array;
  columns: FilterColumns;
}

const sharedArray = <T>(Kind: new (b: SharedArrayBuffer) => T, bytes: number): T => new Kind(new SharedArrayBuffer(bytes));

/** The int8 codes of `data` (rows × dim f32), in shared memory. */
export function quantizeVectors(data: Float32Array, dim: number): QuantizedVectors {
  const rows = data.length / dim;
  const q: QuantizedVectors = {
    data,
    dim,
    codes: sharedArray(Uint8Array, rows * dim),
    steps: sharedArray(Float32Array, rows * 4),
    residuals: sharedArray(Float32Array, rows * 4),
    codeNorms: sharedArray(Float32Array, rows * 4),
    norms: sharedArray(Float64Array, rows * 8),
  };
  native.vectorQuantize(data, dim, q.codes, q.steps, q.residuals, q.codeNorms, q.norms);
  return q;
}

export class ResidentVectors {
  private readonly position = new Map<bigint, number>();

  private constructor(readonly shared: SharedVectors) {
    shared.rowIds.forEach((id, i) => this.position.set(id, i));
  }

  static fromShared(shared: SharedVectors): ResidentVectors {
    return new ResidentVectors(shared);
  }

  /** Reads the vector and filter columns of the table version `table` has open, into shared memory. */
  static async load(table: lancedb.Table): Promise<ResidentVectors> {
    const version = await table.version();
    const t = await table.query().select(['vector', 'year', 'venue', 'categories']).withRowId().toArrow();
    const dim = (t.schema.fields.find((f) => f.name === 'vector')!.type as { listSize: number }).listSize;
    const rowIds = sharedArray(BigUint64Array, t.numRows * 8);
    const data = sharedArray(Float32Array, t.numRows * dim * 4);
    const filterRows: { year: number | null; venue: string; categories: string[] }[] = [];
    let at = 0;
    for (const batch of t.batches) {
      rowIds.set(batch.getChild('_rowid')!.toArray() as BigUint64Array, at);
      const years = batch.getChild('year')!;
      const venues = batch.getChild('venue')!;
      const categories = batch.getChild('categories')!;
      for (let i = 0; i < batch.numRows; i++) {
        const c = categories.get(i) as { toArray(): string[] } | null;
        filterRows.push({ year: (years.get(i) as number | null) ?? null, venue: venues.get(i) as string, categories: c ? [...c.toArray()] : [] });
      }
      for (const list of batch.getChild('vector')!.data) {
        const items = list.children[0]!;
        const start = items.offset + list.offset * dim;
        data.set((items.values as Float32Array).subarray(start, start + list.length * dim), at * dim);
        at += list.length;
      }
    }
    return new ResidentVectors({ version, rowIds, columns: filterColumns(filterRows), ...quantizeVectors(data, dim) });
  }

  /** The vector of a row (a view, not a copy), or undefined for a row id not in the table. */
  get(rowId: bigint): Float32Array | undefined {
    const i = this.position.get(rowId);
    const d = this.shared.dim;
    return i === undefined ? undefined : this.shared.data.subarray(i * d, (i + 1) * d);
  }

  /** Row ids of the `n` rows passing `filters` nearest to `query` by cosine, exactly, nearest first. */
  nearest(query: Float32Array, n: number, filters?: SearchFilters): bigint[] {
    const mask = filterMask(this.shared.columns, filters);
    return Array.from(native.vectorTopK(this.shared, query, n, mask).rows, (r) => this.shared.rowIds[r]!);
  }
}
