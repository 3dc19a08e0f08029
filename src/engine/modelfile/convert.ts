// `model convert`: Hugging Face checkpoint folder (LlamaForCausalLM, MiniCPMForCausalLM) → GGUF.
//
// - Hyper-parameters from config.json (see shapes.ts); MiniCPM's scale_emb, scale_depth and
//   dim_model_base become minicpm.embedding_scale, .residual_scale (= scale_depth/√n_layer) and
//   .logit_scale (= hidden_size/dim_model_base), as llama.cpp's converter computes them.
// - LongRoPE factors (rope_scaling long_factor = short_factor) become `rope_freqs.weight` with no
//   rope scaling type, which is what the llama.cpp of node-llama-cpp 3.22.1 loads for minicpm.
// - Q and K projection rows are permuted from Hugging Face's half-split rotary layout to the
//   interleaved-pair layout llama.cpp's RoPE expects for llama/minicpm: within each head of
//   head_dim rows, output row 2i+j is input row j·head_dim/2 + i (heads = attention heads for Q,
//   KV heads for K).
// - config.json's optional `sparse_config` (InfLLM v2 block-sparse attention, MiniCPM4) is written
//   as u32 keys `minicpm.sparse.<field>` for the fields topk, kernel_size, kernel_stride,
//   init_blocks, block_size, window_size and dense_len, and bool `minicpm.sparse.use_nope` when
//   present. The engine reads these to turn sparse attention on.
// - The tokenizer (see hf-tokenizer.ts), its special tokens and the chat template.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GgmlType, llamaFileType, storageType } from './ggml-types.js';
import { type GgufValue, gguf } from './gguf-value.js';
import { type TensorSource, tensorProgress, writeGguf } from './gguf-writer.js';
import { vocabFromHfDir } from './hf-tokenizer.js';
import { quantize } from './quantize.js';
import { type SafetensorsTensor, readRows, readSafetensorsDir } from './safetensors.js';
import { type ModelShape, type PlannedTensor, planTensors, readJsonFile, shapeFromHfConfig, shapeMetadata } from './shapes.js';

export const CONVERT_TYPES = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
export type ConvertType = (typeof CONVERT_TYPES)[number];
const CONVERT_GGML: Record<ConvertType, GgmlType> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

const SPARSE_FIELDS = ['topk', 'kernel_size', 'kernel_stride', 'init_blocks', 'block_size', 'window_size', 'dense_len'] as const;

export interface ConvertOptions {
  dir: string;
  out: string;
  type?: ConvertType;
  /** Write the tokenizer and hyper-parameters only (no tensors). */
  vocabOnly?: boolean;
  log?: (line: string) => void;
}

export interface ConvertResult {
  path: string;
  bytes: number;
  tensors: number;
  shape: ModelShape;
}

/** Hugging Face tensor name for each GGUF tensor name litsurvey writes. */
function hfName(gguf: string): string | undefined {
  const fixed: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (fixed[gguf]) return fixed[gguf];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(gguf);
  if (!m) return undefined;
  const part: Record<string, string> = {
    attn_norm: 'input_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_output: 'self_attn.o_proj',
    ffn_norm: 'post_attention_layernorm',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  };
  return part[m[2]] ? `model.layers.${m[1]}.${part[m[2]]}.${m[3]}` : undefined;
}

/** Reorders each head's rows from [first halves | second halves] to interleaved pairs. */
export function permuteRopeRows(values: Float32Array, rows: number, rowLength: number, heads: number): Float32Array {
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) throw new Error(`cannot split ${rows} rows into ${heads} heads of even size`);
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * headDim + j * half + i) * rowLength;
        const dst = (h * headDim + 2 * i + j) * rowLength;
        out.set(values.subarray(src, src + rowLength), dst);
      }
    }
  }
  return out;
}

const CHUNK_ELEMENTS = 1 << 20;

function tensorChunks(p: PlannedTensor, src: SafetensorsTensor, type: GgmlType, shape: ModelShape): () => Iterable<Uint8Array> {
  const rowLength = p.dims[0];
  const rows = p.dims.length > 1 ? p.dims[1] : 1;
  const permuteHeads = shape.arch === 'llama' || shape.arch === 'minicpm'
    ? p.role === 'attn_q' ? shape.heads : p.role === 'attn_k' ? shape.kvHeads : 0
    : 0;
  return function* () {
    if (permuteHeads > 0) {
      yield quantize(type, permuteRopeRows(readRows(src, 0, rows), rows, rowLength, permuteHeads), rowLength);
      return;
    }
    const step = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength));
    for (let r = 0; r < rows; r += step) {
      const n = Math.min(step, rows - r);
      yield quantize(type, p.dims.length > 1 ? readRows(src, r, n) : readRows(src, 0, 1), rowLength);
    }
  };
}

function sparseMetadata(config: Record<string, unknown>, file: string): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>();
  const sparse = config.sparse_config;
  if (sparse === undefined || sparse === null) return m;
  if (typeof sparse !== 'object' || Array.isArray(sparse)) throw new Error(`${file}: sparse_config must be an object`);
  const s = sparse as Record<string, unknown>;
  for (const key of SPARSE_FIELDS) {
    const v = s[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${file}: sparse_config.${key} must be a non-negative integer`);
    m.set(`minicpm.sparse.${key}`, gguf.u32(v));
  }
  if (typeof s.use_nope === 'boolean') m.set('minicpm.sparse.use_nope', gguf.bool(s.use_nope));
  return m;
}

function modelName(config: Record<string, unknown>, dir: string): string {
  const n = config._name_or_path;
  return typeof n === 'string' && n.length > 0 ? basename(n) : basename(resolve(dir));
}

export function convertHfModel(opts: ConvertOptions): ConvertResult {
  const dir = opts.dir;
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) throw new Error(`${dir}: no config.json (expected a Hugging Face model folder)`);
  const config = readJsonFile(configFile);
  const shape = shapeFromHfConfig(config, configFile);
  if (shape.arch !== 'llama' && shape.arch !== 'minicpm') {
    throw new Error(`${configFile}: model convert supports LlamaForCausalLM and MiniCPMForCausalLM, not ${String((config.architectures as string[])[0])}`);
  }
  const vocab = vocabFromHfDir(dir);
  if (vocab.size !== shape.vocab) throw new Error(`${configFile}: vocab_size ${shape.vocab} but the tokenizer has ${vocab.size} tokens`);
  const type = opts.type ?? 'f16';
  const weightType = CONVERT_GGML[type];
  if (weightType === undefined) throw new Error(`unsupported --type ${type} (expected ${CONVERT_TYPES.join(', ')})`);
  const log = opts.log;

  const tensors: TensorSource[] = [];
  if (!opts.vocabOnly) {
    const hf = readSafetensorsDir(dir);
    shape.tied = !hf.has('lm_head.weight') || config.tie_word_embeddings === true;
    const used = new Set<string>();
    for (const p of planTensors(shape)) {
      const storage = storageType(p.dims, weightType);
      if (p.role === 'rope_freqs') {
        tensors.push({ name: p.name, dims: p.dims, type: GgmlType.F32, chunks: () => [quantize(GgmlType.F32, shape.ropeFactors!, p.dims[0])] });
        continue;
      }
      const name = hfName(p.name);
      const src = name === undefined ? undefined : hf.get(name);
      if (!src || name === undefined) throw new Error(`${dir}: missing tensor ${name ?? p.name} (needed for ${p.name})`);
      const expected = [...p.dims].reverse();
      if (src.shape.length !== expected.length || src.shape.some((d, i) => d !== expected[i])) {
        throw new Error(`${src.file}: tensor ${name} has shape [${src.shape.join(', ')}], expected [${expected.join(', ')}] from config.json`);
      }
      used.add(name);
      tensors.push({ name: p.name, dims: p.dims, type: storage, chunks: tensorChunks(p, src, storage, shape) });
    }
    if (shape.tied) used.add('lm_head.weight');
    const unknown = [...hf.keys()].filter((n) => !used.has(n) && !n.endsWith('rotary_emb.inv_freq'));
    if (unknown.length > 0) throw new Error(`${dir}: unsupported tensors ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`);
  }

  const metadata = shapeMetadata(shape, modelName(config, dir), llamaFileType(type));
  for (const [k, v] of sparseMetadata(config, configFile)) metadata.set(k, v);
  for (const [k, v] of vocab.metadata) metadata.set(k, v);

  log?.(`convert: ${shape.arch}, hidden ${shape.hidden}, ${shape.layers} layers, vocab ${shape.vocab}, ${tensors.length} tensors → ${type}`);
  const bytes = writeGguf(opts.out, metadata, tensors, { onTensor: tensorProgress('convert', log) });
  return { path: opts.out, bytes, tensors: tensors.length, shape };
}

/**
 * Writes a vocab-only GGUF (tokenizer and hyper-parameters, no tensors) from a Hugging Face
 * folder with config.json and tokenizer.model or tokenizer.json, e.g. for tokenizer tests.
 */
export function convertTokenizer(dir: string, out: string): ConvertResult {
  return convertHfModel({ dir, out, vocabOnly: true });
}
