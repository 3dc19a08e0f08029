// The OpenAI-compatible backend against a real HTTP server on loopback (written here): streamed
// chat completions (SSE split across TCP writes), usage and cached-token stats, JSON-schema
// requests, scoring via echoed logprobs, embeddings, HTTP errors; then a whole engine-mode survey
// through the CLI with --backend openai.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OpenAiEngine } from '../../dist/engine/openai-backend.js';
import { runCli } from '../helpers.js';
import { firstUseOrder, parseSurvey, sampleHome } from './support.js';

/** A small OpenAI-compatible server; `reply(body)` decides each chat completion's text. */
async function startServer(t, { reply, scoreSupported = true }) {
  const requests = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      const body = raw ? JSON.parse(raw) : {};
      requests.push({ url: req.url, body, auth: req.headers.authorization });
      if (req.url === '/v1/chat/completions') {
        const text = reply(body);
        if (text instanceof Error) {
          res.writeHead(500, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: { message: text.message } }));
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
        for (const [i, piece] of pieces.entries()) {
          const event = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: i === pieces.length - 1 ? 'stop' : null }] })}\n\n`;
          // Split events across writes to exercise the SSE reassembly.
          res.write(event.slice(0, 5));
          await new Promise((r) => setImmediate(r));
          res.write(event.slice(5));
        }
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 123, completion_tokens: pieces.length, prompt_tokens_details: { cached_tokens: 100 } } })}\n\n`);
        res.end('data: [DONE]\n\n');
      } else if (req.url === '/v1/completions' && scoreSupported) {
        // Echo: one "token" per character, each with logprob -0.5; the prompt ends where the caller's prompt ended.
        const text = body.prompt;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ choices: [{ text, logprobs: { tokens: [...text], token_logprobs: [...text].map((_, i) => (i === 0 ? null : -0.5)), text_offset: [...text].map((_, i) => i) } }] }));
      } else if (req.url === '/v1/embeddings') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: body.input.map((s, index) => ({ index, embedding: [s.length, 0, 0] })).reverse() }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

test('generate streams SSE text and reports usage, including cached prompt tokens', async (t) => {
  const srv = await startServer(t, { reply: () => 'Hello from the loopback server — ünïcode ✓.' });
  const engine = new OpenAiEngine({ baseUrl: `${srv.url}/v1`, model: 'test-model', apiKey: 'k123' });
  const stream = engine.generate('Say hello', { maxTokens: 50, temperature: 0.2, seed: 9, stop: ['###'], json: { type: 'object' } });
  let text = '';
  for await (const piece of stream) text += piece;
  assert.equal(text, 'Hello from the loopback server — ünïcode ✓.');
  const stats = await stream.stats;
  assert.equal(stats.promptTokens, 123);
  assert.equal(stats.cachedTokens, 100);
  assert.equal(stats.stopReason, 'eog');
  const req = srv.requests[0];
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.auth, 'Bearer k123');
  assert.deepEqual(req.body.messages, [{ role: 'user', content: 'Say hello' }]);
  assert.equal(req.body.stream, true);
  assert.equal(req.body.max_tokens, 50);
  assert.equal(req.body.seed, 9);
  assert.deepEqual(req.body.stop, ['###']);
  assert.deepEqual(req.body.response_format, { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object' }, strict: true } });
  assert.equal(req.body.ignore_eos, undefined);
  // ignoreEos goes out as vLLM's and llama.cpp's `ignore_eos`.
  for await (const _ of engine.generate('Say hello', { maxTokens: 400, ignoreEos: true }));
  assert.equal(srv.requests[1].body.ignore_eos, true);
});

test('score sums the continuation tokens of echoed logprobs; embeddings are unit vectors in input order', async (t) => {
  const srv = await startServer(t, { reply: () => '' });
  const engine = new OpenAiEngine({ baseUrl: srv.url, model: 'm' });
  const r = await engine.score('The answer is', ' yes');
  assert.equal(r.perToken.length, 4);
  assert.equal(r.total, -2);
  assert.equal(srv.requests[0].body.echo, true);
  const [a, b] = await engine.embed(['ab', 'abcd']);
  assert.deepEqual(Array.from(a), [1, 0, 0]);
  assert.deepEqual(Array.from(b), [1, 0, 0]);
  assert.equal(await engine.countTokens('x'.repeat(30)), 10);
});

test('HTTP errors and a server without logprobs give clear errors', async (t) => {
  const srv = await startServer(t, { reply: () => new Error('model overloaded'), scoreSupported: false });
  const engine = new OpenAiEngine({ baseUrl: srv.url, model: 'm' });
  await assert.rejects(async () => {
    for await (const _ of engine.generate('x')) void _;
  }, /HTTP 500: .*model overloaded/);
  await assert.rejects(engine.score('a', 'b'), /score is not supported by this backend/);
  const closed = new OpenAiEngine({ baseUrl: 'http://127.0.0.1:9', model: 'm' });
  await assert.rejects(async () => {
    for await (const _ of closed.generate('x')) void _;
  }, /request failed/);
});

test('generate --backend openai writes an engine-mode survey; unknown citations are dropped and counted', async (t) => {
  const { home, env } = await sampleHome(t);
  const srv = await startServer(t, {
    reply: (body) => {
      const prompt = body.messages[0].content;
      if (body.response_format) {
        return JSON.stringify({
          title: 'Language Models: A Survey',
          sections: ['Pre-training', 'Alignment'].map((title) => ({ title, brief: `Work on ${title.toLowerCase()}.`, subsections: [], queries: [`${title} language models`, 'transformer'] })),
        });
      }
      const ids = [...prompt.matchAll(/^\[@([^\]]+)\]/gm)].map((m) => m[1]);
      return `## Heading the model added\n\nOne finding [@${ids[0]}]. Two papers agree [@${ids[1]}; @${ids[0]}]. A made-up source [@fake:404]. A numbered one [7].`;
    },
  });
  const out = join(home, 'api.md');
  const r = await runCli(['generate', 'large language models', '--backend', 'openai', '--base-url', srv.url, '--api-model', 'served-model', '--context', '4096', '--sections', '2', '--rerank', '--out', out], env);
  assert.equal(r.code, 0, r.stderr);
  const s = parseSurvey(readFileSync(out, 'utf8'));
  assert.equal(s.front.mode, 'engine');
  assert.equal(s.front.plan_source, 'engine');
  assert.match(s.frontText, /^model:\n {2}backend: "openai"\n {2}base_url: "http:\/\/127\.0\.0\.1:\d+"\n {2}api_model: "served-model"/m);
  assert.match(s.frontText, /section_cached_tokens: \[100, 100\]/);
  assert.match(s.frontText, /rerank: true/);
  assert.ok(srv.requests.filter((q) => q.url === '/v1/completions').length >= 4, 'the reranker scored papers');
  assert.deepEqual(s.headings.filter((h) => h.level === 2).map((h) => h.text), ['Abstract', 'Introduction', 'Pre-training', 'Alignment', 'Conclusion', 'References']);
  assert.ok(s.headings.some((h) => h.level === 3 && h.text === 'Heading the model added'), 'model headings are demoted');
  // Per section, conclusion and introduction: one fake id and one numeric bracket each; the abstract too.
  assert.match(s.frontText, /unresolved_dropped: (\d+)/);
  const unresolved = Number(/unresolved_dropped: (\d+)/.exec(s.frontText)[1]);
  assert.equal(unresolved, 2 * 5, 'abstract, introduction, 2 sections, conclusion: [@fake:404] and [7] each');
  assert.doesNotMatch(s.body, /fake:404|\[7\]/);
  assert.deepEqual(firstUseOrder(s.citations), s.references.map((r) => r.n));
  assert.ok(s.references.length >= 2);
  assert.ok(s.references.every((ref) => ref.id.startsWith('sample:')));
  const chat = srv.requests.filter((q) => q.url === '/v1/chat/completions');
  assert.equal(chat[0].body.model, 'served-model');
  // Every section prompt starts with the same library prefix (what a prefix cache reuses).
  const sectionPrompts = chat.filter((q) => !q.body.response_format).map((q) => q.body.messages[0].content);
  const prefix = sectionPrompts[0].slice(0, sectionPrompts[0].indexOf('Citation rules'));
  assert.ok(prefix.length > 200);
  assert.ok(sectionPrompts.filter((p) => p.startsWith(prefix)).length >= 3);
});
