// `model synth` files load and run in llama.cpp (node-llama-cpp, the oracle): every architecture,
// every tensor type. Quantized files must give logits close to the F32 file of the same seed —
// a wrong block layout would give unrelated logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama } from 'node-llama-cpp';
import { synthModel, DEFAULT_VOCABS } from '../../dist/engine/modelfile/synth.js';
import { readGguf, readTensorBytes } from '../../dist/engine/modelfile/gguf-reader.js';
import { GgmlType } from '../../dist/engine/modelfile/ggml-types.js';
import { command } from '../../dist/cli/commands/model.js';
import { UsageError } from '../../dist/cli/command.js';

const dir = mkdtempSync(join(tmpdir(), 'litsurvey-synth-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
test.after(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = 'The quick brown fox jumps over the lazy dog.';

function synth(name, opts) {
  return synthModel({ out: join(dir, `${name}.gguf`), ...opts });
}

/** Tokens of TEXT and the logits at the last position, ordered by token id. */
async function run(path) {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const tokens = Array.from(model.tokenize(TEXT));
    const ctx = await model.createContext({ contextSize: 128, batchSize: 32, flashAttention: false });
    try {
      const seq = ctx.getSequence();
      const res = await seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
      const map = res.at(-1).next.logits;
      const logits = new Float64Array(map.size);
      for (const [id, v] of map) logits[id] = v;
      return { tokens, logits };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

async function vocabTokens(path) {
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  try {
    return Array.from(model.tokenize(TEXT));
  } finally {
    await model.dispose();
  }
}

function correlation(a, b) {
  let ma = 0, mb = 0;
  for (let i = 0; i < a.length; i++) { ma += a[i]; mb += b[i]; }
  ma /= a.length; mb /= b.length;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function assertSane(logits, vocab, label) {
  assert.equal(logits.length, vocab, `${label}: one logit per token`);
  let sq = 0;
  for (const v of logits) {
    assert.ok(Number.isFinite(v), `${label}: finite logits`);
    sq += v * v;
  }
  const rms = Math.sqrt(sq / logits.length);
  assert.ok(rms > 0.05 && rms < 100, `${label}: logit RMS ${rms} is not degenerate`);
}

// One type per architecture here; the types themselves are covered on llama below.
for (const [arch, type] of [['llama', 'f32'], ['minicpm', 'f32'], ['qwen2', 'q4_0'], ['qwen3', 'q6_k']]) {
  test(`${arch}: ${type} synth loads, tokenizes like its vocabulary and evaluates`, async () => {
    const r = synth(`${arch}-${type}`, { arch, type });
    const f = readGguf(r.path);
    assert.equal(f.metadata.get('general.architecture').value, arch);
    assert.equal(f.metadata.get(`${arch}.embedding_length`).value, type === 'q6_k' ? 256 : 64);
    assert.ok(f.tensors.some((t) => t.name === 'output.weight'));
    if (arch === 'qwen2') assert.ok(f.tensors.some((t) => t.name === 'blk.1.attn_k.bias'));
    if (arch === 'qwen3') assert.ok(f.tensors.some((t) => t.name === 'blk.0.attn_q_norm.weight'));
    if (arch === 'minicpm') {
      assert.equal(f.metadata.get('minicpm.embedding_scale').value, 12);
      assert.ok(Math.abs(f.metadata.get('minicpm.residual_scale').value - 1.4 / Math.sqrt(2)) < 1e-6);
      assert.equal(f.metadata.get('minicpm.logit_scale').value, 4);
    }
    const { tokens, logits } = await run(r.path);
    assert.deepEqual(tokens, await vocabTokens(DEFAULT_VOCABS[arch]));
    assertSane(logits, r.shape.vocab, arch);
  });
}

test('llama: quantized files give logits close to the F32 file of the same seed', async () => {
  const cases = [
    ['tiny', 'f16', 0.999], ['tiny', 'bf16', 0.99], ['tiny', 'q8_0', 0.99], ['tiny', 'q4_0', 0.9],
    ['tiny-k', 'q4_k', 0.9], ['tiny-k', 'q4_k_m', 0.9], ['tiny-k', 'q6_k', 0.98],
  ];
  // Q4_K_M: Q6_K for the output and, of 2 layers, layer 1's attn_v and ffn_down (llama.cpp's rule).
  const q6InQ4KM = new Set(['output.weight', 'blk.1.attn_v.weight', 'blk.1.ffn_down.weight']);
  const reference = {};
  for (const shape of ['tiny', 'tiny-k']) reference[shape] = (await run(synth(`ref-${shape}`, { arch: 'llama', type: 'f32', shape, seed: 5 }).path)).logits;
  for (const [shape, type, minCorr] of cases) {
    const r = synth(`llama-${type}`, { arch: 'llama', type, shape, seed: 5 });
    const f = readGguf(r.path);
    for (const t of f.tensors) {
      const want = t.dims.length === 1 ? GgmlType.F32
        : type === 'q4_k_m' ? (q6InQ4KM.has(t.name) ? GgmlType.Q6_K : GgmlType.Q4_K)
        : GgmlType[type.toUpperCase()];
      assert.equal(t.type, want, `${type}: ${t.name} stored as ${t.type}`);
    }
    const { logits } = await run(r.path);
    assertSane(logits, r.shape.vocab, type);
    const corr = correlation(logits, reference[shape]);
    assert.ok(corr >= minCorr, `${type}: correlation with F32 logits ${corr} < ${minCorr}`);
  }
});

test('K-quant types on the 64-wide tiny shape fall back to Q8_0 for rows that do not fit', async () => {
  const r = synth('llama-q4k-tiny', { arch: 'llama', type: 'q4_k', shape: 'tiny' });
  const types = new Set(readGguf(r.path).tensors.filter((t) => t.dims.length === 2).map((t) => t.type));
  assert.deepEqual([...types], [GgmlType.Q8_0]);
  assertSane((await run(r.path)).logits, r.shape.vocab, 'q4_k on tiny');
});

test('minicpm with tied embeddings and LongRoPE factors', async () => {
  const r = synth('minicpm-rf', { arch: 'minicpm', type: 'q8_0', tied: true, ropeFactors: true, seed: 3 });
  const f = readGguf(r.path);
  assert.equal(f.tensors.some((t) => t.name === 'output.weight'), false);
  const rope = f.tensors.find((t) => t.name === 'rope_freqs.weight');
  assert.deepEqual(rope.dims, [8]);
  const factors = new Float32Array(readTensorBytes(f, 'rope_freqs.weight').slice().buffer);
  assert.equal(factors[0], 1);
  assert.equal(factors[7], 16);
  const withFactors = await run(r.path);
  assertSane(withFactors.logits, r.shape.vocab, 'minicpm rope factors');
  // llama.cpp applies the factors: the same weights without them give different logits.
  const plain = await run(synth('minicpm-tied', { arch: 'minicpm', type: 'q8_0', tied: true, seed: 3 }).path);
  assert.ok(correlation(plain.logits, withFactors.logits) < 0.9999);
  assert.throws(() => synth('qwen-rf', { arch: 'qwen2', type: 'f32', ropeFactors: true }), /apply to llama and minicpm only, not qwen2/);
});

test('minicpm4-0.5b shape: the real config and tokenizer, LongRoPE factors from the config', async () => {
  const r = synth('minicpm4', { type: 'q4_0', shape: 'minicpm4-0.5b', layers: 1 });
  const f = readGguf(r.path);
  const meta = (k) => f.metadata.get(k)?.value;
  assert.equal(meta('general.architecture'), 'minicpm');
  assert.deepEqual(
    ['embedding_length', 'attention.head_count', 'attention.head_count_kv', 'feed_forward_length', 'vocab_size', 'block_count'].map((k) => meta(`minicpm.${k}`)),
    [1024, 16, 2, 4096, 73448, 1],
  );
  assert.ok(Math.abs(meta('minicpm.residual_scale') - 1.4) < 1e-6);
  assert.equal(meta('minicpm.logit_scale'), 4);
  assert.equal(meta('tokenizer.ggml.eos_token_id'), 73440);
  assert.equal(f.tensors.some((t) => t.name === 'output.weight'), false, 'tied, as transformers defaults');
  const factors = new Float32Array(readTensorBytes(f, 'rope_freqs.weight').slice().buffer);
  assert.equal(factors.length, 32);
  assert.equal(factors[31], Math.fround(49.85338592529297));
  const model = await llama.loadModel({ modelPath: r.path, vocabOnly: true });
  try {
    // The ids the SentencePiece library gives with MiniCPM4's tokenizer.model.
    assert.deepEqual(Array.from(model.tokenize('Hello world, this is a test.')), [15934, 2809, 59342, 1536, 1410, 1348, 2076, 72]);
  } finally {
    await model.dispose();
  }
  assertSane((await run(r.path)).logits, 73448, 'minicpm4-0.5b');
});

test('same seed gives the same file; another seed does not; --layers and --vocab apply', () => {
  const a = readFileSync(synth('det-a', { arch: 'llama', type: 'q4_0', seed: 9 }).path);
  const b = readFileSync(synth('det-b', { arch: 'llama', type: 'q4_0', seed: 9 }).path);
  const c = readFileSync(synth('det-c', { arch: 'llama', type: 'q4_0', seed: 10 }).path);
  assert.ok(a.equals(b));
  assert.ok(!a.equals(c));
  const r = synth('layers', { arch: 'llama', type: 'f32', layers: 3, vocab: DEFAULT_VOCABS.qwen2 });
  const f = readGguf(r.path);
  assert.equal(f.metadata.get('llama.block_count').value, 3);
  assert.ok(f.tensors.some((t) => t.name === 'blk.2.ffn_down.weight'));
  assert.equal(f.metadata.get('tokenizer.ggml.model').value, 'gpt2');
});

test('CLI: help, and clear usage errors', async () => {
  const synthCmd = command.subcommands.find((c) => c.name === 'synth');
  assert.match(synthCmd.help, /--rope-factors/);
  await assert.rejects(synthCmd.run(['--type', 'q5_k', join(dir, 'x.gguf')]), (e) => e instanceof UsageError && /unknown tensor type "q5_k"/.test(e.message));
  await assert.rejects(synthCmd.run(['--arch', 'gpt9', join(dir, 'x.gguf')]), (e) => e instanceof UsageError && /unsupported architecture "gpt9"/.test(e.message));
  await assert.rejects(synthCmd.run([]), UsageError);
  await assert.rejects(synthCmd.run(['--layers', 'many', join(dir, 'x.gguf')]), /--layers must be/);
  await assert.rejects(synthCmd.run(['--shape', join(dir, 'missing.json'), join(dir, 'x.gguf')]), /does not exist/);
  assert.equal(await synthCmd.run(['--arch', 'qwen3', '--type', 'bf16', '--seed', '4', join(dir, 'cli.gguf')]), 0);
  assert.equal(readGguf(join(dir, 'cli.gguf')).metadata.get('general.architecture').value, 'qwen3');
});
