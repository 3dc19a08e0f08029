// The OpenAI-compatible API on a real (tiny, random-weight) model, driven by the official openai client.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import OpenAI from 'openai';
import { loadConfig } from '../../dist/config.js';
import { synthModel } from '../../dist/engine/modelfile/synth.js';
import { startServer } from '../../dist/server/serve.js';
import { cacheDir, root, sharedDir, tempDir } from '../helpers.js';

test('openai client: models, chat (plain and streamed), completions, embeddings, errors', async (t) => {
  const home = tempDir(t);
  const model = join(home, 'tiny.gguf');
  // The real MiniCPM4 tokenizer brings its chat template along.
  await synthModel({ out: model, arch: 'minicpm', type: 'f32', seed: 7, vocab: join(sharedDir, 'models', 'minicpm4-0.5b') });
  const config = loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
  const server = await startServer(config, { host: '127.0.0.1', port: 0, model, log: () => {} });
  t.after(() => server.close());
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny.gguf']);

  const messages = [{ role: 'user', content: 'Name one survey about sparse attention.' }];
  const chat = await client.chat.completions.create({ model: 'tiny.gguf', messages, max_tokens: 12, temperature: 0 });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(typeof chat.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
  assert.ok(chat.usage.prompt_tokens > 5);
  assert.ok(chat.usage.completion_tokens > 0 && chat.usage.completion_tokens <= 12);

  const stream = await client.chat.completions.create({ model: 'tiny.gguf', messages, max_tokens: 12, temperature: 0, stream: true });
  let streamed = '';
  let finish = null;
  for await (const chunk of stream) {
    streamed += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(streamed, chat.choices[0].message.content, 'greedy stream equals the plain answer');
  assert.equal(finish, chat.choices[0].finish_reason);

  const completion = await client.completions.create({ model: 'tiny.gguf', prompt: 'Retrieval-augmented generation', max_tokens: 8, temperature: 0 });
  assert.equal(completion.object, 'text_completion');
  assert.equal(typeof completion.choices[0].text, 'string');

  const emb = await client.embeddings.create({ model: 'tiny.gguf', input: ['sparse attention', 'prefix caching'] });
  assert.equal(emb.data.length, 2);
  const v = emb.data[0].embedding;
  assert.ok(v.length > 0);
  assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-3, 'unit length');

  await assert.rejects(() => client.chat.completions.create({ model: 'tiny.gguf', messages: [], max_tokens: 4 }), (e) => e.status === 400 && /messages/.test(e.message));
  await assert.rejects(() => client.chat.completions.create({ model: 'tiny.gguf', messages, max_tokens: 999999 }), (e) => e.status === 400 && /max_tokens/.test(e.message));
});
