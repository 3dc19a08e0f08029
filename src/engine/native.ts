// Loads the native engine addon (native/build/Release/litsurvey_engine.node) on first use,
// so importing this module never fails: only touching `native` does, with a message that
// says how to build it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { SamplingBindings } from './sampling.js';
import type { VectorBindings } from '../index/resident-vectors.js';
import type { FtsBindings } from '../index/resident-text.js';
import type { NativeTokenizerConstructor } from './tokenizer.js';

/** A metadata array longer than the inline limit: its element type, length and first elements. */
export interface GgufArraySummary {
  type: string;
  length: number;
  head: GgufScalar[];
}
/** Integers beyond 2^53 arrive as decimal strings. */
export type GgufScalar = number | string | boolean;
export type GgufMetadataValue = GgufScalar | GgufScalar[] | GgufArraySummary;

export interface GgufTensorInfo {
  name: string;
  /** ggml type name, e.g. 'Q8_0'. */
  type: string;
  /** ne[0] first (the contiguous row dimension). */
  dims: number[];
  elements: number;
  /** From the start of the data section. */
  offset: number;
  bytes: number;
}

export interface GgufInspection {
  version: number;
  alignment: number;
  /** May exceed fileSize in a file without tensors (no padding needed after the metadata). */
  dataOffset: number;
  fileSize: number;
  metadata: Record<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
}

export interface GgmlTypeTraits {
  id: number;
  name: string;
  blockElements: number;
  blockBytes: number;
  /** One of the types the engine can run. */
  computable: boolean;
}

/** The addon's exports. Each binding file's exports are declared here. */
/** Sampling and JSON-constrained masking (sampler_napi.cpp) are typed in sampling.ts. */
/** Exact vector search (vector_napi.cpp) is typed in index/resident-vectors.ts, full-text search (fts_napi.cpp) in index/resident-text.ts. */
export interface NativeEngine extends SamplingBindings, VectorBindings, FtsBindings {
  /** Parses a GGUF file's header, metadata and tensor table; throws an Error naming the problem. */
  ggufInspect(path: string): GgufInspection;
  typeTraits(): GgmlTypeTraits[];
  /** A GGUF file's tokenizer (native/src/napi/tokenizer_napi.cpp; typed in tokenizer.ts). */
  Tokenizer: NativeTokenizerConstructor;
}

/** Where the built addon lives: native/build/Release beside dist/ (this file is dist/engine/native.js). */
export const addonPath = fileURLToPath(new URL('../../native/build/Release/litsurvey_engine.node', import.meta.url));

let loaded: NativeEngine | undefined;

export function loadNative(): NativeEngine {
  if (loaded) return loaded;
  if (!existsSync(addonPath)) {
    throw new Error(`the native engine is not built (${addonPath} is missing): run npm run build:native`);
  }
  const require = createRequire(import.meta.url);
  loaded = require(addonPath) as NativeEngine;
  return loaded;
}

/** The addon, loaded on first property access. */
export const native: NativeEngine = new Proxy({} as NativeEngine, {
  get: (_target, property) => Reflect.get(loadNative(), property),
  has: (_target, property) => Reflect.has(loadNative(), property),
});
