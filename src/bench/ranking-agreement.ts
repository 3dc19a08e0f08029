// Compares two rankings of the same query, each a list of (row id, score) best first, allowing what
// BM25 leaves open: the order among equal scores and which of them make the cut at n, and f32 sums
// taken in another order (scores within 1e-6 relative). Used by npm run bench:fts-agreement and
// test/index/resident-text.test.js to hold the resident BM25 index to LanceDB's ranking.

export type Agreement = 'identical' | 'ties only' | 'near ties' | 'disagree';

export const NEAR_TIE = 1e-6;

export interface Ranking {
  ids: readonly bigint[];
  scores: ArrayLike<number>;
}

/**
 * 'identical': the same ids in the same order; 'ties only': where the ids differ, both scores at
 * that rank are equal; 'near ties': ... within NEAR_TIE relative; otherwise 'disagree'. `rank` is
 * the first rank (from 1) whose ids differ, 0 when none; `maxRelative` the largest relative score
 * difference of a row both rankings hold.
 */
export function compareRankings(want: Ranking, got: Ranking): { agreement: Agreement; rank: number; maxRelative: number } {
  const gotScore = new Map(got.ids.map((id, i) => [id, got.scores[i]!]));
  let maxRelative = 0;
  want.ids.forEach((id, i) => {
    const s = gotScore.get(id);
    const w = want.scores[i]!;
    if (s !== undefined) maxRelative = Math.max(maxRelative, Math.abs(s - w) / Math.max(Math.abs(w), Number.MIN_VALUE));
  });
  let agreement: Agreement = 'identical';
  let rank = 0;
  for (let i = 0; i < Math.max(want.ids.length, got.ids.length); i++) {
    if (want.ids[i] === got.ids[i]) continue;
    rank ||= i + 1;
    if (i >= want.ids.length || i >= got.ids.length) return { agreement: 'disagree', rank, maxRelative };
    const a = want.scores[i]!;
    const b = got.scores[i]!;
    if (a === b) {
      if (agreement === 'identical') agreement = 'ties only';
    } else if (Math.abs(a - b) <= NEAR_TIE * Math.abs(a)) agreement = 'near ties';
    else return { agreement: 'disagree', rank, maxRelative };
  }
  return { agreement, rank, maxRelative };
}
