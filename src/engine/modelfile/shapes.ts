// Model shapes (hyper-parameters) for the architectures litsurvey writes, from built-in presets
// or from a Hugging Face config.json, plus the GGUF metadata and tensor list each shape implies.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../config.js';
import { type GgufValue, gguf } from './gguf-value.js';

export const ARCHITECTURES = ['llama', 'minicpm', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export function parseArchitecture(name: string): Architecture {
  if (!(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new Error(`unsupported architecture "${name}" (expected one of: ${ARCHITECTURES.join(', ')})`);
  }
  return name as Architecture;
}

/** Hugging Face `architectures[0]` → GGUF architecture. */
export const HF_ARCHITECTURES: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  MiniCPMForCausalLM: 'minicpm',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

export interface MiniCpmScales {
  /** `scale_emb`: token embeddings are multiplied by it. */
  scaleEmb: number;
  /** `scale_depth`: each residual branch is scaled by scale_depth/√n_layer. */
  scaleDepth: number;
  /** `dim_model_base`: final hidden states are divided by hidden/dim_model_base before the output matmul. */
  dimModelBase: number;
}

export interface ModelShape {
  arch: Architecture;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  /** Vocabulary size (rows of token_embd); for synth it comes from the vocabulary used. */
  vocab: number;
  contextLength: number;
  rmsEps: number;
  ropeBase: number;
  /** Output projection shares token_embd (no output.weight tensor). */
  tied: boolean;
  /** LongRoPE frequency factors (head_dim/2 values), written as rope_freqs.weight. */
  ropeFactors?: Float32Array;
  minicpm?: MiniCpmScales;
}

/** The project's shared data folder (vocab files, the MiniCPM4 config), beside the repository. */
export const SHARED_DIR = resolve(packageRoot, '..', 'shared');
export const MINICPM4_CONFIG = join(SHARED_DIR, 'models', 'minicpm4-0.5b', 'config.json');

/**
 * `tiny`: hidden 64, 2 layers, 4 heads (2 KV), head dim 16, ffn 128.
 * `tiny-k`: hidden 256, 2 layers, 4 heads (2 KV), head dim 64, ffn 512 — every row length is a
 * multiple of 256, as the K-quants (Q4_K, Q6_K) need.
 */
export function presetShape(preset: 'tiny' | 'tiny-k', arch: Architecture): Omit<ModelShape, 'vocab'> {
  const hidden = preset === 'tiny' ? 64 : 256;
  const qwen = arch === 'qwen2' || arch === 'qwen3';
  return {
    arch,
    hidden,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: hidden / 4,
    ffn: hidden * 2,
    contextLength: 4096,
    rmsEps: qwen ? 1e-6 : 1e-5,
    ropeBase: qwen ? 1000000 : 10000,
    tied: false,
    minicpm: arch === 'minicpm' ? { scaleEmb: 12, scaleDepth: 1.4, dimModelBase: hidden / 4 } : undefined,
  };
}

type Json = Record<string, unknown>;

function field(config: Json, key: string, file: string, fallback?: number): number {
  const v = config[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: missing "${key}"`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${file}: "${key}" must be a number`);
  return v;
}

function positiveInt(config: Json, key: string, file: string, fallback?: number): number {
  const v = field(config, key, file, fallback);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${file}: "${key}" must be a positive integer, got ${v}`);
  return v;
}

function factorArray(v: unknown, file: string, key: string, expected: number): Float32Array {
  if (!Array.isArray(v) || v.length !== expected || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    throw new Error(`${file}: rope_scaling.${key} must be ${expected} positive numbers (head_dim/2)`);
  }
  return Float32Array.from(v as number[]);
}

export function readJsonFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}: expected a JSON object`);
  return value as Json;
}

/** The shape described by a Hugging Face config.json. */
export function shapeFromHfConfig(config: Json, file: string): ModelShape {
  const archs = config.architectures;
  const hfArch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (!hfArch) throw new Error(`${file}: missing "architectures"`);
  const arch = HF_ARCHITECTURES[hfArch];
  if (!arch) {
    throw new Error(`${file}: unsupported architecture ${hfArch} (supported: ${Object.keys(HF_ARCHITECTURES).join(', ')})`);
  }
  const hidden = positiveInt(config, 'hidden_size', file);
  const heads = positiveInt(config, 'num_attention_heads', file);
  const kvHeads = positiveInt(config, 'num_key_value_heads', file, heads);
  if (heads % kvHeads !== 0) throw new Error(`${file}: num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads})`);
  const headDim = positiveInt(config, 'head_dim', file, Math.floor(hidden / heads));
  if (arch !== 'qwen3' && headDim * heads !== hidden) throw new Error(`${file}: hidden_size ${hidden} is not num_attention_heads × head_dim`);
  if (headDim % 2 !== 0) throw new Error(`${file}: head dimension ${headDim} must be even for RoPE`);
  const shape: ModelShape = {
    arch,
    hidden,
    layers: positiveInt(config, 'num_hidden_layers', file),
    heads,
    kvHeads,
    headDim,
    ffn: positiveInt(config, 'intermediate_size', file),
    vocab: positiveInt(config, 'vocab_size', file),
    contextLength: positiveInt(config, 'max_position_embeddings', file, 4096),
    rmsEps: field(config, 'rms_norm_eps', file, 1e-6),
    ropeBase: field(config, 'rope_theta', file, 10000),
    // transformers' PretrainedConfig defaults tie_word_embeddings to true.
    tied: config.tie_word_embeddings === undefined ? true : config.tie_word_embeddings === true,
  };
  const scaling = config.rope_scaling as Json | null | undefined;
  if (scaling && typeof scaling === 'object') {
    const type = scaling.rope_type ?? scaling.type;
    if (type === 'longrope' || type === 'su') {
      const long = factorArray(scaling.long_factor, file, 'long_factor', headDim / 2);
      const short = factorArray(scaling.short_factor, file, 'short_factor', headDim / 2);
      if (long.some((v, i) => v !== short[i])) {
        throw new Error(`${file}: rope_scaling long_factor and short_factor differ; litsurvey writes one set of LongRoPE factors (rope_freqs.weight) and cannot represent both`);
      }
      shape.ropeFactors = long;
    } else if (type !== undefined && type !== 'default') {
      throw new Error(`${file}: unsupported rope_scaling type ${String(type)}`);
    }
  }
  if (arch === 'minicpm') {
    shape.minicpm = {
      scaleEmb: field(config, 'scale_emb', file),
      scaleDepth: field(config, 'scale_depth', file),
      dimModelBase: field(config, 'dim_model_base', file),
    };
  }
  return shape;
}

export function shapeFromConfigFile(file: string): ModelShape {
  return shapeFromHfConfig(readJsonFile(file), file);
}

/** GGUF `general.*` and `<arch>.*` hyper-parameter keys for a shape (tokenizer keys excluded). */
export function shapeMetadata(shape: ModelShape, name: string, fileType: number): Map<string, GgufValue> {
  const a = shape.arch;
  const m = new Map<string, GgufValue>();
  m.set('general.architecture', gguf.string(a));
  m.set('general.name', gguf.string(name));
  m.set('general.file_type', gguf.u32(fileType));
  m.set(`${a}.vocab_size`, gguf.u32(shape.vocab));
  m.set(`${a}.context_length`, gguf.u32(shape.contextLength));
  m.set(`${a}.embedding_length`, gguf.u32(shape.hidden));
  m.set(`${a}.block_count`, gguf.u32(shape.layers));
  m.set(`${a}.feed_forward_length`, gguf.u32(shape.ffn));
  m.set(`${a}.attention.head_count`, gguf.u32(shape.heads));
  m.set(`${a}.attention.head_count_kv`, gguf.u32(shape.kvHeads));
  m.set(`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(shape.rmsEps));
  m.set(`${a}.rope.freq_base`, gguf.f32(shape.ropeBase));
  m.set(`${a}.rope.dimension_count`, gguf.u32(shape.headDim));
  if (a === 'qwen3' || shape.headDim * shape.heads !== shape.hidden) {
    m.set(`${a}.attention.key_length`, gguf.u32(shape.headDim));
    m.set(`${a}.attention.value_length`, gguf.u32(shape.headDim));
  }
  if (shape.minicpm) {
    const s = shape.minicpm;
    // As llama.cpp's converter computes them (conversion/minicpm.py).
    m.set('minicpm.embedding_scale', gguf.f32(s.scaleEmb));
    m.set('minicpm.residual_scale', gguf.f32(s.scaleDepth / Math.sqrt(shape.layers)));
    m.set('minicpm.logit_scale', gguf.f32(shape.hidden / s.dimModelBase));
  }
  return m;
}

export type TensorRole =
  | 'token_embd' | 'output' | 'norm' | 'attn_q' | 'attn_k' | 'attn_v' | 'attn_output'
  | 'attn_bias' | 'qk_norm' | 'ffn_gate' | 'ffn_up' | 'ffn_down' | 'rope_freqs';

export interface PlannedTensor {
  name: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  role: TensorRole;
  /** Input width of a matrix (row length); for initialisation scale. */
  fanIn: number;
}

/** The tensors llama.cpp expects for a shape, in the order the converters write them. */
export function planTensors(shape: ModelShape): PlannedTensor[] {
  const { hidden, headDim, heads, kvHeads, ffn, vocab } = shape;
  const q = headDim * heads;
  const kv = headDim * kvHeads;
  const out: PlannedTensor[] = [];
  const add = (name: string, dims: number[], role: TensorRole): void => {
    out.push({ name, dims, role, fanIn: dims[0] });
  };
  add('token_embd.weight', [hidden, vocab], 'token_embd');
  if (shape.ropeFactors) add('rope_freqs.weight', [headDim / 2], 'rope_freqs');
  for (let i = 0; i < shape.layers; i++) {
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, [hidden], 'norm');
    add(`${b}.attn_q.weight`, [hidden, q], 'attn_q');
    add(`${b}.attn_k.weight`, [hidden, kv], 'attn_k');
    add(`${b}.attn_v.weight`, [hidden, kv], 'attn_v');
    if (shape.arch === 'qwen2') {
      add(`${b}.attn_q.bias`, [q], 'attn_bias');
      add(`${b}.attn_k.bias`, [kv], 'attn_bias');
      add(`${b}.attn_v.bias`, [kv], 'attn_bias');
    }
    if (shape.arch === 'qwen3') {
      add(`${b}.attn_q_norm.weight`, [headDim], 'qk_norm');
      add(`${b}.attn_k_norm.weight`, [headDim], 'qk_norm');
    }
    add(`${b}.attn_output.weight`, [q, hidden], 'attn_output');
    add(`${b}.ffn_norm.weight`, [hidden], 'norm');
    add(`${b}.ffn_gate.weight`, [hidden, ffn], 'ffn_gate');
    add(`${b}.ffn_up.weight`, [hidden, ffn], 'ffn_up');
    add(`${b}.ffn_down.weight`, [ffn, hidden], 'ffn_down');
  }
  add('output_norm.weight', [hidden], 'norm');
  if (!shape.tied) add('output.weight', [hidden, vocab], 'output');
  return out;
}
