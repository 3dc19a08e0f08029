// The engine's JavaScript API: async model load and evaluation that never blocks the event
// loop, streamed generation (greedy equals step-by-step argmax, stop strings, AbortSignal),
// score/embed, sessions, and errors for bad input instead of crashes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { NativeEngine } from '../../dist/engine/engine.js';
import { argmax, synth, tempDir } from './parity-support.js';

const tmp = tempDir();
let small; // tiny llama, f32
let engine;

before(async () => {
  small = synth(tmp.dir, 'llama', 'f32');
  engine = await NativeEngine.load(small.path, { kvCacheType: 'f32', contextSize: 512 });
});

after(async () => {
  await engine?.close();
  tmp.cleanup();
});

test('info describes the model and the context', () => {
  const info = engine.info();
  assert.equal(info.backend, 'native');
  assert.equal(info.architecture, 'llama');
  assert.equal(info.contextSize, 512);
  assert.equal(info.embeddingLength, small.shape.hidden);
  assert.equal(info.vocabSize, small.shape.vocab);
});

test('tokenize and detokenize round-trip through the model vocabulary', () => {
  const ids = engine.tokenize('Hello world', { addSpecial: false });
  assert.ok(ids.length > 0);
  assert.equal(engine.detokenize(ids), 'Hello world');
});

test('greedy generate streams the tokens that step-by-step argmax picks', async () => {
  const prompt = 'The history of science';
  const session = engine.session();
  let logits = await session.eval(engine.tokenize(prompt), 'last');
  const expected = [];
  for (let i = 0; i < 12; i++) {
    expected.push(argmax(logits));
    logits = await session.eval([expected.at(-1)], 'last');
  }
  await session.close();
  const stream = engine.generate(prompt, { maxTokens: 12, temperature: 0 });
  let text = '';
  for await (const piece of stream) text += piece;
  const stats = await stream.stats;
  assert.equal(stats.generatedTokens, 12);
  assert.equal(stats.stopReason, 'length');
  assert.equal(stats.promptTokens, engine.tokenize(prompt).length);
  // The stream prints each token's own piece, so the text equals the pieces concatenated.
  const pieces = new TextDecoder().decode(engine['handle'].tokenPieces(expected));
  assert.equal(text, pieces);
});

test('generate in a session continues it and keeps what it generated but the last token', async () => {
  const first = engine.tokenize('The history');
  const more = engine.tokenize(' of science', { addSpecial: false });
  // Reference: step-by-step argmax after the whole prompt, in a fresh session.
  const ref = engine.session();
  let logits = await ref.eval([...first, ...more], 'last');
  const expected = [];
  for (let i = 0; i < 6; i++) {
    expected.push(argmax(logits));
    logits = await ref.eval([expected.at(-1)], 'last');
  }
  await ref.close();

  const session = engine.session();
  await session.eval(first, 'none');
  const stream = session.generate(more, { maxTokens: 5, temperature: 0, ignoreEos: true });
  let text = '';
  for await (const piece of stream) text += piece;
  const stats = await stream.stats;
  assert.equal(stats.generatedTokens, 5);
  assert.equal(stats.promptTokens, more.length);
  assert.equal(text, new TextDecoder().decode(engine['handle'].tokenPieces(expected.slice(0, 5))));
  // The session holds both prompts and the first 4 generated tokens: evaluating the 5th gives
  // the logits that pick the 6th.
  assert.equal(argmax(await session.eval([expected[4]], 'last')), expected[5]);
  await session.close();
  assert.throws(() => session.generate([5]), /session is closed/);
});

test('a stop string ends generation before it and is not output', async () => {
  let full = '';
  for await (const piece of engine.generate('Once upon a time', { maxTokens: 16, temperature: 0 })) full += piece;
  const stop = full.slice(6, 9);
  assert.ok(stop.length === 3);
  let text = '';
  const stream = engine.generate('Once upon a time', { maxTokens: 16, temperature: 0, stop: [stop] });
  for await (const piece of stream) text += piece;
  assert.equal(text, full.slice(0, full.indexOf(stop)));
  assert.equal((await stream.stats).stopReason, 'stop');
});

test('aborting the signal ends the stream with the abort reason', async () => {
  const controller = new AbortController();
  let pieces = 0;
  await assert.rejects(async () => {
    for await (const _ of engine.generate('Hello', { maxTokens: 100000, temperature: 1, seed: 5, signal: controller.signal })) {
      if (++pieces === 3) controller.abort();
    }
  }, { name: 'AbortError' });
  assert.equal(pieces, 3);
  // The engine is free again afterwards.
  const session = engine.session();
  assert.equal((await session.eval(engine.tokenize('again'), 'last')).length, small.shape.vocab);
  await session.close();
});

test('seeded sampling repeats exactly', async () => {
  const run = async () => {
    let text = '';
    for await (const p of engine.generate('A', { maxTokens: 10, temperature: 0.9, topK: 50, seed: 42 })) text += p;
    return text;
  };
  assert.equal(await run(), await run());
});

test('json output follows the schema', async () => {
  const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false };
  const stream = engine.generate('x', { maxTokens: 200, temperature: 0.7, seed: 3, json: schema });
  let text = '';
  for await (const piece of stream) text += piece;
  assert.equal((await stream.stats).stopReason, 'eog');
  const value = JSON.parse(text);
  assert.deepEqual(Object.keys(value), ['a']);
  assert.ok(Number.isInteger(value.a));
});

test('score sums per-token log-probabilities that match the logits', async () => {
  const result = await engine.score('The cat sat on the', ' mat today');
  assert.ok(result.perToken.length >= 2);
  assert.ok(result.perToken.every((v) => v < 0 && Number.isFinite(v)));
  assert.ok(Math.abs(result.total - result.perToken.reduce((a, b) => a + b, 0)) < 1e-9);
  // First continuation token's log-prob from the logits after the prompt.
  const all = engine.tokenize('The cat sat on the mat today');
  const promptIds = engine.tokenize('The cat sat on the');
  const session = engine.session();
  const logits = await session.eval(promptIds, 'last');
  await session.close();
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const expected = logits[all[promptIds.length]] - max - Math.log(sum);
  assert.ok(Math.abs(result.perToken[0] - expected) < 1e-4, `${result.perToken[0]} vs ${expected}`);
});

test('embed returns one unit vector per text, equal for equal texts', async () => {
  const [a, b, c] = await engine.embed(['graph neural networks', 'graph neural networks', 'protein folding']);
  assert.equal(a.length, small.shape.hidden);
  const norm = Math.hypot(...a);
  assert.ok(Math.abs(norm - 1) < 1e-5);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('errors: bad options, bad tokens, context overflow, closed engine', async () => {
  await assert.rejects(NativeEngine.load(small.path, { threads: 0 }), /threads/);
  await assert.rejects(NativeEngine.load(small.path, { kvCacheType: 'q4' }), /kvCacheType/);
  await assert.rejects(NativeEngine.load(`${tmp.dir}/missing.gguf`), /missing\.gguf/);
  await assert.rejects(async () => {
    for await (const _ of engine.generate('x', { topP: 0 }));
  }, /top_p|topP/);
  const session = engine.session();
  await assert.rejects(session.eval([small.shape.vocab + 5], 'last'), /outside the vocabulary/);
  await assert.rejects(session.eval(new Array(513).fill(5), 'none'), /context overflow/);
  // A failed eval leaves the sequence usable.
  assert.equal((await session.eval([5, 6], 'all')).length, 2 * small.shape.vocab);
  // Generation inside a session: a session's tokens out of the vocabulary fail the same way; the
  // native option naming the sequence is checked (not an integer, no such sequence).
  await assert.rejects(async () => {
    for await (const _ of session.generate([small.shape.vocab + 5], { maxTokens: 2 }));
  }, /outside the vocabulary/);
  const handle = engine['handle'];
  assert.throws(() => handle.generate([5], { sequence: 1.5 }, () => true), /option sequence must be an integer/);
  await assert.rejects(handle.generate([5], { sequence: 987654 }, () => true).done, /no sequence with id 987654/);
  await session.close();
  assert.throws(() => session.eval([5]), /session is closed/);

  const other = await NativeEngine.load(small.path);
  await other.close();
  assert.throws(() => other.tokenize('x'), /engine is closed/);
  assert.throws(() => other.generate('x'), /engine is closed/);
  await assert.rejects(other.score('a', 'b'), /engine is closed/);
});

test('a long prefill does not block the event loop', async (t) => {
  // Deep and long enough that the prefill takes a noticeable time on two cores even with the
  // integer kernels and flash attention (~1.5 s here; 3000 tokens took 0.4-0.8 s).
  const deep = synth(tmp.dir, 'llama', 'q8_0', { layers: 16, shape: 'tiny-k' });
  const big = await NativeEngine.load(deep.path, { contextSize: 8192 });
  try {
    const session = big.session();
    const tokens = Array.from({ length: 7000 }, (_, i) => 10 + (i * 7919) % 3000);
    let last = Date.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 50);
    const started = Date.now();
    const prefill = session.eval(tokens, 'last');
    // Sequence bookkeeping does not wait for the running prefill.
    const other = big.session();
    assert.ok(Date.now() - started < 100, 'createSequence waited for the prefill');
    const closed = other.close();
    await prefill;
    const elapsed = Date.now() - started;
    await closed;
    clearInterval(timer);
    await session.close();
    t.diagnostic(`prefill of ${tokens.length} tokens took ${elapsed} ms; ${ticks} timer ticks, max gap ${maxGap} ms`);
    assert.ok(elapsed > 500, `prefill too quick (${elapsed} ms) to show anything`);
    assert.ok(maxGap <= 500, `timer gap ${maxGap} ms`);
  } finally {
    await big.close();
  }
});
