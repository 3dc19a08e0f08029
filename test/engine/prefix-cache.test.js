// The KV prefix cache: a prompt that shares whole 64-token blocks with an earlier one computes
// only the rest (stats prove it) and gives the same logits as a cold run on a fresh engine;
// sequences share blocks while both are live; a small pool evicts only free cached blocks and
// refuses a prompt that cannot fit without touching a live sequence.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { NativeEngine } from '../../dist/engine/engine.js';
import { lastLogits, prompts, synth, tempDir } from './parity-support.js';

const BLOCK = 64;
const tmp = tempDir();
let model;

before(() => {
  model = synth(tmp.dir, 'llama', 'f32');
});

after(() => tmp.cleanup());

const load = (opts = {}) => NativeEngine.load(model.path, { kvCacheType: 'f32', contextSize: 1024, ...opts });
const tokens = (length, seed) => prompts(model.shape.vocab, seed + 1, length)[seed];

// Logits of the last token after evaluating `seqTokens` in a fresh session of a fresh engine.
async function coldLogits(seqTokens, chunks = [seqTokens.length]) {
  const engine = await load();
  try {
    const logits = await lastLogits(engine, seqTokens, chunks);
    assert.equal(engine.stats().hitTokens, 0);
    return logits;
  } finally {
    await engine.close();
  }
}

function assertSameLogits(actual, expected, what) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: logit ${i} is ${actual[i]}, cold run gives ${expected[i]}`);
  }
}

test('a prompt sharing whole blocks with an earlier one computes only its suffix, with cold logits', async () => {
  const engine = await load();
  try {
    const shared = tokens(200, 0);
    const first = [...shared, ...tokens(40, 1)];
    const second = [...shared, ...tokens(70, 2)];
    const s1 = engine.session();
    await s1.eval(first, 'last');
    assert.deepEqual(engine.stats().lastPrompt, { hitTokens: 0, computedTokens: first.length });
    await s1.close();
    const stats = engine.stats();
    assert.equal(stats.blocksInUse, 0);
    assert.equal(stats.blocksCached, 3, 'the 3 full blocks of the first prompt stay cached');

    const s2 = engine.session();
    const warm = await s2.eval(second, 'last');
    await s2.close();
    // 200 shared tokens = 3 full blocks (192 tokens); the rest is computed.
    assert.deepEqual(engine.stats().lastPrompt, { hitTokens: 192, computedTokens: second.length - 192 });
    assertSameLogits(warm, await coldLogits(second), 'warm vs cold');
  } finally {
    await engine.close();
  }
});

test('the block holding the last prompt token is never reused', async () => {
  const engine = await load();
  try {
    const prompt = tokens(3 * BLOCK, 3); // exactly 3 blocks
    const a = engine.session();
    await a.eval(prompt, 'last');
    await a.close();
    const b = engine.session();
    const warm = await b.eval(prompt, 'last');
    await b.close();
    // floor((192 - 1) / 64) = 2 blocks reused; the third holds the token whose logits are wanted.
    assert.deepEqual(engine.stats().lastPrompt, { hitTokens: 128, computedTokens: 64 });
    assertSameLogits(warm, await coldLogits(prompt), 'same prompt again');
  } finally {
    await engine.close();
  }
});

test('a sequence diverging mid-block reuses the full block and recomputes the partial one', async () => {
  const engine = await load();
  try {
    const shared = tokens(100, 4);
    const first = [...shared, ...tokens(60, 5)];
    const second = [...shared, ...tokens(60, 6)];
    const a = engine.session();
    await a.eval(first, 'last');
    await a.close();
    const b = engine.session();
    const warm = await b.eval(second, 'last');
    await b.close();
    assert.deepEqual(engine.stats().lastPrompt, { hitTokens: 64, computedTokens: 96 });
    assertSameLogits(warm, await coldLogits(second), 'diverged at 100');
  } finally {
    await engine.close();
  }
});

test('interleaved live sequences share a prefix and each continue like a cold run', async () => {
  const engine = await load();
  try {
    const shared = tokens(150, 7);
    const tailA = tokens(90, 8);
    const tailB = tokens(90, 9);
    const a = engine.session();
    const b = engine.session();
    await a.eval([...shared, ...tailA.slice(0, 30)], 'last');
    await b.eval([...shared, ...tailB.slice(0, 30)], 'last');
    assert.deepEqual(engine.stats().lastPrompt, { hitTokens: 128, computedTokens: 52 });
    assert.equal(engine.stats().blocksInUse, 4, 'two shared blocks plus one own tail block each');
    // Alternate appends: each writes only its own tail blocks.
    let lastA;
    let lastB;
    for (let at = 30; at < 90; at += 20) {
      lastA = await a.eval(tailA.slice(at, at + 20), 'last');
      lastB = await b.eval(tailB.slice(at, at + 20), 'last');
    }
    const chunks = [180, 20, 20, 20];
    assertSameLogits(lastA, await coldLogits([...shared, ...tailA], chunks), 'sequence A');
    assertSameLogits(lastB, await coldLogits([...shared, ...tailB], chunks), 'sequence B');
    await a.close();
    await b.close();
    assert.equal(engine.stats().blocksInUse, 0);
  } finally {
    await engine.close();
  }
});

test('a small pool evicts free cached blocks, never a live sequence, and refuses a prompt that cannot fit', async () => {
  const info0 = await load();
  const blockBytes = BLOCK * info0.info().layers * 2 * info0.info().kvHeads * info0.info().headDim * 4;
  await info0.close();
  const engine = await load({ kvCacheMb: (8 * blockBytes) / 2 ** 20 });
  try {
    assert.equal(engine.stats().blocksTotal, 8);
    const live = tokens(200, 10);
    const more = tokens(80, 11);
    const session = engine.session();
    await session.eval(live, 'last'); // 4 blocks held by a live sequence
    const handle = engine['handle'];
    // Other prompts fill the remaining 4 blocks, then force evictions of cached ones.
    for (let i = 0; i < 3; i++) await handle.score(tokens(200, 12 + i), [5, 6]);
    let stats = engine.stats();
    assert.ok(stats.evictions > 0, 'cached blocks were evicted');
    assert.equal(stats.blocksInUse, 4);
    assert.equal(stats.blocksCached + stats.blocksEmpty, 4);
    // 5 blocks cannot fit next to the live sequence's 4.
    await assert.rejects(handle.score(tokens(300, 15), [5]), {
      message: /^KV cache is full: 4 blocks of 8 in use by live sequences; raise kvCacheMb/,
    });
    assert.equal(engine.stats().blocksInUse, 4);
    const logits = await session.eval(more, 'last');
    assertSameLogits(logits, await coldLogits([...live, ...more], [200, 80]), 'live sequence after pressure');
    await session.close();
    stats = engine.stats();
    assert.equal(stats.blocksInUse, 0);
    // The live sequence's 4 full blocks are cached now: the same prefix hits.
    await handle.score([...live, ...more, 7], [8]);
    assert.equal(engine.stats().lastPrompt.hitTokens, 256);
  } finally {
    await engine.close();
  }
});

test('a cached prefix outlives the suffixes hanging off it under eviction', async () => {
  const info0 = await load();
  const blockBytes = BLOCK * info0.info().layers * 2 * info0.info().kvHeads * info0.info().headDim * 4;
  await info0.close();
  const engine = await load({ kvCacheMb: (6 * blockBytes) / 2 ** 20 });
  try {
    const handle = engine['handle'];
    const prefix = tokens(128, 16);
    // Each prompt: the 2-block prefix, one full suffix block, one partial block.
    for (let i = 0; i < 4; i++) {
      await handle.score([...prefix, ...tokens(100, 17 + i)], [3]);
      if (i > 0) assert.equal(engine.stats().lastPrompt.hitTokens, 128, `prompt ${i} reuses the prefix`);
    }
    // An unrelated prompt needs 3 blocks: the oldest suffix blocks go, the shared prefix stays.
    await handle.score(tokens(150, 30), [3]);
    assert.ok(engine.stats().evictions >= 2);
    await handle.score([...prefix, ...tokens(100, 31)], [3]);
    assert.equal(engine.stats().lastPrompt.hitTokens, 128, 'the prefix survived');
  } finally {
    await engine.close();
  }
});

test('generate, score and embed through the TS API show prefix hits in stats()', async () => {
  const engine = await load();
  try {
    const library = Array.from({ length: 40 }, (_, i) => `Paper ${i} studies sparse attention and key value caches.`).join(' ');
    const libraryTokens = engine.tokenize(library).length;
    assert.ok(libraryTokens > 2 * BLOCK, `the library is ${libraryTokens} tokens`);
    const full = Math.floor((libraryTokens - 1) / BLOCK) * BLOCK;

    const first = engine.generate(`${library} Section one:`, { maxTokens: 4, temperature: 0 });
    for await (const _ of first);
    assert.equal((await first.stats).cachedTokens, 0);

    const second = engine.generate(`${library} Section two:`, { maxTokens: 4, temperature: 0 });
    for await (const _ of second);
    const cached = (await second.stats).cachedTokens;
    assert.ok(cached >= full - BLOCK && cached % BLOCK === 0 && cached > 0, `generate reused ${cached} tokens`);
    assert.equal(engine.stats().lastPrompt.hitTokens, cached);

    await engine.score(`${library} Is this supported?`, ' Yes');
    assert.ok(engine.stats().lastPrompt.hitTokens > 0, 'score hits the library');

    // embed needs every position's hidden state: it computes cold but leaves its blocks cached.
    await engine.clearPrefixCache();
    assert.equal(engine.stats().blocksCached, 0);
    await engine.embed([library]);
    assert.equal(engine.stats().lastPrompt.hitTokens, 0);
    await engine.score(`${library} Another claim.`, ' No');
    assert.ok(engine.stats().lastPrompt.hitTokens > 0, 'blocks computed by embed are reused');
    const totals = engine.stats();
    assert.ok(totals.hitTokens > 0 && totals.computedTokens > 0);
  } finally {
    await engine.close();
  }
});

test('kvCacheMb too small for one block is a clear error', async () => {
  await assert.rejects(load({ kvCacheMb: 0.001 }), { message: /kvCacheMb .* holds no KV block/ });
});
