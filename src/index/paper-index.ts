// The LanceDB table of papers: schema, upserts by id, de-duplication by normalised title,
// full-text and vector indexes, and the record of which embedder made the vectors.
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Int32, List, Schema, Utf8 } from 'apache-arrow';
import { createHash } from 'node:crypto';
import { normalizeTitle, type Paper } from '../corpus/paper.js';
import { describeEmbedder, sameEmbedder, type EmbedderInfo } from './embedder.js';
import type { ForegroundGate } from './foreground-gate.js';
import { ResidentVectors, type SharedVectors } from './resident-vectors.js';
import { RowTaker, type RowsById } from './row-taker.js';

export const PAPERS_TABLE = 'papers';
const META_TABLE = 'index_meta';
/** Below this many rows a flat vector scan is as fast as an index. */
export const VECTOR_INDEX_MIN_ROWS = 5_000;

export interface IndexMeta {
  embedder: EmbedderInfo;
  createdAt: string;
  updatedAt: string;
  /** Bumped on every ingest that changes rows; recorded in surveys for reproducibility. */
  revision: number;
}

export interface StoredPaper extends Paper {
  titleKey: string;
  hash: string;
}

export function paperSchema(dim: number): Schema {
  const str = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
  const list = (name: string) => new Field(name, new List(new Field('item', new Utf8(), true)), false);
  return new Schema([
    str('id'),
    str('title'),
    str('abstract'),
    list('authors'),
    new Field('year', new Int32(), true),
    str('venue'),
    list('categories'),
    str('url'),
    str('source'),
    str('title_key'),
    str('hash'),
    new Field('vector', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
  ]);
}

export function contentHash(p: Paper): string {
  return createHash('sha1')
    .update(JSON.stringify([p.title, p.abstract, p.authors, p.year, p.venue, p.categories, p.url, p.source]))
    .digest('hex');
}

export class EmbedderMismatchError extends Error {}

export class PaperIndex {
  private taker: RowTaker | null = null;
  private resident: { table: lancedb.Table; vectors: Promise<ResidentVectors> } | null = null;
  /** Set in background threads: searches on this handle first wait for foreground searches. */
  yieldTo: ForegroundGate | null = null;

  private constructor(
    readonly uri: string,
    private readonly db: lancedb.Connection,
    private table: lancedb.Table | null,
    public meta: IndexMeta | null,
  ) {}

  static async open(uri: string): Promise<PaperIndex> {
    const db = await lancedb.connect(uri);
    const names = await db.tableNames();
    const table = names.includes(PAPERS_TABLE) ? await db.openTable(PAPERS_TABLE) : null;
    let meta: IndexMeta | null = null;
    if (names.includes(META_TABLE)) {
      const rows = (await (await db.openTable(META_TABLE)).query().toArray()) as { key: string; value: string }[];
      const row = rows.find((r) => r.key === 'meta');
      if (row) meta = JSON.parse(row.value) as IndexMeta;
    }
    return new PaperIndex(uri, db, table, meta);
  }

  get exists(): boolean {
    return this.table !== null;
  }

  papers(): lancedb.Table {
    if (!this.table) throw new Error(`no paper index at ${this.uri} yet: run "litsurvey index add FILE..."`);
    return this.table;
  }

  /** Columns of rows by LanceDB row id (from a search on this handle); concurrent takes are coalesced. */
  takeRows(ids: readonly bigint[], columns: readonly string[]): Promise<RowsById> {
    const table = this.papers();
    if (this.taker?.table !== table) this.taker = new RowTaker(table);
    return this.taker.take(ids, columns);
  }

  /**
   * Keeps every stored vector in memory from now on (a server does; a one-off CLI search does not):
   * `vectorsOf` then answers without LanceDB. `shared` adopts another thread's copy of this version.
   */
  keepVectorsResident(shared?: SharedVectors): Promise<ResidentVectors> {
    const table = this.papers();
    if (this.resident?.table !== table) {
      const adopt = async () => (shared && shared.version === (await table.version()) ? ResidentVectors.fromShared(shared) : ResidentVectors.load(table));
      this.resident = { table, vectors: adopt() };
    }
    return this.resident.vectors;
  }

  /** The resident vectors of the table version this handle has open, or null when they are not kept. */
  residentVectors(): Promise<ResidentVectors> | null {
    return this.resident && this.resident.table === this.table ? this.resident.vectors : null;
  }

  /** The stored vectors of rows by row id, in order, skipping ids not in the table. */
  async vectorsOf(ids: readonly bigint[]): Promise<Float32Array[]> {
    const resident = this.residentVectors();
    if (resident) {
      const vectors = await resident;
      return ids.map((id) => vectors.get(id)).filter((v): v is Float32Array => v !== undefined);
    }
    const rows = await this.takeRows(ids, ['vector']);
    return ids.flatMap((id) => {
      const v = rows.get(id)?.vector as Float32Array | undefined;
      return v ? [v] : [];
    });
  }

  async count(filter?: string): Promise<number> {
    return this.table ? this.table.countRows(filter) : 0;
  }

  /** Throws unless vectors in this index were made by `embedder`. */
  checkEmbedder(embedder: EmbedderInfo): void {
    if (this.meta && !sameEmbedder(this.meta.embedder, embedder)) {
      throw new EmbedderMismatchError(
        `the index at ${this.uri} was built with ${describeEmbedder(this.meta.embedder)}, not ${describeEmbedder(embedder)}; ` +
          `run "litsurvey index rebuild" to re-embed it with the current embedder`,
      );
    }
  }

  async writeMeta(meta: IndexMeta): Promise<void> {
    const data = [{ key: 'meta', value: JSON.stringify(meta) }];
    const names = await this.db.tableNames();
    if (names.includes(META_TABLE)) {
      const t = await this.db.openTable(META_TABLE);
      await t.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
    } else await this.db.createTable(META_TABLE, data);
    this.meta = meta;
  }

  /** id → content hash and title key → id of every stored paper (for upserts and de-duplication). */
  async keys(): Promise<{ hashById: Map<string, string>; idByTitle: Map<string, string> }> {
    const hashById = new Map<string, string>();
    const idByTitle = new Map<string, string>();
    if (!this.table) return { hashById, idByTitle };
    const rows = await this.table.query().select(['id', 'hash', 'title_key']).toArrow();
    const ids = rows.getChild('id')!;
    const hashes = rows.getChild('hash')!;
    const titles = rows.getChild('title_key')!;
    for (let i = 0; i < rows.numRows; i++) {
      hashById.set(ids.get(i) as string, hashes.get(i) as string);
      idByTitle.set(titles.get(i) as string, ids.get(i) as string);
    }
    return { hashById, idByTitle };
  }

  private rows(papers: StoredPaper[], vectors: Float32Array[]): Record<string, unknown>[] {
    return papers.map((p, i) => ({
      id: p.id,
      title: p.title,
      abstract: p.abstract,
      authors: p.authors,
      year: p.year,
      venue: p.venue,
      categories: p.categories,
      url: p.url,
      source: p.source,
      title_key: p.titleKey,
      hash: p.hash,
      vector: Array.from(vectors[i]!),
    }));
  }

  async insert(papers: StoredPaper[], vectors: Float32Array[], dim: number): Promise<void> {
    if (papers.length === 0) return;
    const data = this.rows(papers, vectors);
    if (!this.table) this.table = await this.db.createTable(PAPERS_TABLE, data, { schema: paperSchema(dim) });
    else await this.table.add(data);
  }

  async update(papers: StoredPaper[], vectors: Float32Array[]): Promise<void> {
    if (papers.length === 0) return;
    await this.papers().mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(this.rows(papers, vectors));
  }

  /** Creates the full-text indexes and (when large enough) the vector index, or folds new rows into them. */
  async buildIndexes(onStep?: (step: string) => void): Promise<void> {
    const t = this.papers();
    const existing = new Set((await t.listIndices()).map((i) => i.columns.join(',')));
    const rows = await t.countRows();
    if (!existing.has('id')) {
      onStep?.('id index');
      await t.createIndex('id', { config: lancedb.Index.btree() });
    }
    for (const col of ['title', 'abstract']) {
      if (!existing.has(col)) {
        onStep?.(`full-text index on ${col}`);
        await t.createIndex(col, { config: lancedb.Index.fts({ withPosition: false, stem: true, removeStopWords: true, asciiFolding: true }) });
      }
    }
    if (!existing.has('vector') && rows >= VECTOR_INDEX_MIN_ROWS) {
      onStep?.('vector index');
      const numPartitions = Math.max(16, Math.round(Math.sqrt(rows)));
      await t.createIndex('vector', { config: lancedb.Index.ivfFlat({ distanceType: 'cosine', numPartitions }) });
    }
    onStep?.('compacting');
    await t.optimize({ cleanupOlderThan: new Date() });
  }

  /** Papers by year and by source (what `index stats` and the index page show). */
  async counts(): Promise<{ papers: number; byYear: Map<string, number>; bySource: Map<string, number> }> {
    const byYear = new Map<string, number>();
    const bySource = new Map<string, number>();
    if (!this.table) return { papers: 0, byYear, bySource };
    const table = await this.table.query().select(['year', 'source']).toArrow();
    const years = table.getChild('year')!;
    const sources = table.getChild('source')!;
    for (let i = 0; i < table.numRows; i++) {
      const y = String(years.get(i) ?? 'unknown');
      byYear.set(y, (byYear.get(y) ?? 0) + 1);
      const s = String(sources.get(i));
      bySource.set(s, (bySource.get(s) ?? 0) + 1);
    }
    return { papers: table.numRows, byYear, bySource };
  }

  async indexedColumns(): Promise<string[]> {
    return this.table ? (await this.table.listIndices()).map((i) => i.columns.join(',')) : [];
  }

  async dropPapers(): Promise<void> {
    if (this.table) {
      await this.db.dropTable(PAPERS_TABLE);
      this.table = null;
    }
  }
}

export function toStored(p: Paper): StoredPaper {
  return { ...p, titleKey: normalizeTitle(p.title), hash: contentHash(p) };
}
