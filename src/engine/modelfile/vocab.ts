// A model's vocabulary as GGUF `tokenizer.*` metadata, taken from an existing GGUF file.
import { readGguf } from './gguf-reader.js';
import type { GgufValue } from './gguf-value.js';

export interface Vocab {
  /** `tokenizer.*` keys, in the order they are written. */
  metadata: Map<string, GgufValue>;
  /** Number of tokens (length of tokenizer.ggml.tokens). */
  size: number;
}

export function vocabSize(metadata: Map<string, GgufValue>, source: string): number {
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if (!tokens || tokens.type !== 'array' || tokens.itemType !== 'string' || tokens.values.length === 0) {
    throw new Error(`${source}: no tokenizer.ggml.tokens string array`);
  }
  return tokens.values.length;
}

/** Copies every `tokenizer.*` key of a GGUF file (e.g. one of the vocab-only test files). */
export function vocabFromGguf(path: string): Vocab {
  const file = readGguf(path);
  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of file.metadata) if (key.startsWith('tokenizer.')) metadata.set(key, value);
  return { metadata, size: vocabSize(metadata, path) };
}
