// Picks the embedder by name. The native engine's embedder joins this list when a model is loaded.
import type { Embedder } from './embedder.js';
import { SifEmbedder } from './sif-embedder.js';

export const DEFAULT_EMBEDDER = 'sif';

export function createEmbedder(name: string, cacheDir: string): Embedder {
  if (name === 'sif') return new SifEmbedder(cacheDir);
  throw new Error(`unknown embedder "${name}" (available: sif)`);
}
