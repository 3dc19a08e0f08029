// The Engine interface over an OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp's server,
// another litsurvey): /v1/chat/completions with streamed server-sent events for generation,
// /v1/completions with echo + logprobs for scoring, /v1/embeddings for embeddings.
import type { ChatMessage } from './chat-template.js';
import type { Engine, EngineInfo, GenerateOptions, GenerateStats, GenerateStream, ScoreResult } from './types.js';

export interface OpenAiEngineOptions {
  /** Server root, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** The served model's context, for packing libraries. Default 8192. */
  contextSize?: number;
}

/** The server answered with something other than what the API promises. */
export class BackendError extends Error {}

/** A generous tokens-per-character bound: real tokenizers average ~4 characters per token for English. */
const CHARS_PER_TOKEN_ESTIMATE = 3;

export class OpenAiEngine implements Engine {
  private readonly root: string;
  private closed = false;

  constructor(private readonly opts: OpenAiEngineOptions) {
    this.root = opts.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  info(): EngineInfo {
    return { backend: 'openai', model: this.opts.model, architecture: 'remote', contextSize: this.opts.contextSize ?? 8192, embeddingLength: 0, hasChatTemplate: true, baseUrl: this.root };
  }

  private async post(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
    if (this.closed) throw new Error('the engine is closed');
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: body.stream ? 'text/event-stream' : 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let res: Response;
    try {
      res = await fetch(`${this.root}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw new BackendError(`${this.root}${path}: request failed (${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ''})`);
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 500);
      throw new BackendError(`${this.root}${path}: HTTP ${res.status}${text ? `: ${text}` : ''}`);
    }
    return res;
  }

  private async postJson(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await this.post(path, body);
    const text = await res.text();
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      throw new BackendError(`${this.root}${path}: the response is not a JSON object (${(e as Error).message})`);
    }
  }

  generate(promptOrMessages: string | readonly ChatMessage[], opts: GenerateOptions = {}): GenerateStream {
    const messages = typeof promptOrMessages === 'string' ? [{ role: 'user', content: promptOrMessages }] : promptOrMessages;
    const body: Record<string, unknown> = {
      model: this.opts.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: opts.maxTokens ?? 256,
      temperature: Math.max(0, opts.temperature ?? 0.8),
    };
    if (opts.topP !== undefined && opts.topP < 1) body.top_p = opts.topP;
    if (opts.seed !== undefined) body.seed = opts.seed;
    if (opts.stop?.length) body.stop = opts.stop;
    // Not in OpenAI's API; vLLM, SGLang and llama.cpp's server accept it.
    if (opts.ignoreEos) body.ignore_eos = true;
    if (opts.json === true) body.response_format = { type: 'json_object' };
    else if (opts.json) body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: opts.json, strict: true } };

    let resolveStats!: (s: GenerateStats) => void;
    let rejectStats!: (e: unknown) => void;
    const stats = new Promise<GenerateStats>((res, rej) => {
      resolveStats = res;
      rejectStats = rej;
    });
    stats.catch(() => {});
    let started = false;
    const self = this;
    async function* run(): AsyncGenerator<string> {
      const t0 = performance.now();
      let firstAt = 0;
      let generated = 0;
      let usage: Record<string, unknown> | undefined;
      let finish = 'eog';
      try {
        const res = await self.post('/v1/chat/completions', body, opts.signal);
        if (!res.body) throw new BackendError('/v1/chat/completions: empty response body');
        for await (const data of sseData(res.body, opts.signal)) {
          if (data === '[DONE]') break;
          let chunk: { choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[]; usage?: Record<string, unknown> | null; error?: { message?: string } };
          try {
            chunk = JSON.parse(data);
          } catch {
            throw new BackendError(`/v1/chat/completions: a stream event is not JSON: ${data.slice(0, 200)}`);
          }
          if (chunk.error) throw new BackendError(`/v1/chat/completions: ${chunk.error.message ?? 'error event'}`);
          if (chunk.usage) usage = chunk.usage;
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finish = choice.finish_reason === 'length' ? 'length' : choice.finish_reason === 'stop' ? 'eog' : choice.finish_reason;
          const piece = choice?.delta?.content;
          if (piece) {
            if (!firstAt) firstAt = performance.now();
            generated++;
            yield piece;
          }
        }
        const end = performance.now();
        const details = usage?.prompt_tokens_details as { cached_tokens?: number } | undefined;
        resolveStats({
          promptTokens: num(usage?.prompt_tokens) ?? 0,
          generatedTokens: num(usage?.completion_tokens) ?? generated,
          prefillMs: (firstAt || end) - t0,
          decodeMs: firstAt ? end - firstAt : 0,
          stopReason: finish,
          cachedTokens: num(details?.cached_tokens),
        });
      } catch (e) {
        rejectStats(e);
        throw e;
      }
    }
    return {
      stats,
      [Symbol.asyncIterator]: () => {
        if (started) throw new Error('a generate stream can be iterated once');
        started = true;
        return run();
      },
    };
  }

  /** Needs a server that echoes prompt logprobs on /v1/completions (vLLM, llama.cpp's server do). */
  async score(prompt: string, continuation: string): Promise<ScoreResult> {
    let res: Record<string, unknown>;
    try {
      res = await this.postJson('/v1/completions', { model: this.opts.model, prompt: prompt + continuation, echo: true, logprobs: 1, max_tokens: 0, temperature: 0 });
    } catch (e) {
      throw new BackendError(`score is not supported by this backend: ${(e as Error).message}`);
    }
    const lp = (res.choices as { logprobs?: { tokens?: unknown; token_logprobs?: unknown; text_offset?: unknown } }[] | undefined)?.[0]?.logprobs;
    const logprobs = lp?.token_logprobs;
    const offsets = lp?.text_offset;
    if (!Array.isArray(logprobs) || !Array.isArray(offsets) || logprobs.length !== offsets.length)
      throw new BackendError('score is not supported by this backend: /v1/completions returned no echoed prompt logprobs (logprobs.token_logprobs with text_offset)');
    // Tokens that start at or after the prompt's end belong to the continuation.
    const perToken: number[] = [];
    offsets.forEach((off, i) => {
      if (typeof off === 'number' && off >= prompt.length) {
        const v = logprobs[i];
        if (typeof v !== 'number') throw new BackendError('score: a continuation token has no logprob');
        perToken.push(v);
      }
    });
    if (perToken.length === 0) throw new BackendError('score: the server returned no tokens for the continuation');
    return { total: perToken.reduce((a, b) => a + b, 0), perToken };
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const res = await this.postJson('/v1/embeddings', { model: this.opts.model, input: texts });
    const data = res.data as { embedding?: unknown; index?: number }[] | undefined;
    if (!Array.isArray(data) || data.length !== texts.length) throw new BackendError(`/v1/embeddings: expected ${texts.length} embeddings`);
    const out = new Array<Float32Array>(texts.length);
    data.forEach((d, i) => {
      if (!Array.isArray(d.embedding) || !d.embedding.every((x) => typeof x === 'number')) throw new BackendError('/v1/embeddings: an embedding is not an array of numbers');
      const v = Float32Array.from(d.embedding as number[]);
      let n = 0;
      for (const x of v) n += x * x;
      if (n > 0) for (let j = 0; j < v.length; j++) v[j]! /= Math.sqrt(n);
      const at = typeof d.index === 'number' && d.index >= 0 && d.index < texts.length ? d.index : i;
      out[at] = v;
    });
    return out;
  }

  /** No tokenizer on this side: a conservative estimate, so packed libraries do not overflow. */
  async countTokens(text: string): Promise<number> {
    return Math.ceil(text.length / CHARS_PER_TOKEN_ESTIMATE);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The `data:` payloads of a server-sent-event stream. */
async function* sseData(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data) yield data;
      }
      if (done) {
        if (buffer.trim().startsWith('data:')) yield buffer.trim().slice(5).trim();
        return;
      }
      if (buffer.length > 16 * 1024 * 1024) throw new BackendError('server-sent event larger than 16 MiB');
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
