// Maximal marginal relevance (Carbonell & Goldstein 1998): pick items relevant to a query vector
// and unlike the items already picked.
import { dot } from './text.js';

export interface MmrItem {
  vector: Float32Array;
}

/** Indices of up to `count` items, in pick order. `accept` can veto an item given the picks so far. */
export function mmr<T extends MmrItem>(items: readonly T[], query: Float32Array, count: number, lambda = 0.7, accept: (item: T, picked: T[]) => boolean = () => true): number[] {
  const picked: number[] = [];
  const relevance = items.map((it) => dot(it.vector, query));
  const maxSim = new Float64Array(items.length).fill(-Infinity);
  const used = new Uint8Array(items.length);
  while (picked.length < count) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < items.length; i++) {
      if (used[i] || !accept(items[i]!, picked.map((p) => items[p]!))) continue;
      const redundancy = picked.length ? maxSim[i]! : 0;
      const score = lambda * relevance[i]! - (1 - lambda) * redundancy;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) break;
    used[best] = 1;
    picked.push(best);
    for (let i = 0; i < items.length; i++) if (!used[i]) maxSim[i] = Math.max(maxSim[i]!, dot(items[i]!.vector, items[best]!.vector));
  }
  return picked;
}
