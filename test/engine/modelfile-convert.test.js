// `model convert`: a Hugging Face MiniCPM folder (the real MiniCPM4-0.5B config and tokenizer,
// shrunk to 2 layers of width 256, with seeded random safetensors written here) is converted and
// run in llama.cpp (node-llama-cpp). Its logits must match a JavaScript forward pass of the
// Hugging Face model (rotate-half RoPE on the unpermuted weights, LongRoPE factors, MiniCPM
// scales), which checks the Q/K permutation, the scale keys and rope_freqs.weight together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama } from 'node-llama-cpp';
import { convertHfModel, convertTokenizer } from '../../dist/engine/modelfile/convert.js';
import { readGguf, readTensorBytes } from '../../dist/engine/modelfile/gguf-reader.js';
import { GgmlType } from '../../dist/engine/modelfile/ggml-types.js';
import { quantize, f32ToBf16, bf16ToF32 } from '../../dist/engine/modelfile/quantize.js';
import { Rng } from '../../dist/engine/modelfile/synth.js';
import { command } from '../../dist/cli/commands/model.js';

const SHARED = new URL('../../../shared/models/minicpm4-0.5b/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'litsurvey-convert-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
test.after(() => rmSync(dir, { recursive: true, force: true }));

const HIDDEN = 256, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 64, FFN = 512, LAYERS = 2, VOCAB = 73448;
const DIM_MODEL_BASE = 64;
const SPARSE = { kernel_size: 32, kernel_stride: 16, init_blocks: 1, block_size: 64, window_size: 2048, topk: 64, use_nope: false, dense_len: 8192 };

/** Writes a .safetensors file; tensors: [{ name, dtype: 'F32'|'BF16', shape, values: Float32Array }]. */
function writeSafetensors(path, tensors) {
  const header = {};
  const blobs = [];
  let offset = 0;
  for (const t of tensors) {
    let bytes;
    if (t.dtype === 'F32') {
      bytes = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    } else {
      bytes = Buffer.alloc(t.values.length * 2);
      for (let i = 0; i < t.values.length; i++) bytes.writeUInt16LE(f32ToBf16(t.values[i]), 2 * i);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  header.__metadata__ = { format: 'pt' };
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, ...blobs]));
}

/** Seeded HF-layout weights ([out, in] row-major), rounded to what their dtype stores. */
function makeWeights() {
  const rng = new Rng(42);
  const w = {};
  const mat = (name, rows, cols, std, dtype = 'F32') => {
    const v = new Float32Array(rows * cols);
    for (let i = 0; i < v.length; i++) v[i] = std * rng.normal();
    if (dtype === 'BF16') for (let i = 0; i < v.length; i++) v[i] = bf16ToF32(f32ToBf16(v[i]));
    w[name] = { name, dtype, shape: cols === 1 ? [rows] : [rows, cols], values: v };
  };
  const norm = (name, n) => {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = 1 + 0.1 * rng.normal();
    w[name] = { name, dtype: 'F32', shape: [n], values: v };
  };
  mat('model.embed_tokens.weight', VOCAB, HIDDEN, 1 / 12, 'BF16');
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`, HIDDEN);
    mat(`${p}self_attn.q_proj.weight`, HEADS * HEAD_DIM, HIDDEN, 1 / 16);
    mat(`${p}self_attn.k_proj.weight`, KV_HEADS * HEAD_DIM, HIDDEN, 1 / 16);
    mat(`${p}self_attn.v_proj.weight`, KV_HEADS * HEAD_DIM, HIDDEN, 1 / 16, 'BF16');
    mat(`${p}self_attn.o_proj.weight`, HIDDEN, HEADS * HEAD_DIM, 1 / 16);
    norm(`${p}post_attention_layernorm.weight`, HIDDEN);
    mat(`${p}mlp.gate_proj.weight`, FFN, HIDDEN, 1 / 16);
    mat(`${p}mlp.up_proj.weight`, FFN, HIDDEN, 1 / 16);
    mat(`${p}mlp.down_proj.weight`, HIDDEN, FFN, 1 / Math.sqrt(FFN));
  }
  norm('model.norm.weight', HIDDEN);
  mat('lm_head.weight', VOCAB, HIDDEN, 0.5, 'BF16');
  return w;
}

function writeHfFolder(path, weights, configChanges = {}) {
  mkdirSync(path, { recursive: true });
  for (const f of ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'generation_config.json']) {
    copyFileSync(join(SHARED, f), join(path, f));
  }
  const config = JSON.parse(readFileSync(join(SHARED, 'config.json'), 'utf8'));
  Object.assign(config, {
    hidden_size: HIDDEN, num_attention_heads: HEADS, num_key_value_heads: KV_HEADS, intermediate_size: FFN,
    num_hidden_layers: LAYERS, dim_model_base: DIM_MODEL_BASE, sparse_config: SPARSE, ...configChanges,
  });
  writeFileSync(join(path, 'config.json'), JSON.stringify(config, null, 2));
  if (weights) {
    const all = Object.values(weights);
    const embedAndHead = all.filter((t) => t.name === 'model.embed_tokens.weight' || t.name === 'lm_head.weight');
    writeSafetensors(join(path, 'model-00001-of-00002.safetensors'), embedAndHead);
    writeSafetensors(join(path, 'model-00002-of-00002.safetensors'), all.filter((t) => !embedAndHead.includes(t)));
  }
  return config;
}

// ---- reference forward pass of the Hugging Face MiniCPM model ----

function matvec(W, x, rows, cols) {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += W[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsNorm(x, w, eps) {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]);
}

/** HF rotate_half RoPE on one head vector, with LongRoPE factors dividing the frequencies. */
function rope(vec, pos, factors, base) {
  const half = vec.length / 2;
  const out = new Float64Array(vec.length);
  for (let i = 0; i < half; i++) {
    const theta = pos / (factors[i] * base ** ((2 * i) / vec.length));
    const c = Math.cos(theta), s = Math.sin(theta);
    out[i] = vec[i] * c - vec[i + half] * s;
    out[i + half] = vec[i + half] * c + vec[i] * s;
  }
  return out;
}

/** MiniCPM when config has scale_emb; plain Llama (no scales, no LongRoPE) otherwise. */
function referenceLogits(w, config, tokens) {
  const eps = config.rms_norm_eps;
  const minicpm = config.scale_emb !== undefined;
  const factors = config.rope_scaling?.long_factor ?? new Array(HEAD_DIM / 2).fill(1);
  const residual = minicpm ? config.scale_depth / Math.sqrt(LAYERS) : 1;
  const logitDivisor = minicpm ? HIDDEN / config.dim_model_base : 1;
  const E = w['model.embed_tokens.weight'].values;
  let hs = tokens.map((t) => Float64Array.from(E.subarray(t * HIDDEN, (t + 1) * HIDDEN), (v) => v * (minicpm ? config.scale_emb : 1)));
  for (let l = 0; l < LAYERS; l++) {
    const g = (n) => w[`model.layers.${l}.${n}.weight`].values;
    const ks = [], vs = [];
    const attnOut = hs.map((h, pos) => {
      const x = rmsNorm(h, g('input_layernorm'), eps);
      const q = matvec(g('self_attn.q_proj'), x, HEADS * HEAD_DIM, HIDDEN);
      const k = matvec(g('self_attn.k_proj'), x, KV_HEADS * HEAD_DIM, HIDDEN);
      ks.push(Array.from({ length: KV_HEADS }, (_, j) => rope(k.subarray(j * HEAD_DIM, (j + 1) * HEAD_DIM), pos, factors, 10000)));
      vs.push(matvec(g('self_attn.v_proj'), x, KV_HEADS * HEAD_DIM, HIDDEN));
      const o = new Float64Array(HEADS * HEAD_DIM);
      for (let h = 0; h < HEADS; h++) {
        const kvh = Math.floor(h / (HEADS / KV_HEADS));
        const qh = rope(q.subarray(h * HEAD_DIM, (h + 1) * HEAD_DIM), pos, factors, 10000);
        const scores = [];
        for (let p = 0; p <= pos; p++) {
          let s = 0;
          for (let i = 0; i < HEAD_DIM; i++) s += qh[i] * ks[p][kvh][i];
          scores.push(s / Math.sqrt(HEAD_DIM));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let p = 0; p <= pos; p++) {
          for (let i = 0; i < HEAD_DIM; i++) o[h * HEAD_DIM + i] += (e[p] / z) * vs[p][kvh * HEAD_DIM + i];
        }
      }
      return matvec(g('self_attn.o_proj'), o, HIDDEN, HEADS * HEAD_DIM);
    });
    hs = hs.map((h, pos) => h.map((v, i) => v + residual * attnOut[pos][i]));
    hs = hs.map((h) => {
      const x = rmsNorm(h, g('post_attention_layernorm'), eps);
      const gate = matvec(g('mlp.gate_proj'), x, FFN, HIDDEN);
      const up = matvec(g('mlp.up_proj'), x, FFN, HIDDEN);
      const act = gate.map((v, i) => (v / (1 + Math.exp(-v))) * up[i]);
      const down = matvec(g('mlp.down_proj'), act, HIDDEN, FFN);
      return h.map((v, i) => v + residual * down[i]);
    });
  }
  const final = rmsNorm(hs.at(-1), w['model.norm.weight'].values, eps).map((v) => v / logitDivisor);
  return matvec((w['lm_head.weight'] ?? w['model.embed_tokens.weight']).values, final, VOCAB, HIDDEN);
}

async function llamaLogits(path, text) {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const tokens = [model.tokens.bos, ...model.tokenize(text)];
    const ctx = await model.createContext({
      contextSize: 64, batchSize: 16, flashAttention: false,
      experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
    });
    try {
      const res = await ctx.getSequence().controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
      const logits = new Float64Array(VOCAB);
      for (const [id, v] of res.at(-1).next.logits) logits[id] = v;
      return { tokens, logits };
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

const weights = makeWeights();
const hfDir = join(dir, 'MiniCPM4-small');
const config = writeHfFolder(hfDir, weights);
const TEXT = 'Hello world, this is a test.';
// Token ids the SentencePiece library itself gives for TEXT with MiniCPM4's tokenizer.model.
const SENTENCEPIECE_IDS = [15934, 2809, 59342, 1536, 1410, 1348, 2076, 72];

test('converted MiniCPM matches a forward pass of the Hugging Face model', async () => {
  const out = join(dir, 'minicpm-f32.gguf');
  const lines = [];
  const r = convertHfModel({ dir: hfDir, out, type: 'f32', log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => /convert: \d+\/\d+ tensors/.test(l)), 'progress lines');
  assert.equal(r.tensors, 1 + 1 + LAYERS * 9 + 2);

  const f = readGguf(out);
  const meta = (k) => f.metadata.get(k)?.value;
  assert.equal(meta('general.architecture'), 'minicpm');
  assert.equal(meta('minicpm.embedding_scale'), 12);
  assert.ok(Math.abs(meta('minicpm.residual_scale') - 1.4 / Math.sqrt(LAYERS)) < 1e-6);
  assert.equal(meta('minicpm.logit_scale'), HIDDEN / DIM_MODEL_BASE);
  for (const [k, v] of Object.entries(SPARSE)) assert.equal(meta(`minicpm.sparse.${k}`), v, k);
  assert.equal(meta('tokenizer.ggml.bos_token_id'), 1);
  assert.equal(meta('tokenizer.ggml.eos_token_id'), 73440);
  assert.match(meta('tokenizer.chat_template'), /<\|im_start\|>/);
  const factors = new Float32Array(readTensorBytes(f, 'rope_freqs.weight').slice().buffer);
  assert.deepEqual(Array.from(factors), config.rope_scaling.long_factor.map(Math.fround));

  await assertMatchesReference(out, weights, config);
});

async function assertMatchesReference(path, w, cfg) {
  const { tokens, logits } = await llamaLogits(path, TEXT);
  assert.deepEqual(tokens, [1, ...SENTENCEPIECE_IDS]);
  const want = referenceLogits(w, cfg, tokens);
  let maxErr = 0, scale = 0;
  for (let i = 0; i < VOCAB; i++) {
    maxErr = Math.max(maxErr, Math.abs(logits[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  assert.ok(scale > 1, `reference logits are not degenerate (max |logit| ${scale})`);
  assert.ok(maxErr < 1e-4 * scale, `max |llama.cpp − reference| = ${maxErr} (max |logit| ${scale})`);
}

test('converted Llama with tied embeddings matches the Hugging Face forward pass', async () => {
  const llamaDir = join(dir, 'llama-tied');
  const tied = { ...weights };
  delete tied['lm_head.weight'];
  const cfg = writeHfFolder(llamaDir, tied, { architectures: ['LlamaForCausalLM'], sparse_config: undefined, tie_word_embeddings: true });
  for (const k of ['rope_scaling', 'scale_emb', 'scale_depth', 'dim_model_base', 'sparse_config']) delete cfg[k];
  writeFileSync(join(llamaDir, 'config.json'), JSON.stringify(cfg));
  const out = join(dir, 'llama-f32.gguf');
  convertHfModel({ dir: llamaDir, out, type: 'f32' });
  const f = readGguf(out);
  assert.equal(f.metadata.get('general.architecture').value, 'llama');
  assert.equal(f.tensors.some((t) => t.name === 'output.weight' || t.name === 'rope_freqs.weight'), false);
  assert.equal([...f.metadata.keys()].some((k) => k.startsWith('minicpm.')), false);
  await assertMatchesReference(out, tied, cfg);
});

test('BPE tokenizer.json conversion tokenizes like the original GPT-2 vocabulary', async () => {
  const source = new URL('../../../shared/vocab/ggml-vocab-gpt-2.gguf', import.meta.url).pathname;
  const g = readGguf(source);
  const tokens = g.metadata.get('tokenizer.ggml.tokens').values;
  const types = g.metadata.get('tokenizer.ggml.token_type').values;
  const vocab = {};
  const added = [];
  tokens.forEach((t, id) => {
    if (types[id] === 3) added.push({ id, content: t, special: true });
    else vocab[t] = id;
  });
  const bpeDir = join(dir, 'gpt2');
  mkdirSync(bpeDir, { recursive: true });
  writeFileSync(join(bpeDir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 1,
    intermediate_size: 128, vocab_size: tokens.length, bos_token_id: 50256, eos_token_id: 50256,
  }));
  writeFileSync(join(bpeDir, 'tokenizer.json'), JSON.stringify({
    added_tokens: added,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab, merges: Array.from(g.metadata.get('tokenizer.ggml.merges').values).map((m) => m.split(' ')) },
  }));
  const out = join(dir, 'gpt2-vocab.gguf');
  convertTokenizer(bpeDir, out);
  const converted = readGguf(out);
  assert.equal(converted.metadata.get('tokenizer.ggml.pre').value, 'gpt-2');
  assert.deepEqual(converted.metadata.get('tokenizer.ggml.merges').values, g.metadata.get('tokenizer.ggml.merges').values);
  const inputs = readFileSync(source + '.inp', 'utf8').split('\n__ggml_vocab_test__\n').filter((s) => s.length > 0);
  assert.ok(inputs.length > 20, `${inputs.length} test strings`);
  const ours = await llama.loadModel({ modelPath: out, vocabOnly: true });
  const theirs = await llama.loadModel({ modelPath: source, vocabOnly: true });
  try {
    for (const text of inputs) assert.deepEqual(Array.from(ours.tokenize(text)), Array.from(theirs.tokenize(text)), JSON.stringify(text));
  } finally {
    await ours.dispose();
    await theirs.dispose();
  }
});

test('without the Q/K permutation the logits would differ (the check above is sensitive to it)', async () => {
  const f = readGguf(join(dir, 'minicpm-f32.gguf'));
  const metadata = f.metadata;
  const unpermuted = f.tensors.map((t) => {
    const hf = t.name.match(/^blk\.(\d+)\.attn_([qk])\.weight$/);
    const bytes = hf
      ? quantize(GgmlType.F32, weights[`model.layers.${hf[1]}.self_attn.${hf[2]}_proj.weight`].values, HIDDEN)
      : readTensorBytes(f, t.name);
    return { name: t.name, dims: t.dims, type: t.type, chunks: () => [bytes] };
  });
  const { writeGguf } = await import('../../dist/engine/modelfile/gguf-writer.js');
  const out = join(dir, 'unpermuted.gguf');
  writeGguf(out, metadata, unpermuted);
  const { tokens, logits } = await llamaLogits(out, TEXT);
  const want = referenceLogits(weights, config, tokens);
  let maxErr = 0;
  for (let i = 0; i < VOCAB; i++) maxErr = Math.max(maxErr, Math.abs(logits[i] - want[i]));
  assert.ok(maxErr > 0.05, `unpermuted Q/K still match (${maxErr})`);
});

test('q8_0 conversion runs and stays close to the F32 conversion', async () => {
  const out = join(dir, 'minicpm-q8.gguf');
  convertHfModel({ dir: hfDir, out, type: 'q8_0' });
  const f = readGguf(out);
  assert.equal(f.tensors.find((t) => t.name === 'blk.0.attn_q.weight').type, GgmlType.Q8_0);
  assert.equal(f.tensors.find((t) => t.name === 'blk.0.attn_norm.weight').type, GgmlType.F32);
  const q8 = (await llamaLogits(out, TEXT)).logits;
  const ref = (await llamaLogits(join(dir, 'minicpm-f32.gguf'), TEXT)).logits;
  let maxErr = 0;
  for (let i = 0; i < VOCAB; i++) maxErr = Math.max(maxErr, Math.abs(q8[i] - ref[i]));
  assert.ok(maxErr < 0.5, `q8_0 vs f32 max logit difference ${maxErr}`);
});

test('tokenizer-only conversion of the real MiniCPM4 folder', async () => {
  const out = join(dir, 'vocab.gguf');
  const r = convertTokenizer(SHARED, out);
  assert.equal(r.tensors, 0);
  const model = await llama.loadModel({ modelPath: out, vocabOnly: true });
  try {
    assert.deepEqual(Array.from(model.tokenize(TEXT)), SENTENCEPIECE_IDS);
    assert.deepEqual(Array.from(model.tokenize('<|im_start|>user\n你好<|im_end|>', true)).slice(0, 1), [73441]);
    assert.equal(model.detokenize(model.tokenize('  two  spaces')), '  two  spaces');
  } finally {
    await model.dispose();
  }
});

test('clear errors for bad folders', async () => {
  assert.throws(() => convertHfModel({ dir: join(dir, 'nowhere'), out: join(dir, 'x.gguf') }), /no config\.json/);
  const qwen = join(dir, 'qwen');
  writeHfFolder(qwen, null, { architectures: ['Qwen2ForCausalLM'] });
  assert.throws(() => convertHfModel({ dir: qwen, out: join(dir, 'x.gguf') }), /supports LlamaForCausalLM and MiniCPMForCausalLM/);
  const gpt = join(dir, 'gpt');
  writeHfFolder(gpt, null, { architectures: ['GPTNeoXForCausalLM'] });
  assert.throws(() => convertHfModel({ dir: gpt, out: join(dir, 'x.gguf') }), /unsupported architecture GPTNeoXForCausalLM/);
  const differ = join(dir, 'differ');
  const base = JSON.parse(readFileSync(join(SHARED, 'config.json'), 'utf8')).rope_scaling;
  writeHfFolder(differ, null, { rope_scaling: { ...base, short_factor: base.short_factor.map((v) => v * 2) } });
  assert.throws(() => convertHfModel({ dir: differ, out: join(dir, 'x.gguf') }), /long_factor and short_factor differ/);
  const noWeights = join(dir, 'noweights');
  writeHfFolder(noWeights, null);
  assert.throws(() => convertHfModel({ dir: noWeights, out: join(dir, 'x.gguf') }), /no \*\.safetensors/);
  const missing = join(dir, 'missing');
  const partial = { ...weights };
  delete partial['model.layers.1.mlp.up_proj.weight'];
  writeHfFolder(missing, partial);
  assert.throws(() => convertHfModel({ dir: missing, out: join(dir, 'x.gguf') }), /missing tensor model\.layers\.1\.mlp\.up_proj\.weight/);
  const convertCmd = command.subcommands.find((c) => c.name === 'convert');
  await assert.rejects(convertCmd.run(['--type', 'q4_k', hfDir, join(dir, 'x.gguf')]), /--type must be one of f32, f16, q8_0, q4_0/);
});
