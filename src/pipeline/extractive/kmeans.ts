// Spherical k-means over unit vectors (cosine similarity) with a seeded k-means++ initialisation.
import { centroid, dot, seededRandom } from './text.js';

export interface Clustering {
  /** Cluster index of each vector. */
  assignment: number[];
  centroids: Float32Array[];
}

export function kmeans(vectors: readonly Float32Array[], k: number, seed: number, maxIterations = 50): Clustering {
  if (vectors.length === 0) throw new Error('kmeans: no vectors');
  if (!Number.isInteger(k) || k < 1) throw new Error(`kmeans: k must be a positive integer, got ${k}`);
  const n = vectors.length;
  const dim = vectors[0]!.length;
  k = Math.min(k, n);
  const random = seededRandom(seed);
  // k-means++: each next centre is drawn with probability ∝ squared distance to the nearest centre.
  const centroids: Float32Array[] = [vectors[Math.floor(random() * n)]!];
  const nearest = new Float64Array(n).fill(Infinity);
  while (centroids.length < k) {
    const last = centroids[centroids.length - 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.max(0, 1 - dot(vectors[i]!, last));
      nearest[i] = Math.min(nearest[i]!, d * d);
      total += nearest[i]!;
    }
    let pick = 0;
    if (total > 0) {
      let r = random() * total;
      for (pick = 0; pick < n - 1; pick++) {
        r -= nearest[pick]!;
        if (r <= 0) break;
      }
    } else pick = centroids.length; // all points coincide with centres: take any other
    centroids.push(vectors[pick]!);
  }
  const assignment = new Array<number>(n).fill(-1);
  for (let it = 0; it < maxIterations; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestSim = -Infinity;
      for (let c = 0; c < k; c++) {
        const s = dot(vectors[i]!, centroids[c]!);
        if (s > bestSim) {
          bestSim = s;
          best = c;
        }
      }
      if (assignment[i] !== best) {
        assignment[i] = best;
        changed = true;
      }
    }
    for (let c = 0; c < k; c++) {
      const members = vectors.filter((_, i) => assignment[i] === c);
      // An emptied cluster takes the point farthest from its own centre.
      if (members.length === 0) {
        let far = 0;
        let farSim = Infinity;
        for (let i = 0; i < n; i++) {
          const s = dot(vectors[i]!, centroids[assignment[i]!]!);
          if (s < farSim) {
            farSim = s;
            far = i;
          }
        }
        assignment[far] = c;
        centroids[c] = vectors[far]!;
        changed = true;
      } else centroids[c] = centroid(members, dim);
    }
    if (!changed) break;
  }
  return { assignment, centroids };
}
