// The papers' full-text indexes (title and abstract) in memory, beside the resident vectors, for
// a long-running server and its survey threads: BM25 top-n without LanceDB, whose full-text
// search cost ~4.6 ms of CPU per query. Ranking is LanceDB's: the same tokens (fts-tokenizer.ts),
// the same BM25 statistics per column, the same f32 arithmetic and MultiMatchQuery's max over the
// boosted columns (native/src/kernels/bm25_topk.h says where the last bit of a score may differ).
// Postings are keyed by the row's position in the resident row order and live in
// SharedArrayBuffers; the term dictionary (~100k strings) is copied to each thread.
//
// Built from the Arrow columns: native code splits the UTF-8 into words, interns them and builds
// the postings (native/src/text/fts_builder.h); this file turns each distinct word into terms once.
import type { Vector } from 'apache-arrow';
import { native } from '../engine/native.js';
import { ALPHANUMERIC_RUN, ftsTerms, termOf } from './fts-tokenizer.js';

/** The addon's full-text bindings (native/src/napi/fts_napi.cpp). */
export interface FtsBindings {
  FtsBuilder: new (columns: number) => {
    /** Appends an Arrow Utf8 chunk's documents to `column`; returns the words first seen, in id order. */
    scan(column: number, values: Uint8Array, offsets: Int32Array): string[];
    /** Postings per column; word w's terms are wordTerms[wordStart[w] .. wordStart[w + 1]). */
    build(wordStart: Uint32Array, wordTerms: Uint32Array, terms: number): TextColumn[];
  };
  bm25TopK(columns: (TextColumn & { boost: number })[], rows: number, terms: Uint32Array, n: number, mask?: Uint8Array | null): { rows: Uint32Array; scores: Float32Array };
}

/** One column's postings: term t's rows are docs[starts[t] .. starts[t + 1]), rising. */
export interface TextColumn {
  starts: Uint32Array;
  docs: Uint32Array;
  /** BM25's document factor of each posting: (k1 + 1) tf / (tf + k1 (1 - b + b len / avglen)), f32. */
  weights: Float32Array;
  /** Documents with at least one token (LanceDB counts no others in BM25's N and average length). */
  documents: number;
}

/** What another thread needs to search (the arrays are shared, the terms copied). */
export interface SharedText {
  terms: string[];
  columns: TextColumn[];
  /** Rows indexed (positions run 0 .. rows - 1). */
  rows: number;
}

/** A copy of `a` in shared memory. */
function shared<T extends Uint32Array | Float32Array>(a: T): T {
  const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

/** The terms of one word (split further at non-ASCII separators), as ids; new terms get the next id. */
function wordTerms(word: string, ids: Map<string, number>): number[] {
  // eslint-disable-next-line no-control-regex
  const runs = /^[\x00-\x7f]*$/.test(word) ? [word] : Array.from(word.matchAll(ALPHANUMERIC_RUN), (m) => m[0]);
  const out: number[] = [];
  for (const run of runs) {
    const term = termOf(run);
    if (term === null) continue;
    let id = ids.get(term);
    if (id === undefined) ids.set(term, (id = ids.size));
    out.push(id);
  }
  return out;
}

export class ResidentText {
  private readonly ids: Map<string, number>;

  private constructor(readonly shared: SharedText) {
    this.ids = new Map(shared.terms.map((t, i) => [t, i]));
  }

  static fromShared(shared: SharedText): ResidentText {
    return new ResidentText(shared);
  }

  /**
   * Indexes Utf8 columns (one Vector per record batch of each, in row order; every column the
   * same rows). A null value indexes as an empty document.
   */
  static build(columns: Vector[][]): ResidentText {
    const builder = new native.FtsBuilder(columns.length);
    const words: string[] = [];
    columns.forEach((chunks, column) => {
      for (const vector of chunks) {
        for (const data of vector.data) {
          const offsets = (data.valueOffsets as Int32Array).subarray(data.offset, data.offset + data.length + 1);
          for (const w of builder.scan(column, data.values as Uint8Array, offsets)) words.push(w);
        }
      }
    });
    const ids = new Map<string, number>();
    const wordStart = new Uint32Array(words.length + 1);
    const termIds: number[] = [];
    words.forEach((w, i) => {
      for (const t of wordTerms(w, ids)) termIds.push(t);
      wordStart[i + 1] = termIds.length;
    });
    const built = builder.build(wordStart, Uint32Array.from(termIds), ids.size);
    const columnsShared = built.map((c) => ({ starts: shared(c.starts), docs: shared(c.docs), weights: shared(c.weights), documents: c.documents }));
    const rows = columns[0]?.reduce((n, chunk) => n + chunk.length, 0) ?? 0;
    return new ResidentText({ terms: [...ids.keys()], columns: columnsShared, rows });
  }

  /** The indexed terms of a query, repeats kept (LanceDB scores a repeated term once per occurrence). */
  queryTerms(query: string): Uint32Array {
    const out: number[] = [];
    for (const term of ftsTerms(query)) {
      const id = this.ids.get(term);
      if (id !== undefined) out.push(id);
    }
    return Uint32Array.from(out);
  }

  /**
   * Row positions of the top `n` rows by max over the columns of boost × BM25 score, best first
   * (ties by lower position), skipping rows whose mask byte is 0; rows matching no term are left out.
   */
  top(query: string, n: number, boosts: readonly number[], mask?: Uint8Array | null): { rows: Uint32Array; scores: Float32Array } {
    if (boosts.length !== this.shared.columns.length) throw new Error(`${this.shared.columns.length} boosts needed, not ${boosts.length}`);
    const columns = this.shared.columns.map((c, i) => ({ ...c, boost: boosts[i]! }));
    return native.bm25TopK(columns, this.shared.rows, this.queryTerms(query), n, mask);
  }
}
