// Picks the generation backend from options: the native engine (a GGUF file), an OpenAI-compatible
// HTTP server, or none (extractive mode). Also describes the model for a survey's front matter.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { OpenAiEngine } from './openai-backend.js';
import type { Engine } from './types.js';

export type EngineSpec =
  | { backend: 'native'; model: string; contextSize?: number; threads?: number; sparse?: boolean }
  | { backend: 'openai'; baseUrl: string; apiModel: string; contextSize?: number };

export interface SelectOptions {
  backend?: string;
  model?: string;
  baseUrl?: string;
  apiModel?: string;
  contextSize?: number;
  /** Native only: force block-sparse attention on (undefined: as the model file declares). */
  sparse?: boolean;
}

/** The backend the options ask for; null means extractive mode (no model). */
export function engineSpec(opts: SelectOptions): EngineSpec | null {
  const backend = opts.backend ?? (opts.model ? 'native' : opts.baseUrl ? 'openai' : 'none');
  if (backend === 'none') {
    if (opts.model || opts.baseUrl || opts.sparse) throw new Error('--backend none takes no --model, --base-url or --sparse');
    return null;
  }
  if (backend === 'native') {
    if (!opts.model) throw new Error('the native backend needs a model file: --model FILE.gguf (or LITSURVEY_MODEL)');
    return { backend, model: opts.model, contextSize: opts.contextSize, ...(opts.sparse ? { sparse: true } : {}) };
  }
  if (backend === 'openai') {
    if (opts.sparse) throw new Error('--sparse applies to the native backend only');
    if (!opts.baseUrl) throw new Error('--backend openai needs --base-url URL (e.g. http://127.0.0.1:8000)');
    if (!opts.apiModel) throw new Error('--backend openai needs --api-model NAME (the model name the server expects)');
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new Error(`--base-url: not a URL: "${opts.baseUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--base-url: expected http:// or https://, got "${opts.baseUrl}"`);
    return { backend, baseUrl: opts.baseUrl, apiModel: opts.apiModel, contextSize: opts.contextSize };
  }
  throw new Error(`--backend: expected native, openai or none, got "${backend}"`);
}

export async function openEngine(spec: EngineSpec): Promise<Engine> {
  if (spec.backend === 'openai') return new OpenAiEngine({ baseUrl: spec.baseUrl, model: spec.apiModel, contextSize: spec.contextSize, apiKey: process.env.LITSURVEY_API_KEY });
  // The native addon loads only when a model is used, so extractive mode works without it.
  const { NativeEngine } = await import('./engine.js');
  return NativeEngine.load(spec.model, { contextSize: spec.contextSize, threads: spec.threads, sparse: spec.sparse });
}

const MIB = 1 << 20;

/** File name, size and a SHA-256 of the whole file (≤ 2 MiB) or of its first and last MiB. */
export function describeModelFile(path: string): { file: string; bytes: number; sha256: string; sha256_of: string } {
  const bytes = statSync(path).size;
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number) => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      hash.update(buf.subarray(0, got));
    };
    if (bytes <= 2 * MIB) read(0, bytes);
    else {
      read(0, MIB);
      read(bytes - MIB, MIB);
    }
  } finally {
    closeSync(fd);
  }
  return { file: basename(path), bytes, sha256: hash.digest('hex'), sha256_of: bytes <= 2 * MIB ? 'whole file' : 'first and last MiB' };
}

/** The model record of a survey's front matter. */
export function modelRecord(spec: EngineSpec | null): Record<string, unknown> | null {
  if (!spec) return null;
  if (spec.backend === 'openai') return { backend: 'openai', base_url: spec.baseUrl, api_model: spec.apiModel };
  return { backend: 'native', ...describeModelFile(spec.model) };
}
