// ignoreEos on a tiny random-weight model whose EOS is made the greedy first token (its
// eos_token_id rewritten to that token): without the option generation ends at once; with it,
// every end-of-generation token is masked, so exactly maxTokens tokens come out — through the
// native engine and through litsurvey's own /v1/completions (`ignore_eos`).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { loadConfig } from '../../dist/config.js';
import { NativeEngine } from '../../dist/engine/engine.js';
import { startServer } from '../../dist/server/serve.js';
import { cacheDir, root } from '../helpers.js';
import { argmax, rewriteGguf, synth, tempDir } from './parity-support.js';

const tmp = tempDir();
const PROMPT = 'The history of science';
let path; // the model whose EOS is the greedy continuation of PROMPT
let eos;
let engine;

before(async () => {
  const base = synth(tmp.dir, 'llama', 'f32');
  const probe = await NativeEngine.load(base.path, { kvCacheType: 'f32', contextSize: 256 });
  const session = probe.session();
  eos = argmax(await session.eval(probe.tokenize(PROMPT), 'last'));
  await session.close();
  await probe.close();
  path = rewriteGguf(base.path, join(tmp.dir, 'llama-eos-greedy.gguf'), (metadata) => {
    metadata.set('tokenizer.ggml.eos_token_id', { type: 'u32', value: eos });
  });
  engine = await NativeEngine.load(path, { kvCacheType: 'f32', contextSize: 256 });
});

after(async () => {
  await engine?.close();
  tmp.cleanup();
});

async function run(opts) {
  const stream = engine.generate(PROMPT, opts);
  let text = '';
  for await (const piece of stream) text += piece;
  return { text, stats: await stream.stats };
}

test('without ignoreEos the greedy EOS ends generation before any token', async () => {
  const { text, stats } = await run({ maxTokens: 24, temperature: 0 });
  assert.equal(stats.stopReason, 'eog');
  assert.equal(stats.generatedTokens, 0);
  assert.equal(text, '');
});

test('with ignoreEos greedy generation gives exactly maxTokens tokens: argmax with EOS masked', async () => {
  const { text, stats } = await run({ maxTokens: 24, temperature: 0, ignoreEos: true });
  assert.equal(stats.stopReason, 'length');
  assert.equal(stats.generatedTokens, 24);
  // Step by step: the argmax over every token but EOS, which is never drawn.
  const session = engine.session();
  let logits = await session.eval(engine.tokenize(PROMPT), 'last');
  const expected = [];
  for (let i = 0; i < 24; i++) {
    logits[eos] = -Infinity;
    expected.push(argmax(logits));
    logits = await session.eval([expected.at(-1)], 'last');
  }
  await session.close();
  assert.ok(!expected.includes(eos));
  assert.equal(text, new TextDecoder().decode(engine['handle'].tokenPieces(expected)));
});

test('with ignoreEos sampling also runs to maxTokens', async () => {
  for (const seed of [1, 2, 3]) {
    const { stats } = await run({ maxTokens: 40, temperature: 1.5, topK: 0, topP: 1, minP: 0, seed, ignoreEos: true });
    assert.equal(stats.generatedTokens, 40);
    assert.equal(stats.stopReason, 'length');
  }
});

test('ignoreEos is refused with json and must be a boolean', async () => {
  await assert.rejects(() => run({ maxTokens: 8, json: true, ignoreEos: true }), /ignoreEos cannot be combined with json/);
  await assert.rejects(() => run({ maxTokens: 8, ignoreEos: 'yes' }), /option ignoreEos must be a boolean/);
});

test('/v1/completions accepts ignore_eos', { timeout: 120_000 }, async (t) => {
  const config = loadConfig({ LITSURVEY_HOME: join(tmp.dir, 'home'), LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(tmp.dir, 'none.json') });
  const server = await startServer(config, { host: '127.0.0.1', port: 0, model: path, log: () => {} });
  t.after(() => server.close());
  const complete = async (extra) => {
    const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: PROMPT, max_tokens: 16, temperature: 0, ...extra }) });
    return { status: r.status, body: await r.json() };
  };
  const plain = await complete({});
  assert.equal(plain.status, 200);
  assert.equal(plain.body.usage.completion_tokens, 0);
  assert.equal(plain.body.choices[0].finish_reason, 'stop');
  const ignored = await complete({ ignore_eos: true });
  assert.equal(ignored.status, 200);
  assert.equal(ignored.body.usage.completion_tokens, 16);
  assert.equal(ignored.body.choices[0].finish_reason, 'length');
  const bad = await complete({ ignore_eos: 'yes' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /ignore_eos/);
  const withJson = await complete({ ignore_eos: true, response_format: { type: 'json_object' } });
  assert.equal(withJson.status, 400);
  assert.match(withJson.body.error.message, /ignore_eos/);
});
