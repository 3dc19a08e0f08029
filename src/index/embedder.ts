// Anything that turns texts into unit-length vectors. The index records which embedder made its
// vectors (name, version, dimension) and refuses queries from another.
export interface EmbedderInfo {
  name: string;
  version: string;
  dimension: number;
}

export interface Embedder {
  readonly info: EmbedderInfo;
  embed(texts: string[]): Promise<Float32Array[]>;
}

export function sameEmbedder(a: EmbedderInfo, b: EmbedderInfo): boolean {
  return a.name === b.name && a.version === b.version && a.dimension === b.dimension;
}

export function describeEmbedder(e: EmbedderInfo): string {
  return `${e.name}@${e.version} (${e.dimension}-d)`;
}

/** Scales a vector to unit length in place (zero vectors stay zero). */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}
