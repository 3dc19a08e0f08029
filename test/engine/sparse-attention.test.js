// InfLLM v2 block-sparse attention: the engine's block selection against a slow plain-JS
// reading of the rule (docs/engine.md), a needle block that carries the attention mass, sparse
// equal to dense when top-k covers every block, and prefix-cache reuse equal to a cold run; the F16
// cache's selection; fillSynthetic (benchmarks' long contexts) and its refusals.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { NativeEngine } from '../../dist/engine/engine.js';
import { native } from '../../dist/engine/native.js';
import { gguf } from '../../dist/engine/modelfile/gguf-value.js';
import { lastLogits, prompts, rewriteGguf, synth, tempDir } from './parity-support.js';

const DEFAULTS = { topk: 64, kernelSize: 32, kernelStride: 16, initBlocks: 1, windowSize: 2048 };
const BLOCK = 64;

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 4294967296;
  };
}

/** The selection rule, written plainly: blocks chosen for a query at the last key's position. */
function referenceSelect(keys, queries, kvHeads, headDim, options = {}) {
  const o = { ...DEFAULTS, ...options };
  const n = keys.length / (kvHeads * headDim);
  const group = queries.length / (kvHeads * headDim);
  const pos = n - 1;
  const own = Math.floor(pos / BLOCK);
  const nCand = Math.max(0, own - o.windowSize / BLOCK + 1);
  const scale = 1 / Math.sqrt(headDim);
  const key = (p, g, i) => keys[(p * kvHeads + g) * headDim + i];
  const mean = (g, first, count) => {
    const m = new Float64Array(headDim);
    for (let p = first; p < first + count; p++) for (let i = 0; i < headDim; i++) m[i] += key(p, g, i);
    return m.map((v) => v / count);
  };
  const dot = (q, v) => q.reduce((s, x, i) => s + x * v[i], 0);
  const blocks = [];
  for (let g = 0; g < kvHeads; g++) {
    if (o.topk >= nCand) {
      blocks.push(Array.from({ length: nCand }, (_, b) => b));
      continue;
    }
    const qs = Array.from({ length: group }, (_, h) => queries.subarray((g * group + h) * headDim, (g * group + h + 1) * headDim));
    // Coarse keys (4x kernel and stride) visible at pos: only the softmax normaliser.
    const lse = qs.map((q) => {
      const xs = [];
      for (let j = 0; 4 * o.kernelStride * j + 4 * o.kernelSize - 1 <= pos; j++)
        xs.push(dot(q, mean(g, 4 * o.kernelStride * j, 4 * o.kernelSize)) * scale);
      if (xs.length === 0) return 0;
      const m = Math.max(...xs);
      return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
    });
    const kernelScore = new Map();
    for (let j = 0; o.kernelStride * j + o.kernelSize - 1 <= pos; j++) {
      const k1 = mean(g, o.kernelStride * j, o.kernelSize);
      kernelScore.set(j, qs.reduce((s, q, h) => s + Math.exp(dot(q, k1) * scale - lse[h]), 0));
    }
    const score = [];
    for (let b = 0; b < nCand; b++) {
      if (b < o.initBlocks) {
        score.push(Infinity);
        continue;
      }
      let m = -Infinity;
      for (const [j, s] of kernelScore) {
        const first = o.kernelStride * j;
        if (first <= BLOCK * b + BLOCK - 1 && first + o.kernelSize - 1 >= BLOCK * b) m = Math.max(m, s);
      }
      score.push(m);
    }
    const order = score.map((s, b) => b).sort((a, b) => score[b] - score[a] || a - b || 0);
    blocks.push(order.slice(0, o.topk).sort((a, b) => a - b).filter((b) => b < own));
  }
  return { blocks, windowFirst: nCand };
}

function randomCase(seed, n, kvHeads, group, headDim) {
  const rand = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  // Keys drift slowly with position so compressed keys differ from block to block.
  const keys = new Float32Array(n * kvHeads * headDim);
  const drift = Array.from({ length: kvHeads * headDim }, () => gauss());
  for (let p = 0; p < n; p++)
    for (let i = 0; i < kvHeads * headDim; i++) {
      if (p % 97 === 0) drift[i] = 0.7 * drift[i] + 0.7 * gauss();
      keys[p * kvHeads * headDim + i] = drift[i] + 0.5 * gauss();
    }
  const queries = Float32Array.from({ length: kvHeads * group * headDim }, () => gauss());
  return { keys, queries };
}

test('the engine chooses the same blocks as the plain-JS rule (random inputs, several shapes)', () => {
  const cases = [
    { n: 5000, kvHeads: 1, group: 1, headDim: 16, options: { topk: 8, windowSize: 512 } },
    { n: 9000, kvHeads: 2, group: 8, headDim: 64, options: {} },
    { n: 3111, kvHeads: 3, group: 2, headDim: 32, options: { topk: 5, windowSize: 128, initBlocks: 2 } },
    { n: 2048 + 700, kvHeads: 2, group: 4, headDim: 24, options: { topk: 3, windowSize: 64, initBlocks: 0 } },
    { n: 1500, kvHeads: 1, group: 3, headDim: 16, options: { topk: 4, windowSize: 64, kernelSize: 16, kernelStride: 8 } },
    { n: 600, kvHeads: 2, group: 2, headDim: 8, options: { topk: 100, windowSize: 64 } },
  ];
  let scored = 0;
  for (const [i, c] of cases.entries()) {
    const { keys, queries } = randomCase(100 + i, c.n, c.kvHeads, c.group, c.headDim);
    const expected = referenceSelect(keys, queries, c.kvHeads, c.headDim, c.options);
    const actual = native.sparseSelect(keys, queries, c.kvHeads, c.headDim, c.options);
    assert.equal(actual.windowFirst, expected.windowFirst, `case ${i}: window`);
    assert.deepEqual(actual.blocks.map((b) => Array.from(b)), expected.blocks, `case ${i}: chosen blocks`);
    if (expected.blocks[0].length < expected.windowFirst) scored++;
  }
  assert.ok(scored >= 4, 'most cases choose a strict subset of the blocks');
});

test('an F16 KV cache (keys kept dims-major) chooses the rule\'s blocks when F16 holds the keys and their means exactly', () => {
  // Keys rounded to whole numbers in [-8, 8]: sums of 32 or 128 of them divided by 32 or 128
  // are exact in F16 too, so the F16 cache's compressed keys equal the reference's.
  const cases = [
    { n: 9000, kvHeads: 2, group: 8, headDim: 64, options: {} },
    { n: 3111, kvHeads: 3, group: 2, headDim: 32, options: { topk: 5, windowSize: 128, initBlocks: 2 } },
  ];
  for (const [i, c] of cases.entries()) {
    const { keys, queries } = randomCase(200 + i, c.n, c.kvHeads, c.group, c.headDim);
    const whole = keys.map((v) => Math.max(-8, Math.min(8, Math.round(3 * v))));
    const expected = referenceSelect(whole, queries, c.kvHeads, c.headDim, c.options);
    assert.ok(expected.blocks[0].length < expected.windowFirst, `case ${i} scores blocks`);
    const actual = native.sparseSelect(whole, queries, c.kvHeads, c.headDim, { ...c.options, kvType: 'f16' });
    assert.deepEqual(actual.blocks.map((b) => Array.from(b)), expected.blocks, `case ${i}`);
  }
});

test('blocks with equal scores are taken lowest first, as the rule says', () => {
  // Every key the same: every kernel scores the same, so all candidate blocks tie.
  const kvHeads = 2, group = 4, headDim = 16, n = 4000, options = { topk: 6, windowSize: 256 };
  const keys = new Float32Array(n * kvHeads * headDim).fill(0.25);
  const { queries } = randomCase(7, 1, kvHeads, group, headDim);
  const expected = referenceSelect(keys, queries, kvHeads, headDim, options);
  assert.deepEqual(expected.blocks, [[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]);
  for (const kvType of ['f32', 'f16']) {
    const actual = native.sparseSelect(keys, queries, kvHeads, headDim, { ...options, kvType });
    assert.deepEqual(actual.blocks.map((b) => Array.from(b)), expected.blocks, kvType);
  }
});

test('a distant block that carries the attention mass is chosen (needle)', () => {
  const headDim = 32, n = 6000, needle = 17;
  const rand = rng(5);
  const dir = Float32Array.from({ length: headDim }, () => rand() - 0.5);
  const keys = Float32Array.from({ length: n * headDim }, () => 0.2 * (rand() - 0.5));
  for (let p = needle * BLOCK; p < (needle + 1) * BLOCK; p++) for (let i = 0; i < headDim; i++) keys[p * headDim + i] += 4 * dir[i];
  const queries = Float32Array.from(dir, (v) => 2 * v);
  // Init block plus one: the needle must win over every other block outside the window, from
  // an F32 or an F16 cache.
  for (const kvType of ['f32', 'f16']) {
    const chosen = native.sparseSelect(keys, queries, 1, headDim, { topk: 2, windowSize: 512, kvType });
    assert.deepEqual(Array.from(chosen.blocks[0]), [0, needle], kvType);
  }
  // And it is the rule's choice, not an accident of the setup: without the needle, another block wins.
  const plain = native.sparseSelect(keys.map((v, i) => (Math.floor(i / headDim / BLOCK) === needle ? 0.2 * (rand() - 0.5) : v)), queries, 1, headDim, { topk: 2, windowSize: 512 });
  assert.notDeepEqual(Array.from(plain.blocks[0]), [0, needle]);
});

const tmp = tempDir();
let model;
before(() => {
  model = synth(tmp.dir, 'llama', 'f32');
});
after(() => tmp.cleanup());

// Small options so a tiny model runs sparse attention on a few hundred tokens.
const SMALL = { windowSize: 128, denseLen: 256, initBlocks: 1 };
const load = (sparse, opts = {}) =>
  NativeEngine.load(model.path, { kvCacheType: 'f32', contextSize: 2048, batchSize: 128, sparse, ...opts });
const tokens = (length, seed) => prompts(model.shape.vocab, seed + 1, length)[seed];


function maxDiff(a, b) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('sparse attention equals dense when top-k covers every block; a small top-k attends less', async () => {
  const prompt = tokens(700, 0);
  const dense = await load(false);
  const full = await load({ ...SMALL, topk: 1000 });
  const small = await load({ ...SMALL, topk: 2 });
  try {
    assert.equal(dense.info().sparse, null);
    assert.equal(full.info().sparse.topk, 1000);
    const expected = await lastLogits(dense, prompt);
    const same = await lastLogits(full, prompt);
    const scale = Math.max(...expected.map(Math.abs));
    assert.ok(maxDiff(same, expected) <= 1e-5 * scale, `max diff ${maxDiff(same, expected)}`);
    assert.equal(full.stats().attendedFraction, 1);
    const sparse = await lastLogits(small, prompt);
    assert.ok(small.stats().attendedFraction < 0.8, `attended ${small.stats().attendedFraction}`);
    assert.ok(maxDiff(sparse, expected) > 1e-4 * scale, 'a small top-k changes the result');
  } finally {
    await Promise.all([dense.close(), full.close(), small.close()]);
  }
});

test("stats().phaseMs splits the forward passes' time into matmuls, selection, attention and the rest", async () => {
  const engine = await load({ ...SMALL, topk: 2 });
  try {
    const before = engine.stats().phaseMs;
    const start = performance.now();
    await lastLogits(engine, tokens(700, 1), [600, 1, 1, 98]);
    const wall = performance.now() - start;
    const after = engine.stats().phaseMs;
    const spent = Object.keys(after).map((k) => [k, after[k] - before[k]]);
    assert.deepEqual(spent.map(([k]) => k).sort(), ['attention', 'matmul', 'other', 'selection']);
    for (const [k, ms] of spent) assert.ok(ms > 0, `${k}: ${ms} ms`);
    const total = spent.reduce((t, [, ms]) => t + ms, 0);
    assert.ok(total <= wall, `phases ${total} ms within the evals' ${wall} ms`);
  } finally {
    await engine.close();
  }
});

test('with sparse attention, prefix-cache reuse and chunking give the logits of a cold run', async () => {
  const shared = tokens(640, 1);
  const prompt = [...shared, ...tokens(300, 2)];
  const options = { ...SMALL, topk: 3 };
  const cold = await load(options);
  const warm = await load(options);
  try {
    const expected = await lastLogits(cold, prompt);
    assert.equal(cold.stats().hitTokens, 0);
    await lastLogits(warm, [...shared, ...tokens(200, 3)]);
    // Chunks of 2+ tokens: a single-token eval sums in llama.cpp's one-token orders (docs/engine.md),
    // which round differently from a batch's.
    const reused = await lastLogits(warm, prompt, [500, 2, 438]);
    assert.equal(warm.stats().hitTokens, 448, 'whole blocks of the first chunk come from the cache');
    assert.equal(maxDiff(reused, expected), 0);
  } finally {
    await Promise.all([cold.close(), warm.close()]);
  }
});

test('a model file that declares sparse attention (<arch>.sparse.* keys) turns it on', async () => {
  const declared = rewriteGguf(model.path, `${tmp.dir}/declared.gguf`, (metadata) => {
    metadata.set('llama.sparse.topk', gguf.u32(5));
    metadata.set('llama.sparse.window_size', gguf.u32(256));
    metadata.set('llama.sparse.use_nope', gguf.bool(false));
  });
  const on = await NativeEngine.load(declared, { contextSize: 512 });
  const off = await NativeEngine.load(declared, { contextSize: 512, sparse: false });
  const tuned = await NativeEngine.load(declared, { contextSize: 512, sparse: { denseLen: 64 } });
  try {
    assert.deepEqual(on.info().sparse, { topk: 5, kernelSize: 32, kernelStride: 16, initBlocks: 1, blockSize: 64, windowSize: 256, denseLen: 8192 });
    assert.equal(off.info().sparse, null);
    assert.equal(tuned.info().sparse.topk, 5);
    assert.equal(tuned.info().sparse.denseLen, 64);
  } finally {
    await Promise.all([on.close(), off.close(), tuned.close()]);
  }
  const nope = rewriteGguf(model.path, `${tmp.dir}/nope.gguf`, (metadata) => {
    metadata.set('llama.sparse.use_nope', gguf.bool(true));
  });
  await assert.rejects(NativeEngine.load(nope, { contextSize: 512 }), /use_nope .* not supported/);
  const plain = await NativeEngine.load(nope, { contextSize: 512, sparse: false });
  await plain.close();
  const badBlock = rewriteGguf(model.path, `${tmp.dir}/bad-block.gguf`, (metadata) => {
    metadata.set('llama.sparse.block_size', gguf.u32(32));
  });
  await assert.rejects(NativeEngine.load(badBlock, { contextSize: 512 }), /block_size must be 64/);
  const hugeTopk = rewriteGguf(model.path, `${tmp.dir}/huge-topk.gguf`, (metadata) => {
    metadata.set('llama.sparse.topk', { type: 'u64', value: 2n ** 40n });
  });
  await assert.rejects(NativeEngine.load(hugeTopk, { contextSize: 512 }), /llama\.sparse\.topk = \d+ is too large/);
});

test('sparse options are checked by name', async () => {
  await assert.rejects(load({ topK: 3 }), /sparse\.topK is unknown/);
  await assert.rejects(load({ windowSize: 100 }), /window_size must be a positive multiple/);
});

test('sparseSelect checks its arguments', () => {
  const keys = new Float32Array(200 * 16), queries = new Float32Array(16);
  assert.throws(() => native.sparseSelect(new Float64Array(16), queries, 1, 16), /keys must be a Float32Array/);
  assert.throws(() => native.sparseSelect(keys.subarray(0, 15), queries, 1, 16), /keys must hold/);
  assert.throws(() => native.sparseSelect(keys, new Float32Array(15), 1, 16), /queries must hold/);
  assert.throws(() => native.sparseSelect(keys, queries, 1, 16, 'fast'), /options must be an object/);
  assert.throws(() => native.sparseSelect(keys, queries, 1, 16, { topk: -1 }), /options\.topk must be a non-negative integer/);
  assert.throws(() => native.sparseSelect(keys, queries, 1, 16, { windowSize: 100 }), /window_size must be a positive multiple/);
  assert.throws(() => native.sparseSelect(keys, queries, 1, 16, { kvType: 'bf16' }), /kvType must be 'f32' or 'f16'/);
  assert.throws(() => native.sparseSelect(keys, queries, 1, 16, { kvType: 16 }), /kvType must be 'f32' or 'f16'/);
});

test('fillSynthetic fills an empty session for long-context decode; bad sizes and reuse are refused', async () => {
  const options = [{ ...SMALL, topk: 2 }, { kvCacheType: 'f16' }];
  const decode = async (engine) => {
    const session = engine.session();
    await session.fillSynthetic(1000, 3);
    const before = engine.stats();
    const stream = session.generate([5], { maxTokens: 4, temperature: 0, ignoreEos: true });
    const pieces = [];
    for await (const piece of stream) pieces.push(piece);
    assert.equal((await stream.stats).generatedTokens, 4);
    const after = engine.stats();
    return { session, pieces, attended: (after.attendedKeys - before.attendedKeys) / (after.causalKeys - before.causalKeys) };
  };
  const a = await load(...options);
  const b = await load(...options);
  try {
    const first = await decode(a);
    const second = await decode(b);
    assert.deepEqual(second.pieces, first.pieces, 'the same seed fills the same keys and values');
    assert.ok(first.attended < 0.8, `sparse selection over the filled blocks (attended ${first.attended})`);
    await assert.rejects(first.session.fillSynthetic(10), /empty sequence/);
    const fresh = a.session();
    // Bad arguments throw at the call (as eval's do); the engine's own refusals reject.
    assert.throws(() => fresh.fillSynthetic(0), /nTokens must be an integer in 1\.\.1048576/);
    assert.throws(() => fresh.fillSynthetic(2.5), /nTokens must be an integer/);
    assert.throws(() => fresh.fillSynthetic(10, -1), /seed must be an integer/);
    await assert.rejects(fresh.fillSynthetic(4096), /context size of 2048/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
