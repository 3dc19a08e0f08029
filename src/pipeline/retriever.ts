// Retrieve: every section's queries run hybrid search; each section's rankings are fused by
// reciprocal rank; a paper goes to the section where it ranks best; the best papers over all
// sections (plus the topic's own search) form the survey's library, with a share kept for the
// topic's earlier work and one for the foundations the candidates name (foundations.ts).
import { fetchPapers, RRF_K, search, type SearchHit } from '../index/search.js';
import { findFoundations } from './foundations.js';
import { render } from '../templates.js';
import type { LibraryPaper, PlanOutput, StageContext, SurveyRequest } from './types.js';

/** Hits taken from each section query. */
const PER_QUERY = 60;
/** Papers per section the engine reranker scores. */
const RERANK_DEPTH = 20;
/** Most of the library the foundations may take. */
const FOUNDATION_SHARE = 0.1;
/** Topic search depth added to the candidates whose mentions find the foundations. */
const FOUNDATION_POOL = 2000;
/** Most of the library the earlier work may take. */
const EARLIER_SHARE = 0.1;

export interface Retrieved {
  papers: LibraryPaper[];
  sectionPapers: string[][];
  reranked: boolean;
}

/** The year before the candidates' median year: the end of the topic's earlier half. */
export function earlierCutoff(years: readonly number[]): number | null {
  if (years.length === 0) return null;
  const sorted = [...years].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]! - 1;
}

/** Papers by summed score, best first (ties by id, so the order is reproducible). */
const byScore = (scores: Map<string, number>) => [...scores.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);

export async function retrieve(ctx: StageContext, req: SurveyRequest, planned: PlanOutput): Promise<Retrieved> {
  const sections = planned.outline.sections;
  const rows = new Map<string, SearchHit>();
  const sectionQueries = sections.reduce((n, s) => n + s.queries.length, 0);
  let totalQueries = sectionQueries * 2;
  let done = 0;
  // Per section: paper → fused score over the section's queries, searched with `filters`.
  const searchSections = async (filters: SurveyRequest['filters']): Promise<Map<string, number>[]> => {
    const out: Map<string, number>[] = [];
    for (const section of sections) {
      const scores = new Map<string, number>();
      for (const query of section.queries) {
        ctx.signal?.throwIfAborted();
        const hits = await search(ctx.index, ctx.embedder, query, { k: PER_QUERY, candidates: 100, filters });
        hits.forEach((h, rank) => {
          rows.set(h.id, h);
          scores.set(h.id, (scores.get(h.id) ?? 0) + 1 / (RRF_K + rank + 1));
        });
        ctx.onProgress?.(++done, totalQueries, 'queries');
      }
      out.push(scores);
    }
    return out;
  };
  const sectionScores = await searchSections(req.filters);
  // Earlier work: the same queries over the papers before the candidates' median year. Each year
  // has more papers than the last, so the newest fill any ranking, while a survey also covers the
  // work its field built on.
  const cutoff = earlierCutoff([...rows.values()].flatMap((h) => (h.year === null ? [] : [h.year])));
  const earlierUntil = cutoff === null ? null : Math.min(cutoff, req.filters.until ?? cutoff);
  let earlierScores: Map<string, number>[] = [];
  if (earlierUntil === null || earlierUntil < (req.filters.since ?? -Infinity)) totalQueries = sectionQueries;
  else earlierScores = await searchSections({ ...req.filters, until: earlierUntil });
  const sectionRank = sectionScores.map((scores) => new Map([...scores.entries()].sort((a, b) => b[1] - a[1]).map(([id], i) => [id, i])));

  // Global order: the sum of the section scores plus the topic search's own ranking.
  const global = new Map<string, number>();
  for (const scores of sectionScores) for (const [id, s] of scores) global.set(id, (global.get(id) ?? 0) + s);
  planned.seedIds.forEach((id, rank) => {
    if (global.has(id)) global.set(id, global.get(id)! + 1 / (RRF_K + rank + 1));
  });
  const ranked = byScore(global);
  // Papers a section's queries did not find (earlier work, foundations) come after the ones they did.
  const rankIn = (s: number, id: string) => sectionRank[s]!.get(id) ?? Number.MAX_SAFE_INTEGER;
  const bestSection = (id: string) => {
    let best = 0;
    for (let s = 1; s < sections.length; s++) {
      const r = rankIn(s, id);
      const b = rankIn(best, id);
      if (r < b || (r === b && (sectionScores[s]!.get(id) ?? 0) > (sectionScores[best]!.get(id) ?? 0))) best = s;
    }
    return best;
  };

  // Foundations outside the ranking's top take the library's last places; each goes to the section
  // where most of the papers that name it are.
  const pool = new Map(rows);
  for (const h of await search(ctx.index, ctx.embedder, req.topic, { k: FOUNDATION_POOL, candidates: FOUNDATION_POOL, filters: req.filters })) pool.set(h.id, h);
  const candidates = [...pool.values()];
  const foundations = await findFoundations(ctx.index, ctx.embedder, candidates, Math.floor(req.maxPapers * FOUNDATION_SHARE), (ids) => fetchPapers(ctx.index, ids));
  const top = new Set(ranked.slice(0, req.maxPapers));
  const extra = foundations.filter((f) => !top.has(f.id));
  const extraRows = new Map((await fetchPapers(ctx.index, extra.map((f) => f.id), req.filters)).map((r) => [r.id, r]));
  const added = extra.filter((f) => extraRows.has(f.id));
  const addedIds = new Set(added.map((f) => f.id));
  const main = ranked.filter((id) => !addedIds.has(id));
  const room = req.maxPapers - added.length;
  // The earlier work's best papers outside the main ranking's top take the places before the
  // foundations; each goes to the section whose earlier-work queries ranked it best.
  const earlierTotal = new Map<string, number>();
  for (const scores of earlierScores) for (const [id, s] of scores) earlierTotal.set(id, (earlierTotal.get(id) ?? 0) + s);
  const earlierPlaces = Math.floor(req.maxPapers * EARLIER_SHARE);
  const mainTop = new Set(main.slice(0, room - earlierPlaces));
  const earlier = byScore(earlierTotal)
    .filter((id) => !mainTop.has(id) && !addedIds.has(id))
    .slice(0, earlierPlaces);
  const earlierIds = new Set(earlier);
  const chosen = [...main.filter((id) => !earlierIds.has(id)).slice(0, room - earlier.length), ...earlier, ...added.map((f) => f.id)];
  const earlierSection = new Map(
    earlier.map((id) => {
      const scores = earlierScores.map((s) => s.get(id) ?? 0);
      return [id, scores.indexOf(Math.max(...scores))];
    }),
  );
  const foundationSection = new Map(
    added.map((f) => {
      const votes = new Array<number>(sections.length).fill(0);
      for (const m of f.mentionedBy) if (global.has(m)) votes[bestSection(m)]!++;
      return [f.id, votes.indexOf(Math.max(...votes))];
    }),
  );

  const papers: LibraryPaper[] = chosen.map((id) => {
    const h = rows.get(id) ?? extraRows.get(id)!;
    const section = foundationSection.get(id) ?? earlierSection.get(id) ?? bestSection(id);
    return { id, title: h.title, abstract: h.abstract, authors: h.authors, year: h.year, venue: h.venue, url: h.url, section };
  });
  const sectionPapers = sections.map((_, s) =>
    papers.filter((p) => p.section === s).sort((a, b) => rankIn(s, a.id) - rankIn(s, b.id)).map((p) => p.id),
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
