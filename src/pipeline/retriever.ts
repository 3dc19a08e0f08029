// Retrieve: every section's queries run hybrid search; each section's rankings are fused by
// reciprocal rank; a paper goes to the section where it ranks best; the best papers over all
// sections (plus the topic's own search) form the survey's library.
import { RRF_K, search, type SearchHit } from '../index/search.js';
import { render } from '../templates.js';
import type { LibraryPaper, PlanOutput, StageContext, SurveyRequest } from './types.js';

/** Hits taken from each section query. */
const PER_QUERY = 60;
/** Papers per section the engine reranker scores. */
const RERANK_DEPTH = 20;

export interface Retrieved {
  papers: LibraryPaper[];
  sectionPapers: string[][];
  reranked: boolean;
}

export async function retrieve(ctx: StageContext, req: SurveyRequest, planned: PlanOutput): Promise<Retrieved> {
  const sections = planned.outline.sections;
  const rows = new Map<string, SearchHit>();
  const totalQueries = sections.reduce((n, s) => n + s.queries.length, 0);
  let done = 0;
  // Per section: paper → fused score over the section's queries.
  const sectionScores: Map<string, number>[] = [];
  for (const section of sections) {
    const scores = new Map<string, number>();
    for (const query of section.queries) {
      ctx.signal?.throwIfAborted();
      const hits = await search(ctx.index, ctx.embedder, query, { k: PER_QUERY, candidates: 100, filters: req.filters });
      hits.forEach((h, rank) => {
        rows.set(h.id, h);
        scores.set(h.id, (scores.get(h.id) ?? 0) + 1 / (RRF_K + rank + 1));
      });
      ctx.onProgress?.(++done, totalQueries, 'queries');
    }
    sectionScores.push(scores);
  }
  const sectionRank = sectionScores.map((scores) => new Map([...scores.entries()].sort((a, b) => b[1] - a[1]).map(([id], i) => [id, i])));

  // Global order: the sum of the section scores plus the topic search's own ranking.
  const global = new Map<string, number>();
  for (const scores of sectionScores) for (const [id, s] of scores) global.set(id, (global.get(id) ?? 0) + s);
  planned.seedIds.forEach((id, rank) => {
    if (global.has(id)) global.set(id, global.get(id)! + 1 / (RRF_K + rank + 1));
  });
  const chosen = [...global.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, req.maxPapers).map(([id]) => id);

  const papers: LibraryPaper[] = chosen.map((id) => {
    let best = 0;
    for (let s = 1; s < sections.length; s++) {
      const r = sectionRank[s]!.get(id) ?? Infinity;
      const b = sectionRank[best]!.get(id) ?? Infinity;
      if (r < b || (r === b && (sectionScores[s]!.get(id) ?? 0) > (sectionScores[best]!.get(id) ?? 0))) best = s;
    }
    const h = rows.get(id)!;
    return { id, title: h.title, abstract: h.abstract, authors: h.authors, year: h.year, venue: h.venue, url: h.url, section: best };
  });
  const sectionPapers = sections.map((_, s) =>
    papers.filter((p) => p.section === s).sort((a, b) => sectionRank[s]!.get(a.id)! - sectionRank[s]!.get(b.id)!).map((p) => p.id),
  );
  let reranked = false;
  if (req.rerank && ctx.engine) {
    const byId = new Map(papers.map((p) => [p.id, p]));
    for (const [s, ids] of sectionPapers.entries()) sectionPapers[s] = await rerank(ctx, req.topic, sections[s]!.title, ids.map((id) => byId.get(id)!));
    reranked = true;
  }
  return { papers, sectionPapers, reranked };
}

/** Orders a section's top papers by the engine's log-odds of answering "yes" to the reranker prompt. */
async function rerank(ctx: StageContext, topic: string, section: string, papers: LibraryPaper[]): Promise<string[]> {
  const head = papers.slice(0, RERANK_DEPTH);
  const scored: { id: string; s: number }[] = [];
  for (const p of head) {
    ctx.signal?.throwIfAborted();
    const prompt = render('reranker', { topic, section, title: p.title, abstract: p.abstract.slice(0, 1200) });
    const [yes, no] = [await ctx.engine!.score(prompt, ' yes'), await ctx.engine!.score(prompt, ' no')];
    scored.push({ id: p.id, s: yes.total - no.total });
  }
  scored.sort((a, b) => b.s - a.s);
  return [...scored.map((x) => x.id), ...papers.slice(RERANK_DEPTH).map((p) => p.id)];
}
