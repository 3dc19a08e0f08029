// Engine-mode survey jobs in the server on a tiny random-weight model: the job writes through the
// scheduler's background view, /v1 chat requests (interactive) are answered while it runs instead
// of waiting for the whole survey, and the job page's event stream carries tokens/s.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../dist/config.js';
import { synthModel } from '../../dist/engine/modelfile/synth.js';
import { startServer } from '../../dist/server/serve.js';
import { cacheDir, root, sharedDir, tempDir } from '../helpers.js';

const vocab = join(sharedDir, 'models', 'minicpm4-0.5b');

test('engine survey job: /v1 chat is served while the survey is written; tokens/s are streamed', { skip: !existsSync(vocab) && `no ${vocab}`, timeout: 300_000 }, async (t) => {
  const home = tempDir(t);
  const model = join(home, 'tiny.gguf');
  await synthModel({ out: model, arch: 'minicpm', type: 'f32', seed: 7, vocab });
  const config = loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
  const s = await startServer(config, { host: '127.0.0.1', port: 0, model, log: () => {} });
  t.after(() => s.close());

  const form = await (await fetch(`${s.url}/`)).text();
  assert.match(form, /value="engine" checked/, 'engine mode is offered (and the default) with a model');
  const r = await fetch(`${s.url}/api/surveys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'sparse attention for long contexts', sections: 2, mode: 'engine' }) });
  assert.equal(r.status, 202);
  const { id } = await r.json();
  const job = async () => (await fetch(`${s.url}/api/surveys/${id}`)).json();
  for (let i = 0; i < 600 && (await job()).state !== 'running'; i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal((await job()).mode, 'engine');

  const t0 = performance.now();
  const chat = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, temperature: 0 }) });
  const chatMs = performance.now() - t0;
  assert.equal(chat.status, 200);
  const during = await job();
  t.diagnostic(`chat answered in ${chatMs.toFixed(0)} ms; the survey job was ${during.state} at step ${during.step}`);
  assert.equal(during.state, 'running', 'the chat answer did not wait for the whole survey');

  const text = await (await fetch(`${s.url}/api/surveys/${id}/events`, { signal: AbortSignal.timeout(280_000) })).text();
  assert.match(text, /event: end\ndata: \{"type":"end","state":"done"/);
  assert.match(text, /event: stats\ndata: \{"type":"stats","at":"[^"]+","tokensPerSecond":\d/);
  const md = await (await fetch(`${s.url}/api/surveys/${id}/survey.md`)).text();
  assert.match(md, /^mode: "engine"$/m);
});
