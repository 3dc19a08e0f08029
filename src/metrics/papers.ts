// Where the evaluator finds cited papers: the LanceDB index, or a list in memory (a library
// from a job record, a benchmark's corpus slice).
import { normalizeTitle } from '../corpus/paper.js';
import type { PaperIndex } from '../index/paper-index.js';
import type { Paper } from '../corpus/paper.js';
import { fetchPapers, textRanking } from '../index/search.js';

/** What a judge and a report need of a paper. */
export type PaperRecord = Pick<Paper, 'id' | 'title' | 'abstract' | 'authors' | 'year' | 'venue' | 'url'>;

export interface PaperSource {
  /** The papers among `ids` that exist. */
  get(ids: readonly string[]): Promise<Map<string, PaperRecord>>;
  /** The paper whose title appears in a free-text reference entry, if any. */
  findByTitle(reference: string): Promise<PaperRecord | undefined>;
}

/** Titles this short ("Introduction") would match by accident. */
const MIN_TITLE_WORDS = 3;

/** True when the paper's normalised title is a whole-word part of the normalised reference text. */
export function titleMatches(title: string, reference: string): boolean {
  const t = normalizeTitle(title);
  if (t.split(' ').length < MIN_TITLE_WORDS) return false;
  return ` ${normalizeTitle(reference)} `.includes(` ${t} `);
}

export function memorySource(papers: readonly PaperRecord[]): PaperSource {
  const byId = new Map(papers.map((p) => [p.id, p]));
  return {
    async get(ids) {
      return new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id)!] as const] : [])));
    },
    async findByTitle(reference) {
      let best: PaperRecord | undefined;
      for (const p of papers) if (titleMatches(p.title, reference) && (!best || p.title.length > best.title.length)) best = p;
      return best;
    },
  };
}

const TITLE_CANDIDATES = 10;

export function indexSource(index: PaperIndex): PaperSource {
  return {
    async get(ids) {
      const unique = [...new Set(ids)].filter((id) => id.length <= 512);
      const rows = unique.length ? await fetchPapers(index, unique) : [];
      return new Map(rows.map((r) => [r.id, r]));
    },
    async findByTitle(reference) {
      const query = reference.replace(/https?:\/\/\S+/g, ' ').replace(/[^\p{L}\p{N}\s-]+/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 400);
      if (!query) return undefined;
      const ranked = await textRanking(index, query, TITLE_CANDIDATES);
      const rows = await fetchPapers(index, ranked.map((r) => r.id));
      return rows.filter((r) => titleMatches(r.title, reference)).sort((a, b) => b.title.length - a.title.length)[0];
    },
  };
}
