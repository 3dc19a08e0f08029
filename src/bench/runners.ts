// The engines the speed benchmarks compare (bench:engine, bench:longctx): the MiniCPM4-0.5B shape
// with random weights synthesised once per type into os.tmpdir()/litsurvey-bench, and a common
// prefill/decode interface over the native engine and llama.cpp (node-llama-cpp, flash attention
// on, F16 KV, the same thread count).
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { NativeEngine, type EngineLoadOptions, type PhaseMs, type Session } from '../engine/engine.js';
import type { GgufInspection } from '../engine/native.js';
import { synthModel } from '../engine/modelfile/synth.js';

export const BENCH_TYPES = ['q8_0', 'q4_0'] as const;
export type BenchType = (typeof BENCH_TYPES)[number];

export function benchModelFile(type: BenchType): string {
  const dir = join(tmpdir(), 'litsurvey-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `minicpm4-0.5b-${type}.gguf`);
  if (!existsSync(path)) {
    console.error(`synthesising the MiniCPM4-0.5B shape in ${type} (random weights) into ${path}…`);
    const partial = `${path}.partial`;
    synthModel({ out: partial, arch: 'minicpm', shape: 'minicpm4-0.5b', type, seed: 1 });
    renameSync(partial, path);
  }
  return path;
}

function metaNumber(info: GgufInspection, key: string): number {
  const v = info.metadata[key];
  if (typeof v !== 'number') throw new Error(`${key} is missing from the model file`);
  return v;
}

/** The attention shape of a model file. */
export function attentionShape(info: GgufInspection): { layers: number; heads: number; kvHeads: number; headDim: number } {
  const arch = String(info.metadata['general.architecture']);
  const heads = metaNumber(info, `${arch}.attention.head_count`);
  return {
    layers: metaNumber(info, `${arch}.block_count`),
    heads,
    kvHeads: metaNumber(info, `${arch}.attention.head_count_kv`),
    headDim: metaNumber(info, `${arch}.embedding_length`) / heads,
  };
}

/** Weight bytes one decode step reads: every weight matrix once (token_embd only when it doubles
 * as the output projection; otherwise only one row of it is gathered). */
export function weightBytesPerToken(info: GgufInspection): number {
  const tied = !info.tensors.some((t) => t.name === 'output.weight');
  return info.tensors.filter((t) => tied || t.name !== 'token_embd.weight').reduce((s, t) => s + t.bytes, 0);
}

/** F16 key and value bytes of `positions` positions in every layer and KV head. */
export function kvBytes(info: GgufInspection, positions: number): number {
  const s = attentionShape(info);
  return 2 * s.layers * s.kvHeads * s.headDim * 2 * positions;
}

const PHASES = ['matmul', 'selection', 'attention', 'other'] as const;
/** A PhaseMs with each phase's value from `value`. */
export const phasesFrom = (value: (phase: keyof PhaseMs) => number): PhaseMs =>
  Object.fromEntries(PHASES.map((k) => [k, value(k)])) as unknown as PhaseMs;

/** Table columns for where a litsurvey decode token's time goes (ms): the engine's forward-pass
 * phases, their sum, and the wall time per token measured outside (threads waking, sampling and
 * the JS side make up the difference). */
export const PHASE_COLUMNS = ['matmuls ms', 'selection ms', 'attention ms', 'other ms', 'phases ms', 'wall ms'];
export function phaseCells(p: PhaseMs, tokS: number): string[] {
  const ms = (v: number) => v.toFixed(2);
  return [...PHASES.map((k) => ms(p[k])), ms(PHASES.reduce((t, k) => t + p[k], 0)), ms(1000 / tokS)];
}

/** One engine under test: a prefill of fresh tokens, and single-token decode steps. */
export interface Runner {
  name: string;
  /** Evaluates `tokens` from position 0 of a fresh sequence; returns seconds. */
  prefill(tokens: number[]): Promise<number>;
  /** Continues the current sequence by tokens.length single-token steps (llama.cpp generates
   * greedily from tokens[0] instead); returns seconds per token. */
  decode(tokens: number[]): Promise<number>;
  close(): Promise<void>;
}

/** The native engine; `session` is the sequence prefill last started (for callers that fill it otherwise). */
export async function litsurveyRunner(
  path: string,
  opts: EngineLoadOptions & { name?: string },
): Promise<Runner & { engine: NativeEngine; freshSession(): Promise<Session>; lastDecodePhases(): PhaseMs }> {
  const { name = 'litsurvey', ...load } = opts;
  const engine = await NativeEngine.load(path, { batchSize: 512, maxSequences: 1, kvCacheType: 'f16', ...load });
  let session: Session | null = null;
  let decodePhases = phasesFrom(() => 0);
  const freshSession = async () => {
    await session?.close();
    await engine.clearPrefixCache();
    session = engine.session();
    return session;
  };
  return {
    name,
    engine,
    freshSession,
    async prefill(tokens) {
      const s = await freshSession();
      const start = performance.now();
      await s.eval(tokens, 'last');
      return (performance.now() - start) / 1000;
    },
    async decode(tokens) {
      if (!session) throw new Error('decode before prefill');
      // Greedy generation in the session, natively token after token (as llama.cpp's runner):
      // tokens.length forward passes, the first on tokens[0].
      const before = engine.stats().phaseMs;
      const start = performance.now();
      const stream = session.generate([tokens[0]!], { maxTokens: tokens.length, temperature: 0, ignoreEos: true });
      for await (const _piece of stream);
      const { generatedTokens } = await stream.stats;
      if (generatedTokens !== tokens.length) throw new Error(`decode: generated ${generatedTokens} of ${tokens.length} tokens`);
      const secs = (performance.now() - start) / 1000 / tokens.length;
      const after = engine.stats().phaseMs;
      decodePhases = phasesFrom((k) => (after[k] - before[k]) / tokens.length);
      return secs;
    },
    /** Per token of the latest decode call: the engine's forward-pass time by phase, in ms. */
    lastDecodePhases: () => decodePhases,
    async close() {
      await session?.close();
      await engine.close();
    },
  };
}

export async function llamaRunner(path: string, threads: number, contextSize: number, batchSize = 512): Promise<Runner> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({
    contextSize,
    batchSize,
    flashAttention: true,
    threads: { ideal: threads, min: threads },
  });
  let sequence: LlamaContextSequence | null = null;
  const step = (t: number): ControlledEvaluateInputItem => [t as Token, { generateNext: { logits: true } }];
  return {
    name: 'llama.cpp',
    async prefill(tokens) {
      sequence?.dispose();
      sequence = context.getSequence();
      const start = performance.now();
      await sequence.controlledEvaluate([...tokens.slice(0, -1).map((t) => t as Token), step(tokens[tokens.length - 1]!)]);
      return (performance.now() - start) / 1000;
    },
    async decode(tokens) {
      if (!sequence) throw new Error('decode before prefill');
      // Greedy generation with llama.cpp's own sampler (logits stay native): one forward per token.
      const start = performance.now();
      let n = 0;
      for await (const _token of sequence.evaluate([tokens[0]! as Token], { temperature: 0 })) {
        if (++n >= tokens.length) break;
      }
      return (performance.now() - start) / 1000 / n;
    },
    async close() {
      sequence?.dispose();
      await context.dispose();
      await model.dispose();
    },
  };
}
