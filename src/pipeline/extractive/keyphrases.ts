// Key phrases of a cluster: unigrams and bigrams (without stopwords) ranked by how many of its
// papers mention them times their rarity over all the clusters' papers, so a section is named by
// what sets it apart.
import { isStopword, tokenizeWords } from './text.js';

export interface Titled {
  title: string;
  abstract: string;
}

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

/** Bigrams name a theme better than single words ("draft tokens" over "draft"). */
const BIGRAM_WEIGHT = 2.5;
/** Titles name topics; abstracts also say "ensure", "alongside" or "publicly available". */
const TITLE_WEIGHT = 2;

/**
 * For each cluster (a list of papers), its top phrases: the share of the cluster's papers whose
 * title or abstract contains the phrase times its inverse document frequency over all the
 * clusters' papers (log(N / df)), weighted up for bigrams and for phrases a title of the cluster
 * uses. A phrase counts once per paper, so one long abstract cannot dominate, and must recur (two
 * papers and a sixth of the cluster). Paper-level IDF demotes what the whole topic says
 * ("language", "inference"); an IDF over the clusters (only 6 of them) let generic words that
 * happened to miss one cluster name sections. Phrases contained in a better phrase are skipped.
 */
export function clusterKeyphrases(clusters: readonly Titled[][], top: number, isExcluded: (word: string) => boolean = () => false): string[][] {
  const counts = clusters.map((docs) => {
    const m = new Map<string, number>();
    for (const d of docs) for (const p of new Set(phrases(`${d.title}. ${d.abstract}`))) m.set(p, (m.get(p) ?? 0) + 1);
    return m;
  });
  const inTitles = clusters.map((docs) => new Set(docs.flatMap((d) => phrases(d.title))));
  const docFreq = new Map<string, number>();
  for (const m of counts) for (const [p, n] of m) docFreq.set(p, (docFreq.get(p) ?? 0) + n);
  const total = clusters.reduce((n, docs) => n + docs.length, 0);
  return counts.map((m, c) => {
    const docs = Math.max(1, clusters[c]!.length);
    const scored = [...m.entries()]
      // A theme recurs: in at least two documents and a sixth of the cluster.
      .filter(([p, n]) => n >= Math.min(docs, Math.max(2, Math.ceil(docs / 6))) && !p.split(' ').some(isExcluded))
      .map(([p, n]) => ({ p, s: (n / docs) * Math.log(total / docFreq.get(p)!) * (p.includes(' ') ? BIGRAM_WEIGHT : 1) * (inTitles[c]!.has(p) ? TITLE_WEIGHT : 1) }))
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
