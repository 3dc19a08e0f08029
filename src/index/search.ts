// Hybrid search: vector top-N and BM25 top-N over title + abstract, fused by reciprocal rank.
import { MultiMatchQuery } from '@lancedb/lancedb';
import { normalize, type Embedder } from './embedder.js';
import type { PaperIndex } from './paper-index.js';

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
const COLUMNS = ['id', 'title', 'abstract', 'authors', 'year', 'venue', 'categories', 'url'];
const TITLE_BOOST = 2;

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
/** One entry of a ranking: just the id (and, for BM25 hits, the stored vector for feedback). */
interface Ranked {
  id: string;
  vector?: Float32Array;
}

const list = (v: unknown): string[] =>
  v && typeof (v as { toArray?: unknown }).toArray === 'function' ? [...(v as { toArray(): string[] }).toArray()] : ((v as string[] | null) ?? []);

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

export async function vectorRanking(index: PaperIndex, vector: Float32Array, n: number, where?: string): Promise<Ranked[]> {
  let q = index.papers().vectorSearch(Array.from(vector)).distanceType('cosine').select(['id', '_distance']).limit(n).nprobes(24);
  if (where) q = q.where(where);
  return ((await q.toArray()) as { id: string }[]).map((r) => ({ id: r.id }));
}

export async function textRanking(index: PaperIndex, query: string, n: number, where?: string): Promise<Ranked[]> {
  let q = index.papers().query().fullTextSearch(new MultiMatchQuery(query, ['title', 'abstract'], { boosts: [TITLE_BOOST, 1] })).select(['id', 'vector', '_score']).limit(n);
  if (where) q = q.where(where);
  return ((await q.toArray()) as { id: string; vector: { toArray(): Float32Array } }[]).map((r) => ({ id: r.id, vector: Float32Array.from(r.vector.toArray()) }));
}

/** The full rows of the given papers, in the given order. */
export async function fetchPapers(index: PaperIndex, ids: string[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const rows = (await index
    .papers()
    .query()
    .where(`id IN (${ids.map(sqlString).join(', ')})`)
    .select(COLUMNS)
    .limit(ids.length)
    .toArray()) as Record<string, unknown>[];
  const byId = new Map(rows.map((r) => [r.id as string, toRow(r)]));
  return ids.map((id) => byId.get(id)).filter((r): r is Row => r !== undefined);
}

export interface Fused {
  id: string;
  score: number;
  vectorRank?: number;
  textRank?: number;
}

/** Fuses [vector, text] rankings by reciprocal rank; ties keep the order of first appearance. */
export function fuse(rankings: Ranked[][], k: number): Fused[] {
  const hits = new Map<string, Fused>();
  rankings.forEach((ranking, which) => {
    ranking.forEach((row, rank) => {
      const hit = hits.get(row.id) ?? { id: row.id, score: 0 };
      hit.score += 1 / (RRF_K + rank + 1);
      if (which === 0) hit.vectorRank = rank + 1;
      else hit.textRank = rank + 1;
      hits.set(row.id, hit);
    });
  });
  return [...hits.values()].sort((a, b) => b.score - a.score).slice(0, k);
}

/** Default number of BM25 hits folded into the vector query. */
export const FEEDBACK_DOCS = 10;

/**
 * The vector query of hybrid search: the query's embedding plus the mean embedding of the top BM25
 * hits, equally weighted (Rocchio pseudo-relevance feedback). A short topic like "LLM alignment" says
 * little to word vectors on its own; the abstracts it matches say much more.
 */
function feedbackVector(query: Float32Array, hits: Ranked[]): Float32Array {
  const docs = hits.flatMap((h) => (h.vector ? [h.vector] : []));
  if (docs.length === 0) return query;
  const v = Float32Array.from(query);
  for (const d of docs) for (let i = 0; i < v.length; i++) v[i]! += d[i]! / docs.length;
  return normalize(v);
}

export async function search(index: PaperIndex, embedder: Embedder, query: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
  const k = opts.k ?? 20;
  const n = Math.max(k, opts.candidates ?? 100);
  const where = filterSql(opts.filters);
  const mode = opts.mode ?? 'hybrid';
  const feedback = opts.feedback ?? FEEDBACK_DOCS;
  if (!query.trim()) throw new Error('empty query');
  index.checkEmbedder(embedder.info);
  const [queryVector] = await embedder.embed([query]);
  let fused: Fused[];
  if (mode === 'vector') fused = fuse([await vectorRanking(index, queryVector!, n, where)], k);
  else {
    const byText = await textRanking(index, query, n, where);
    if (mode === 'text') fused = fuse([[], byText], k);
    else {
      const vector = feedback > 0 ? feedbackVector(queryVector!, byText.slice(0, feedback)) : queryVector!;
      fused = fuse([await vectorRanking(index, vector, n, where), byText], k);
    }
  }
  const rows = new Map((await fetchPapers(index, fused.map((f) => f.id))).map((r) => [r.id, r]));
  return fused.flatMap((f) => {
    const row = rows.get(f.id);
    return row ? [{ ...row, ...f }] : [];
  });
}
