// Every stored paper vector in memory, keyed by LanceDB row id, for a long-running server: the
// Rocchio feedback vectors of a search come from memory instead of a LanceDB take, and the vector
// ranking is an exact cosine top-n over all rows (native vectorTopK) instead of an IVF query.
// 98k papers × 100 dimensions = 39 MB of f32, 9.8 MB of int8 codes (scored first; they fit in the
// L3 cache), ~8 MB for the row-id map and the filter columns (years, venues, categories). The
// rows a search returns (id, title, abstract, authors, year, venue, categories, url) are kept too,
// as UTF-8 JSON (~150 MB for 98k papers): LanceDB's take of 10 rows × 8 columns cost ~4 ms of CPU,
// more than the searches themselves. The title and abstract full-text indexes are built from the
// same read (resident-text.ts: BM25 as LanceDB ranks it, ~70 MB of postings for 98k papers).
// Loaded once (a few seconds). The arrays live in SharedArrayBuffers, so survey worker threads
// use the server's copy.
import type * as lancedb from '@lancedb/lancedb';
import { native } from '../engine/native.js';
import { filterColumns, filterMask, type FilterColumns } from './filter-mask.js';
import { ResidentText, type SharedText } from './resident-text.js';
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
  /** Row i's display columns as UTF-8 JSON (ROW_COLUMNS in order): rowBytes[rowStarts[i], rowStarts[i + 1]). */
  rowBytes: Uint8Array;
  rowStarts: Float64Array;
  /** Postings of TEXT_COLUMNS, by row position. */
  text: SharedText;
}

/** The columns of a search hit, as `search` reads them. */
export const ROW_COLUMNS = ['id', 'title', 'abstract', 'authors', 'year', 'venue', 'categories', 'url'] as const;
/** The full-text-indexed columns, in the order `textMatches` takes boosts. */
export const TEXT_COLUMNS = ['title', 'abstract'] as const;

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
  private readonly text: ResidentText;

  private constructor(readonly shared: SharedVectors) {
    shared.rowIds.forEach((id, i) => this.position.set(id, i));
    this.text = ResidentText.fromShared(shared.text);
  }

  static fromShared(shared: SharedVectors): ResidentVectors {
    return new ResidentVectors(shared);
  }

  /** Reads the vector and filter columns of the table version `table` has open, into shared memory. */
  static async load(table: lancedb.Table): Promise<ResidentVectors> {
    const version = await table.version();
    const t = await table.query().select(['vector', ...ROW_COLUMNS]).withRowId().toArrow();
    const dim = (t.schema.fields.find((f) => f.name === 'vector')!.type as { listSize: number }).listSize;
    const rowIds = sharedArray(BigUint64Array, t.numRows * 8);
    const data = sharedArray(Float32Array, t.numRows * dim * 4);
    const filterRows: { year: number | null; venue: string; categories: string[] }[] = [];
    const encoded: Buffer[] = [];
    let at = 0;
    const text = ResidentText.build(TEXT_COLUMNS.map((name) => t.batches.map((batch) => batch.getChild(name)!)));
    for (const batch of t.batches) {
      rowIds.set(batch.getChild('_rowid')!.toArray() as BigUint64Array, at);
      const column = (name: string) => batch.getChild(name)!;
      const [ids, titles, abstracts, authors, years, venues, categories, urls] = ROW_COLUMNS.map(column);
      const list = (v: unknown) => (v ? [...(v as { toArray(): string[] }).toArray()] : []);
      for (let i = 0; i < batch.numRows; i++) {
        const row = { year: (years!.get(i) as number | null) ?? null, venue: venues!.get(i) as string, categories: list(categories!.get(i)) };
        filterRows.push(row);
        encoded.push(Buffer.from(JSON.stringify([ids!.get(i), titles!.get(i), abstracts!.get(i), list(authors!.get(i)), row.year, row.venue, row.categories, urls!.get(i)])));
      }
      for (const list of batch.getChild('vector')!.data) {
        const items = list.children[0]!;
        const start = items.offset + list.offset * dim;
        data.set((items.values as Float32Array).subarray(start, start + list.length * dim), at * dim);
        at += list.length;
      }
    }
    const rowStarts = sharedArray(Float64Array, (encoded.length + 1) * 8);
    encoded.forEach((b, i) => (rowStarts[i + 1] = rowStarts[i]! + b.length));
    const rowBytes = sharedArray(Uint8Array, rowStarts[encoded.length]!);
    encoded.forEach((b, i) => rowBytes.set(b, rowStarts[i]!));
    return new ResidentVectors({ version, rowIds, columns: filterColumns(filterRows), rowBytes, rowStarts, text: text.shared, ...quantizeVectors(data, dim) });
  }

  /** The vector of a row (a view, not a copy), or undefined for a row id not in the table. */
  get(rowId: bigint): Float32Array | undefined {
    const i = this.position.get(rowId);
    const d = this.shared.dim;
    return i === undefined ? undefined : this.shared.data.subarray(i * d, (i + 1) * d);
  }

  /** The display columns (ROW_COLUMNS) of rows by row id, skipping ids not in the table. */
  rows(ids: readonly bigint[]): Map<bigint, Record<string, unknown>> {
    const { rowBytes, rowStarts } = this.shared;
    const out = new Map<bigint, Record<string, unknown>>();
    for (const id of ids) {
      const i = this.position.get(id);
      if (i === undefined) continue;
      const start = rowStarts[i]!;
      const values = JSON.parse(Buffer.from(rowBytes.buffer, start, rowStarts[i + 1]! - start).toString('utf8')) as unknown[];
      out.set(id, Object.fromEntries(ROW_COLUMNS.map((c, k) => [c, values[k]])));
    }
    return out;
  }

  /**
   * Row ids of the top `n` rows passing `filters` by BM25 over TEXT_COLUMNS (the max over the
   * columns of boost × score, as LanceDB's MultiMatchQuery ranks them), best first.
   */
  textMatches(query: string, n: number, boosts: readonly number[], filters?: SearchFilters): bigint[] {
    const mask = filterMask(this.shared.columns, filters);
    return Array.from(this.text.top(query, n, boosts, mask).rows, (r) => this.shared.rowIds[r]!);
  }

  /** Row ids of the `n` rows passing `filters` nearest to `query` by cosine, exactly, nearest first. */
  nearest(query: Float32Array, n: number, filters?: SearchFilters): bigint[] {
    const mask = filterMask(this.shared.columns, filters);
    return Array.from(native.vectorTopK(this.shared, query, n, mask).rows, (r) => this.shared.rowIds[r]!);
  }
}
