// Key phrases of a cluster: unigrams and bigrams (without stopwords) ranked by TF-IDF of the
// cluster's text against the other clusters, so a section is named by what sets it apart.
import { isStopword, tokenizeWords } from './text.js';

/** Candidate phrases of one document: content unigrams and adjacent content bigrams. */
function phrases(text: string): string[] {
  const words = tokenizeWords(text);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (isStopword(w)) continue;
    out.push(w);
    const next = words[i + 1];
    if (next && !isStopword(next)) out.push(`${w} ${next}`);
  }
  return out;
}

/**
 * For each cluster (a list of documents), its top phrases: document frequency in the cluster times
 * log(1 + clusters / clusters containing the phrase), bigrams ×1.5. A phrase counts once per
 * document, so one long abstract cannot dominate, and must recur (two documents and a sixth of the
 * cluster). Phrases contained in a better phrase are skipped. (A lift-over-the-rest score named
 * clusters more distinctively but made worse search queries: bench:pipeline library recall 10 vs 13.)
 */
export function clusterKeyphrases(clusters: readonly string[][], top: number, exclude: ReadonlySet<string> = new Set()): string[][] {
  const counts = clusters.map((docs) => {
    const m = new Map<string, number>();
    for (const d of docs) for (const p of new Set(phrases(d))) m.set(p, (m.get(p) ?? 0) + 1);
    return m;
  });
  const clusterFreq = new Map<string, number>();
  for (const m of counts) for (const p of m.keys()) clusterFreq.set(p, (clusterFreq.get(p) ?? 0) + 1);
  return counts.map((m, c) => {
    const docs = Math.max(1, clusters[c]!.length);
    const scored = [...m.entries()]
      // A theme recurs: in at least two documents and a sixth of the cluster.
      .filter(([p, n]) => n >= Math.min(docs, Math.max(2, Math.ceil(docs / 6))) && !p.split(' ').some((w) => exclude.has(w)))
      .map(([p, n]) => ({ p, s: (n / docs) * Math.log(1 + clusters.length / clusterFreq.get(p)!) * (p.includes(' ') ? 1.5 : 1) }))
      .filter((x) => x.s > 0)
      .sort((a, b) => b.s - a.s || (a.p < b.p ? -1 : 1));
    const chosen: string[] = [];
    for (const { p } of scored) {
      if (chosen.length >= top) break;
      if (chosen.some((q) => q.includes(p) || p.includes(q))) continue;
      chosen.push(p);
    }
    return chosen;
  });
}
