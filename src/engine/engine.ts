// The native inference engine behind the `Engine` interface: model loading, tokenization,
// streamed generation (UTF-8 safe, stop strings, AbortSignal), scoring and embeddings.
// Heavy work runs on the addon's worker threads; this layer only converts and streams.
import { ChatTemplate, type ChatMessage } from './chat-template.js';
import { loadNative } from './native.js';
import { StopStringMatcher } from './stop-strings.js';
import type { Engine, EngineInfo, GenerateOptions, GenerateStats, GenerateStream, ScoreResult } from './types.js';

export interface EngineLoadOptions {
  /** Compute threads. Default 2. */
  threads?: number;
  /** Positions per sequence. Default: the model's training context, capped at 4096; any value
   * up to 1048576 when given (KV blocks are allocated as sequences grow). */
  contextSize?: number;
  /** Tokens per forward batch during prefill. Default 256. */
  batchSize?: number;
  /** Sequences that can be live at once. Default 4. */
  maxSequences?: number;
  /** Memory budget of the KV block pool (live sequences plus the prefix cache), in MiB.
   * Default: room for contextSize positions of each of maxSequences sequences. */
  kvCacheMb?: number;
  /** KV cache element type. Default 'f16'. */
  kvCacheType?: 'f16' | 'f32';
  /** InfLLM v2 block-sparse attention (docs/engine.md). Default: on when the model file declares
   * it (`<arch>.sparse.*` keys). `true`/`false` force it; an object turns it on with overrides
   * of the model's (or the default) values. */
  sparse?: boolean | SparseAttentionOptions;
}

/** Sparse-attention settings; defaults are MiniCPM4's. */
export interface SparseAttentionOptions {
  /** Blocks of 64 tokens chosen outside the local window, init blocks included. Default 64. */
  topk?: number;
  /** Tokens per fine compressed key (the coarse ones cover 4x). Default 32. */
  kernelSize?: number;
  /** Tokens between fine compressed keys (coarse: 4x). Default 16. */
  kernelStride?: number;
  /** Leading blocks always chosen. Default 1. */
  initBlocks?: number;
  /** Trailing tokens always attended, a multiple of 64. Default 2048. */
  windowSize?: number;
  /** Queries that see fewer keys attend densely. Default 8192. */
  denseLen?: number;
}

/** What the addon's `Engine` object offers (native/src/napi/engine_napi.cpp). */
export interface NativeEngineHandle {
  info(): NativeInfo;
  tokenize(text: string, addSpecial?: boolean, parseSpecial?: boolean): Int32Array;
  detokenize(ids: ArrayLike<number>, removeSpecial?: boolean, unparseSpecial?: boolean): Uint8Array;
  tokenPieces(ids: ArrayLike<number>): Uint8Array;
  isEog(id: number): boolean;
  createSequence(): number;
  freeSequence(id: number): Promise<void>;
  resetSequence(id: number): Promise<void>;
  eval(seq: number, tokens: ArrayLike<number>, logits: 'none' | 'last' | 'all'): Promise<Float32Array | null>;
  generate(
    tokens: ArrayLike<number>,
    options: Record<string, unknown>,
    onToken: (id: number) => boolean | void,
  ): { done: Promise<Omit<GenerateStats, 'stopReason'> & { stopReason: string }>; cancel(): void };
  score(prompt: ArrayLike<number>, continuation: ArrayLike<number>): Promise<Float64Array>;
  embed(tokens: ArrayLike<number>): Promise<Float32Array>;
  stats(): NativeEngineStats;
  /** Benchmarks only: fills an empty sequence with nTokens positions of pseudo-random keys and
   * values (never shared through the prefix cache). */
  fillSynthetic(seq: number, nTokens: number, seed: number): Promise<void>;
  clearPrefixCache(): Promise<void>;
  close(): void;
}

/** Prefix-cache and KV-pool counters of a native engine (since load). */
export interface NativeEngineStats {
  /** Prompt positions attached from cached blocks instead of computed. */
  hitTokens: number;
  /** Positions run through the forward pass (prompts and generated tokens). */
  computedTokens: number;
  /** Cached blocks dropped to make room. */
  evictions: number;
  blocksInUse: number;
  /** blocksCached + blocksEmpty. */
  blocksFree: number;
  /** Free blocks still reusable by a later prompt. */
  blocksCached: number;
  blocksEmpty: number;
  blocksTotal: number;
  blockTokens: number;
  /** The prompt of the latest generate/score/embed call or session eval. */
  lastPrompt: { hitTokens: number; computedTokens: number };
  /** Key positions attention read, per query token, layer and KV head, since load. */
  attendedKeys: number;
  /** What dense causal attention would have read for the same queries. */
  causalKeys: number;
  /** attendedKeys / causalKeys (1 with dense attention). */
  attendedFraction: number;
  /** Wall time of the forward passes by phase since load, in ms: weight matmuls, block selection
   * (sparse attention), attention, and everything else (embeddings, norms, RoPE, KV stores). */
  phaseMs: PhaseMs;
}

export interface PhaseMs {
  matmul: number;
  selection: number;
  attention: number;
  other: number;
}

interface NativeInfo {
  path: string;
  architecture: string;
  vocabSize: number;
  embeddingLength: number;
  contextSize: number;
  chatTemplate: string;
  bos: number;
  eos: number;
  bosText: string | null;
  eosText: string | null;
  [key: string]: unknown;
}

interface EngineAddon {
  loadEngine(path: string, options: EngineLoadOptions): Promise<NativeEngineHandle>;
}

/** A KV-cache sequence for callers that drive evaluation themselves. */
export class Session {
  private closed = false;

  constructor(
    private readonly handle: NativeEngineHandle,
    private readonly id: number,
  ) {}

  /** Appends tokens; returns the logits of the last token ('last'), of every token ('all',
   * concatenated rows of vocabSize) or null ('none'). */
  eval(tokens: ArrayLike<number>, wantLogits: 'none' | 'last' | 'all' = 'last'): Promise<Float32Array | null> {
    this.check();
    return this.handle.eval(this.id, tokens, wantLogits);
  }

  /** Appends `tokens` and generates after them in this session, natively token after token;
   * what is generated stays in the session except the last token (not evaluated: pass it to
   * the next eval or generate to continue). */
  generate(tokens: ArrayLike<number>, opts: GenerateOptions = {}): GenerateStream {
    this.check();
    return generateStream(this.handle, Array.from(tokens), { ...generateOptions(opts), sequence: this.id }, opts);
  }

  /** Benchmarks only: fills this empty session with nTokens positions of pseudo-random keys and
   * values, as if a prompt had been evaluated (decode cost does not depend on the KV values). */
  fillSynthetic(nTokens: number, seed = 1): Promise<void> {
    this.check();
    return this.handle.fillSynthetic(this.id, nTokens, seed);
  }

  /** Forgets the evaluated tokens (the next eval starts at position 0). */
  reset(): Promise<void> {
    this.check();
    return this.handle.resetSequence(this.id);
  }

  /** Returns the sequence's KV blocks to the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.freeSequence(this.id);
  }

  private check(): void {
    if (this.closed) throw new Error('the session is closed');
  }
}

export class NativeEngine implements Engine {
  private handle: NativeEngineHandle | null;
  private readonly nativeInfo: NativeInfo;
  private chatTemplate: ChatTemplate | null | undefined;

  private constructor(handle: NativeEngineHandle) {
    this.handle = handle;
    this.nativeInfo = handle.info();
  }

  static async load(path: string, opts: EngineLoadOptions = {}): Promise<NativeEngine> {
    const addon = loadNative() as unknown as EngineAddon;
    return new NativeEngine(await addon.loadEngine(path, opts));
  }

  info(): EngineInfo {
    const { path, architecture, contextSize, embeddingLength, chatTemplate, ...rest } = this.live().info();
    return { backend: 'native', model: path, architecture, contextSize, embeddingLength, hasChatTemplate: Boolean(chatTemplate), ...rest };
  }

  /** Token ids of `text`; addSpecial adds BOS/EOS as the model wants, parseSpecial turns
   * special-token texts into those tokens. */
  tokenize(text: string, opts: { addSpecial?: boolean; parseSpecial?: boolean } = {}): number[] {
    return Array.from(this.live().tokenize(text, opts.addSpecial ?? true, opts.parseSpecial ?? false));
  }

  detokenize(tokens: ArrayLike<number>, opts: { removeSpecial?: boolean; unparseSpecial?: boolean } = {}): string {
    return new TextDecoder().decode(this.live().detokenize(tokens, opts.removeSpecial ?? false, opts.unparseSpecial ?? false));
  }

  session(): Session {
    const handle = this.live();
    return new Session(handle, handle.createSequence());
  }

  /** The prompt's tokens: plain text as is (with BOS when the model adds one), messages
   * through the GGUF's chat template with special tokens parsed. */
  promptTokens(promptOrMessages: string | readonly ChatMessage[]): number[] {
    if (typeof promptOrMessages === 'string') return this.tokenize(promptOrMessages);
    const text = this.template().render(promptOrMessages);
    const bos = this.nativeInfo.bosText;
    // Templates that write bos_token themselves must not get a second BOS.
    const addSpecial = !(bos && text.startsWith(bos));
    return this.tokenize(text, { addSpecial, parseSpecial: true });
  }

  generate(promptOrMessages: string | readonly ChatMessage[], opts: GenerateOptions = {}): GenerateStream {
    return generateStream(this.live(), this.promptTokens(promptOrMessages), generateOptions(opts), opts);
  }

  async score(prompt: string, continuation: string): Promise<ScoreResult> {
    const handle = this.live();
    const promptIds = this.tokenize(prompt);
    const allIds = this.tokenize(prompt + continuation);
    // Tokenizing the joined text keeps the boundary natural; the continuation is what
    // follows the longest common prefix with the prompt's own tokens.
    let split = 0;
    while (split < promptIds.length && split < allIds.length && promptIds[split] === allIds[split]) split++;
    if (split === 0) throw new Error('score: the prompt must produce at least one token');
    const logprobs = await handle.score(allIds.slice(0, split), allIds.slice(split));
    const perToken = Array.from(logprobs);
    return { total: perToken.reduce((a, b) => a + b, 0), perToken };
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const handle = this.live();
    const out: Float32Array[] = [];
    for (const text of texts) {
      const ids = this.tokenize(text);
      if (ids.length === 0) throw new Error('embed: a text produced no tokens');
      out.push(await handle.embed(ids));
    }
    return out;
  }

  /** Prefix-cache counters; a snapshot taken after the latest call, so it never waits. */
  stats(): NativeEngineStats {
    return this.live().stats();
  }

  /** Forgets the cached prompt blocks that no live session uses (the next prompt runs cold). */
  clearPrefixCache(): Promise<void> {
    return this.live().clearPrefixCache();
  }

  async countTokens(text: string): Promise<number> {
    return this.tokenize(text, { addSpecial: false }).length;
  }

  async close(): Promise<void> {
    this.handle?.close();
    this.handle = null;
  }

  private live(): NativeEngineHandle {
    if (!this.handle) throw new Error('the engine is closed');
    return this.handle;
  }

  private template(): ChatTemplate {
    if (this.chatTemplate === undefined) {
      const source = this.nativeInfo.chatTemplate;
      this.chatTemplate = source
        ? new ChatTemplate(source, { bosToken: this.nativeInfo.bosText ?? undefined, eosToken: this.nativeInfo.eosText ?? undefined })
        : null;
    }
    if (!this.chatTemplate) throw new Error(`${this.nativeInfo.path} has no tokenizer.chat_template: pass a plain prompt`);
    return this.chatTemplate;
  }
}

function generateStream(handle: NativeEngineHandle, tokens: number[], nativeOptions: Record<string, unknown>, opts: GenerateOptions): GenerateStream {
  let resolveStats!: (s: GenerateStats) => void;
  let rejectStats!: (e: unknown) => void;
  const stats = new Promise<GenerateStats>((res, rej) => {
    resolveStats = res;
    rejectStats = rej;
  });
  stats.catch(() => {}); // the iterator reports the error; stats is optional to await
  let started = false;
  return {
    stats,
    [Symbol.asyncIterator]: () => {
      if (started) throw new Error('a generate stream can be iterated once');
      started = true;
      return streamTokens(handle, tokens, nativeOptions, opts, resolveStats, rejectStats);
    },
  };
}

function generateOptions(opts: GenerateOptions): Record<string, unknown> {
  const json = opts.json === undefined || opts.json === false ? undefined : opts.json === true ? true : JSON.stringify(opts.json);
  return {
    maxTokens: opts.maxTokens,
    temperature: opts.temperature,
    topK: opts.topK,
    topP: opts.topP,
    minP: opts.minP,
    repeatPenalty: opts.repeatPenalty,
    seed: opts.seed,
    json,
    ignoreEos: opts.ignoreEos,
  };
}

// Runs one native generation and turns its token callbacks into text pieces.
async function* streamTokens(
  handle: NativeEngineHandle,
  tokens: number[],
  nativeOptions: Record<string, unknown>,
  opts: GenerateOptions,
  resolveStats: (s: GenerateStats) => void,
  rejectStats: (e: unknown) => void,
): AsyncGenerator<string> {
  const signal = opts.signal;
  signal?.throwIfAborted();
  const stops = new StopStringMatcher(opts.stop ?? []);
  const decoder = new TextDecoder('utf-8');
  const pending: number[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let stopHit = false;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const run = handle.generate(tokens, nativeOptions, (id) => {
    pending.push(id);
    notify();
    return !stopHit;
  });
  let failure: unknown = null;
  run.done.then(
    () => {
      finished = true;
      notify();
    },
    (e) => {
      failure = e;
      finished = true;
      notify();
    },
  );
  const onAbort = () => {
    run.cancel();
    notify();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (pending.length > 0) {
        const ids = pending.splice(0, pending.length);
        const scan = stops.push(decoder.decode(handle.tokenPieces(ids), { stream: true }));
        if (scan.text) yield scan.text;
        if (scan.stopped) {
          stopHit = true;
          run.cancel();
          break;
        }
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (!stopHit) {
      if (failure) throw failure;
      const tail = stops.flush() + decoder.decode();
      if (tail) yield tail;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    run.cancel();
    // Waiting for the worker keeps the engine free for the next call once this returns.
    try {
      const s = await run.done;
      resolveStats({ ...s, stopReason: stopHit ? 'stop' : s.stopReason });
    } catch (e) {
      rejectStats(e);
    }
  }
}
