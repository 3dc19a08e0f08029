// OpenAI-compatible endpoints served by the native engine: /v1/models, /v1/chat/completions
// (streaming and not), /v1/completions, /v1/embeddings. Calls queue at interactive priority.
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { randomUUID } from 'node:crypto';
import type { ChatMessage, Engine, GenerateOptions, GenerateStats } from '../../engine/types.js';
import { HttpProblem } from '../problem.js';
import { bad, jsonBody, object, optBool, optNumber, optString, stringOrList, type Json } from '../validate.js';

export interface OpenAiDeps {
  engine: Engine;
  modelId: string;
  maxTokens: number;
}

/** Engine errors the caller caused (prompt too long, no chat template, empty input) are 400s. */
function clientError(e: unknown): unknown {
  const message = (e as Error)?.message ?? '';
  return /context overflow|chat_template|produced no tokens|must produce at least one token/.test(message) ? bad(message) : e;
}

const finishReason = (s: GenerateStats) => (s.stopReason === 'length' || s.stopReason === 'context' ? 'length' : 'stop');

function sampling(body: Json, maxTokens: number, signal: AbortSignal): GenerateOptions {
  const opts: GenerateOptions = {
    maxTokens: optNumber(body, 'max_tokens', 0, maxTokens, true) ?? optNumber(body, 'max_completion_tokens', 0, maxTokens, true) ?? Math.min(256, maxTokens),
    temperature: optNumber(body, 'temperature', 0, 2) ?? 1,
    topP: optNumber(body, 'top_p', 0, 1),
    seed: optNumber(body, 'seed', 0, Number.MAX_SAFE_INTEGER, true),
    stop: stringOrList(body, 'stop', 4, 64),
    // vLLM's and llama.cpp's extension: run to max_tokens (benchmarks).
    ignoreEos: optBool(body, 'ignore_eos'),
    signal,
  };
  const rf = body.response_format;
  if (rf !== undefined && rf !== null) {
    const f = object(rf, '"response_format"');
    if (f.type === 'json_object') opts.json = true;
    else if (f.type === 'json_schema') {
      const js = object(f.json_schema, '"response_format.json_schema"');
      opts.json = object(js.schema, '"response_format.json_schema.schema"');
    } else if (f.type !== 'text') throw bad('"response_format.type" must be text, json_object or json_schema');
  }
  if (opts.ignoreEos && opts.json) throw bad('"ignore_eos" cannot be combined with a JSON "response_format": a complete JSON value ends the output');
  return opts;
}

function messagesOf(body: Json): ChatMessage[] {
  const m = body.messages;
  if (!Array.isArray(m) || m.length === 0) throw bad('"messages" must be a non-empty array');
  if (m.length > 256) throw bad('"messages" has more than 256 items');
  return m.map((x, i) => {
    const o = object(x, `messages[${i}]`);
    const role = o.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') throw bad(`messages[${i}].role must be system, user or assistant`);
    let content = o.content;
    if (Array.isArray(content)) content = content.map((p) => (typeof p === 'object' && p && (p as Json).type === 'text' ? String((p as Json).text ?? '') : '')).join('');
    if (typeof content !== 'string') throw bad(`messages[${i}].content must be a string`);
    if (content.length > 200_000) throw bad(`messages[${i}].content is too long`);
    return { role, content };
  });
}

export function openAiRoutes(deps: OpenAiDeps): Hono {
  const app = new Hono();
  const created = () => Math.floor(Date.now() / 1000);
  // OpenAI clients read errors as {error: {message, type, …}}, not as problem details.
  app.onError((err, c) => {
    const status = err instanceof HttpProblem ? err.status : 500;
    if (status === 500) console.error(`litsurvey serve: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    const message = status === 500 ? 'the server failed to answer this request; see its log' : err.message;
    const type = status === 400 || status === 413 || status === 415 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'server_error';
    return c.json({ error: { message, type, param: null, code: null } }, status);
  });

  app.get('/models', (c) => c.json({ object: 'list', data: [{ id: deps.modelId, object: 'model', created: created(), owned_by: 'litsurvey' }] }));

  const complete = async (c: Context, kind: 'chat' | 'text') => {
    const body = await jsonBody(c.req);
    const prompt = kind === 'text' ? optString(body, 'prompt', 400_000) : undefined;
    if (kind === 'text' && prompt === undefined) throw bad('"prompt" is required (a string)');
    const input: string | ChatMessage[] = kind === 'chat' ? messagesOf(body) : prompt!;
    optNumber(body, 'n', 1, 1, true); // only n = 1 is served
    const abort = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => abort.abort(new Error('client went away')), { once: true });
    const opts = sampling(body, deps.maxTokens, abort.signal);
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
    if (kind === 'chat' && deps.engine.info().hasChatTemplate === false) throw bad(`${deps.modelId} has no chat template (tokenizer.chat_template); use /v1/completions with a plain prompt`);
    if (optBool(body, 'stream')) {
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => abort.abort(new Error('client went away')));
        const chunk = (delta: Record<string, unknown>, finish: string | null) =>
          stream.writeSSE({
            data: JSON.stringify(
              kind === 'chat'
                ? { id, object: 'chat.completion.chunk', created: created(), model: deps.modelId, choices: [{ index: 0, delta, finish_reason: finish }] }
                : { id, object, created: created(), model: deps.modelId, choices: [{ index: 0, text: (delta.content as string) ?? '', finish_reason: finish, logprobs: null }] },
            ),
          });
        const gen = deps.engine.generate(input, opts);
        if (kind === 'chat') await chunk({ role: 'assistant', content: '' }, null);
        try {
          for await (const piece of gen) await chunk({ content: piece }, null);
          const s = await gen.stats;
          await chunk({}, finishReason(s));
        } catch (e) {
          if (!abort.signal.aborted) await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: { message: (e as Error).message } }) });
        }
        await stream.writeSSE({ data: '[DONE]' });
      });
    }
    const gen = deps.engine.generate(input, opts);
    let text = '';
    let s: GenerateStats;
    try {
      for await (const piece of gen) text += piece;
      s = await gen.stats;
    } catch (e) {
      throw clientError(e);
    }
    const usage = { prompt_tokens: s.promptTokens, completion_tokens: s.generatedTokens, total_tokens: s.promptTokens + s.generatedTokens };
    const choice = kind === 'chat' ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason(s), logprobs: null } : { index: 0, text, finish_reason: finishReason(s), logprobs: null };
    return c.json({ id, object, created: created(), model: deps.modelId, choices: [choice], usage });
  };

  app.post('/chat/completions', (c) => complete(c, 'chat'));
  app.post('/completions', (c) => complete(c, 'text'));

  app.post('/embeddings', async (c) => {
    const body = await jsonBody(c.req);
    const input = stringOrList(body, 'input', 256, 100_000);
    if (!input || input.length === 0) throw bad('"input" is required');
    if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') throw bad('"encoding_format" must be float or base64');
    const vectors = await deps.engine.embed(input).catch((e: unknown) => {
      throw clientError(e);
    });
    const encode = (v: Float32Array) => (body.encoding_format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v));
    const tokens = (await Promise.all(input.map((t) => deps.engine.countTokens(t)))).reduce((a, b) => a + b, 0);
    return c.json({ object: 'list', model: deps.modelId, data: vectors.map((v, i) => ({ object: 'embedding', index: i, embedding: encode(v) })), usage: { prompt_tokens: tokens, total_tokens: tokens } });
  });

  app.all('*', () => {
    throw new HttpProblem(404, 'Not Found', 'no such OpenAI-compatible endpoint');
  });
  return app;
}
