// Hybrid search: vector top-N and BM25 top-N over title + abstract, fused by reciprocal rank.
import { MultiMatchQuery } from '@lancedb/lancedb';
import { normalize, type Embedder } from './embedder.js';
import type { PaperIndex } from './paper-index.js';
import { ROW_COLUMNS, TEXT_COLUMNS } from './resident-vectors.js';

export interface SearchFilters {
  since?: number;
  until?: number;
  /** Keep papers with any of these categories. */
  categories?: string[];
  /** Case-insensitive substring of the venue. */
  venue?: string;
}

export type SearchMode = 'hybrid' | 'vector' | 'text';

export interface SearchOptions {
  k?: number;
  /** Candidates taken from each of the two rankings before fusion. */
  candidates?: number;
  filters?: SearchFilters;
  mode?: SearchMode;
  /** BM25 hits whose embeddings are averaged into the vector query (pseudo-relevance feedback); 0 turns it off. */
  feedback?: number;
}

export interface SearchHit {
  id: string;
  title: string;
  abstract: string;
  authors: string[];
  year: number | null;
  venue: string;
  categories: string[];
  url: string;
  score: number;
  vectorRank?: number;
  textRank?: number;
}

/** Reciprocal-rank-fusion constant (Cormack et al. 2009). */
export const RRF_K = 60;
const COLUMNS = [...ROW_COLUMNS];
/** Boosts of TEXT_COLUMNS (title, abstract). */
export const TEXT_BOOSTS = [2, 1];
/** IVF partitions probed per vector query (of ~√rows). */
const NPROBES = 24;

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function filterSql(f: SearchFilters = {}): string | undefined {
  const parts: string[] = [];
  if (f.since !== undefined) parts.push(`year >= ${Math.trunc(f.since)}`);
  if (f.until !== undefined) parts.push(`year <= ${Math.trunc(f.until)}`);
  if (f.categories?.length) parts.push(`array_has_any(categories, [${f.categories.map(sqlString).join(', ')}])`);
  if (f.venue) parts.push(`lower(venue) LIKE ${sqlString(`%${f.venue.toLowerCase().replace(/[%_]/g, '')}%`)}`);
  return parts.length ? parts.join(' AND ') : undefined;
}

type Row = Omit<SearchHit, 'score' | 'vectorRank' | 'textRank'>;
/** One entry of a ranking by id (what `textRanking` returns). */
interface Ranked {
  id: string;
}

const list = (v: unknown): string[] =>
  v && typeof (v as { toArray?: unknown }).toArray === 'function' ? [...(v as { toArray(): string[] }).toArray()] : [...((v as string[] | null) ?? [])];

function toRow(r: Record<string, unknown>): Row {
  return {
    id: r.id as string,
    title: r.title as string,
    abstract: r.abstract as string,
    authors: list(r.authors),
    year: (r.year as number | null) ?? null,
    venue: r.venue as string,
    categories: list(r.categories),
    url: r.url as string,
  };
}

/*
 * Hybrid search ranks by LanceDB row id, not paper id: a search that returns only row ids skips
 * LanceDB's take of other columns, which for 100 candidates costs more than the search itself, and
 * a take by row id skips the B-tree lookup and filter plan of `id IN (…)`. Only the final k rows
 * (and the feedback hits' vectors) are read. Row ids are row addresses within the table version the
 * handle has open; the server and the CLI never write the table while they search it.
 */
const rowIds = (t: { getChild(name: string): { toArray(): BigUint64Array } | null }): bigint[] => [...(t.getChild('_rowid')?.toArray() ?? [])];

/** LanceDB's BM25 query over TEXT_COLUMNS (what the resident postings of resident-text.ts reproduce). */
export function textQuery(index: PaperIndex, query: string, n: number, where?: string) {
  const q = index.papers().query().fullTextSearch(new MultiMatchQuery(query, [...TEXT_COLUMNS], { boosts: TEXT_BOOSTS })).limit(n);
  return where ? q.where(where) : q;
}

/**
 * Row ids of the top `n` BM25 matches over title (boosted) and abstract, best first: from the
 * resident postings where the vectors are resident (the same ranking: resident-text.ts), otherwise
 * from LanceDB's full-text indexes.
 */
async function textRowIds(index: PaperIndex, query: string, n: number, filters?: SearchFilters): Promise<bigint[]> {
  const resident = index.residentVectors();
  if (resident) return (await resident).textMatches(query, n, TEXT_BOOSTS, filters);
  return rowIds(await textQuery(index, query, n, filterSql(filters)).select(['_score']).withRowId().toArrow());
}

/**
 * Row ids of the `n` nearest stored vectors by cosine distance, nearest first: exact, from memory,
 * where the vectors are resident (a server and its survey threads); otherwise LanceDB's IVF index
 * (approximate: it probes NPROBES partitions), as a one-off CLI search does.
 */
async function vectorRowIds(index: PaperIndex, vector: Float32Array, n: number, filters?: SearchFilters): Promise<bigint[]> {
  const resident = index.residentVectors();
  if (resident) return (await resident).nearest(vector, n, filters);
  const where = filterSql(filters);
  let q = index.papers().vectorSearch(vector).distanceType('cosine').select(['_distance']).withRowId().limit(n).nprobes(NPROBES);
  if (where) q = q.where(where);
  return rowIds(await q.toArrow());
}

/** Paper ids of the top `n` BM25 matches over title (boosted) and abstract, best first. */
export async function textRanking(index: PaperIndex, query: string, n: number, where?: string): Promise<Ranked[]> {
  return ((await textQuery(index, query, n, where).select(['id', '_score']).toArray()) as { id: string }[]).map((r) => ({ id: r.id }));
}

/** The full rows of the given papers (those passing `filters`), in the given order. */
export async function fetchPapers(index: PaperIndex, ids: string[], filters?: SearchFilters): Promise<Row[]> {
  if (ids.length === 0) return [];
  const where = filterSql(filters);
  const rows = (await index
    .papers()
    .query()
    .where(`id IN (${ids.map(sqlString).join(', ')})${where ? ` AND ${where}` : ''}`)
    .select(COLUMNS)
    .limit(ids.length)
    .toArray()) as Record<string, unknown>[];
  const byId = new Map(rows.map((r) => [r.id as string, toRow(r)]));
  return ids.map((id) => byId.get(id)).filter((r): r is Row => r !== undefined);
}

export interface Fused<K> {
  key: K;
  score: number;
  vectorRank?: number;
  textRank?: number;
}

/** Fuses [vector, text] rankings (keys, best first) by reciprocal rank; ties keep the order of first appearance. */
export function fuse<K>(rankings: K[][], k: number): Fused<K>[] {
  const hits = new Map<K, Fused<K>>();
  rankings.forEach((ranking, which) => {
    ranking.forEach((key, rank) => {
      const hit = hits.get(key) ?? { key, score: 0 };
      hit.score += 1 / (RRF_K + rank + 1);
      if (which === 0) hit.vectorRank = rank + 1;
      else hit.textRank = rank + 1;
      hits.set(key, hit);
    });
  });
  return [...hits.values()].sort((a, b) => b.score - a.score).slice(0, k);
}

/** Default number of BM25 hits folded into the vector query. */
export const FEEDBACK_DOCS = 10;

/**
 * The vector query of hybrid search: the query's embedding plus the mean stored embedding of the
 * top BM25 hits, equally weighted (Rocchio pseudo-relevance feedback). A short topic like "LLM
 * alignment" says little to word vectors on its own; the abstracts it matches say much more.
 */
async function feedbackVector(index: PaperIndex, query: Float32Array, hits: bigint[]): Promise<Float32Array> {
  const docs = await index.vectorsOf(hits);
  if (docs.length === 0) return query;
  const v = Float32Array.from(query);
  for (const d of docs) for (let i = 0; i < v.length; i++) v[i]! += d[i]! / docs.length;
  return normalize(v);
}

export async function search(index: PaperIndex, embedder: Embedder, query: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
  const k = opts.k ?? 20;
  const n = Math.max(k, opts.candidates ?? 100);
  const mode = opts.mode ?? 'hybrid';
  const feedback = opts.feedback ?? FEEDBACK_DOCS;
  if (!query.trim()) throw new Error('empty query');
  index.checkEmbedder(embedder.info);
  await index.yieldTo?.yield();
  const embed = async () => (await embedder.embed([query]))[0]!;
  let fused: Fused<bigint>[];
  if (mode === 'vector') fused = fuse([await vectorRowIds(index, await embed(), n, opts.filters)], k);
  else {
    const byText = await textRowIds(index, query, n, opts.filters);
    if (mode === 'text') fused = fuse([[], byText], k);
    else {
      const vector = feedback > 0 ? await feedbackVector(index, await embed(), byText.slice(0, feedback)) : await embed();
      fused = fuse([await vectorRowIds(index, vector, n, opts.filters), byText], k);
    }
  }
  const keys = fused.map((f) => f.key);
  const resident = index.residentVectors();
  const rows = resident ? (await resident).rows(keys) : await index.takeRows(keys, COLUMNS);
  return fused.flatMap(({ key, ...ranks }) => {
    const row = rows.get(key);
    return row ? [{ ...toRow(row), ...ranks }] : [];
  });
}
