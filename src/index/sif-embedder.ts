// Smooth inverse frequency (SIF) sentence embeddings (Arora, Liang & Ma, ICLR 2017) over
// GloVe-derived word vectors: a weighted mean with weight a/(a + p(w)), then the common
// component removed. Offline from a fresh install: the vectors ship in an npm package.
// p(w) comes from the package's frequency-ordered vocabulary via Zipf's law (p ∝ 1/rank), and the
// common component is the top principal direction of the vocabulary weighted by p(w)·weight(w) —
// both depend only on the word vectors, so the embedder is the same for every corpus and query.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalize, type Embedder, type EmbedderInfo } from './embedder.js';
import { loadWordVectors, wordVectorsPackage, type WordVectors } from './word-vectors.js';

const SIF_A = 1e-3;
const COMPONENT_WORDS = 50_000;
const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

export function tokenizeWords(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TOKEN) ?? [];
}

export class SifEmbedder implements Embedder {
  readonly info: EmbedderInfo;
  private readonly wv: WordVectors;
  private readonly weight: Float32Array;
  private readonly common: Float32Array;

  constructor(cacheDir: string) {
    this.wv = loadWordVectors(cacheDir);
    this.info = { name: 'sif-glove-wink-100d', version: `1+wink-${wordVectorsPackage().version}`, dimension: this.wv.dimension };
    const harmonic = Math.log(this.wv.size) + 0.5772;
    const prob = (r: number) => 1 / ((r + 1) * harmonic);
    this.weight = new Float32Array(this.wv.size);
    for (let r = 0; r < this.wv.size; r++) this.weight[r] = SIF_A / (SIF_A + prob(r));
    this.common = this.cachedCommonComponent(cacheDir, prob);
  }

  /** The component depends only on the word vectors, so it is computed once and kept beside them. */
  private cachedCommonComponent(cacheDir: string, prob: (r: number) => number): Float32Array {
    const path = join(cacheDir, `sif-common-component-${this.info.version}-${COMPONENT_WORDS}.json`);
    if (existsSync(path)) {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as number[];
      if (Array.isArray(saved) && saved.length === this.wv.dimension) return Float32Array.from(saved);
    }
    const u = this.commonComponent(prob);
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Array.from(u)));
    renameSync(tmp, path);
    return u;
  }

  /** Power iteration on Σ p(w)·weight(w)·v vᵀ over the most frequent words. */
  private commonComponent(prob: (r: number) => number): Float32Array {
    const d = this.wv.dimension;
    const n = Math.min(COMPONENT_WORDS, this.wv.size);
    const cov = new Float64Array(d * d);
    for (let r = 0; r < n; r++) {
      const w = prob(r) * this.weight[r]!;
      const off = r * d;
      for (let i = 0; i < d; i++) {
        const vi = w * this.wv.vectors[off + i]!;
        for (let j = 0; j < d; j++) cov[i * d + j]! += vi * this.wv.vectors[off + j]!;
      }
    }
    let u = new Float64Array(d).fill(1 / Math.sqrt(d));
    for (let it = 0; it < 100; it++) {
      const next = new Float64Array(d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) next[i]! += cov[i * d + j]! * u[j]!;
      const norm = Math.hypot(...next);
      for (let i = 0; i < d; i++) next[i]! /= norm;
      u = next;
    }
    return Float32Array.from(u);
  }

  private lookup(word: string, out: number[]): void {
    const r = this.wv.index.get(word);
    if (r !== undefined) out.push(r);
    else if (word.length > 2) for (const part of word.split(/['’-]/)) if (part !== word) this.lookup(part, out);
  }

  embedOne(text: string): Float32Array {
    const d = this.wv.dimension;
    const rows: number[] = [];
    for (const w of tokenizeWords(text)) this.lookup(w, rows);
    const v = new Float32Array(d);
    if (rows.length === 0) return v;
    // Float64 accumulation: faster in V8 than Float32Array read-modify-write, and exact enough.
    const acc = new Float64Array(d);
    const vecs = this.wv.vectors;
    for (const r of rows) {
      const w = this.weight[r]!;
      const off = r * d;
      for (let i = 0; i < d; i++) acc[i] += w * vecs[off + i]!;
    }
    let dot = 0;
    for (let i = 0; i < d; i++) dot += acc[i]! * this.common[i]!;
    for (let i = 0; i < d; i++) v[i] = acc[i]! - dot * this.common[i]!;
    return normalize(v);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }
}
