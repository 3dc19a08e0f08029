// `model synth`: a GGUF model with a real vocabulary and seeded random weights, in llama.cpp's
// tensor naming for llama, minicpm, qwen2 and qwen3. Used for forward-pass parity tests (against
// node-llama-cpp on the same file) and speed benchmarks (speed does not depend on weight values).
//
// Weights are drawn per tensor from a PRNG seeded by (seed, tensor name), so a tensor's values do
// not depend on the other tensors or on the storage type: the f32 and q8_0 files of one seed hold
// the same model up to quantisation. Scales keep activations O(1): matrices ~ N(0, 1/fan_in),
// norms ~ 1 + N(0, 0.1²), embeddings ~ N(0, 0.5²) (N approximated, see Rng.normal; MiniCPM
// adjustments in initFor).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GgmlType, WEIGHT_TYPES, type WeightTypeName, ggmlTypeName, llamaFileType, storageType } from './ggml-types.js';
import { type TensorSource, tensorProgress, writeGguf } from './gguf-writer.js';
import { quantize } from './quantize.js';
import {
  type Architecture, MINICPM4_CONFIG, type ModelShape, type PlannedTensor, SHARED_DIR, planTensors, presetShape,
  shapeFromConfigFile, shapeMetadata,
} from './shapes.js';
import { type Vocab, vocabFromGguf } from './vocab.js';
import { vocabFromHfDir } from './hf-tokenizer.js';

const SPM_VOCAB = join(SHARED_DIR, 'vocab', 'ggml-vocab-llama-spm.gguf');
const BPE_VOCAB = join(SHARED_DIR, 'vocab', 'ggml-vocab-gpt-2.gguf');
export const DEFAULT_VOCABS: Record<Architecture, string> = { llama: SPM_VOCAB, minicpm: SPM_VOCAB, qwen2: BPE_VOCAB, qwen3: BPE_VOCAB };

export interface SynthOptions {
  out: string;
  /** For the presets (default llama); for a config.json shape it must match the config or be omitted. */
  arch?: Architecture;
  type: WeightTypeName;
  /** `tiny`, `tiny-k`, `minicpm4-0.5b` or a path to a Hugging Face config.json. Default: `tiny`, or `tiny-k` for K-quants. */
  shape?: string;
  /** Vocabulary: a GGUF file, or a Hugging Face model folder with tokenizer.model. */
  vocab?: string;
  layers?: number;
  seed?: number;
  /** Omit output.weight (the output projection shares token_embd). */
  tied?: boolean;
  /** Write LongRoPE factors as rope_freqs.weight (llama/minicpm). */
  ropeFactors?: boolean;
  /** Progress lines (e.g. to stderr). */
  log?: (line: string) => void;
}

export interface SynthResult {
  path: string;
  bytes: number;
  shape: ModelShape;
  tensors: { name: string; dims: number[]; type: string }[];
}

// ---- deterministic PRNG: xoshiro128** seeded through splitmix32 ----

function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Rng {
  /** xoshiro128** state, kept as int32 so the JIT stays on small integers. */
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
  }

  /** Uniform 32-bit integer. */
  u32(): number {
    const s = this.s;
    const b5 = Math.imul(s[1], 5);
    const result = Math.imul((b5 << 7) | (b5 >>> 25), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return result;
  }

  /**
   * Approximately standard normal: the Irwin–Hall sum of four 16-bit uniforms, centred and
   * scaled to unit variance (bounded at ±3.46). Several times faster than Box–Muller, which
   * matters for the 0.5 B-parameter shape.
   */
  normal(): number {
    const u = this.u32();
    const v = this.u32();
    const sum = (u & 0xffff) + (u >>> 16) + (v & 0xffff) + (v >>> 16);
    return (sum * (1 / 65536) - 2) * SQRT3;
  }
}

const SQRT3 = Math.sqrt(3);

/**
 * Per-tensor distribution: value = mean + std·N(0,1). MiniCPM multiplies embeddings by scale_emb,
 * each residual branch by residual_scale and divides the final hidden state by logit_scale; the
 * embedding, branch-output and output scales undo that, so the embedding does not swamp the
 * residual stream (with tied embeddings it would otherwise make every position predict its own
 * input token).
 */
function initFor(t: PlannedTensor, shape: ModelShape): { mean: number; std: number } {
  const m = shape.minicpm;
  switch (t.role) {
    case 'token_embd': return { mean: 0, std: m ? 1 / m.scaleEmb : 0.5 };
    case 'output': return { mean: 0, std: (2 / Math.sqrt(t.fanIn)) * (m ? shape.hidden / m.dimModelBase : 1) };
    case 'norm':
    case 'qk_norm': return { mean: 1, std: 0.1 };
    case 'attn_bias': return { mean: 0, std: 0.1 };
    case 'rope_freqs': return { mean: 0, std: 0 };
    case 'attn_output':
    case 'ffn_down': {
      const residualScale = m ? m.scaleDepth / Math.sqrt(shape.layers) : 1;
      return { mean: 0, std: 1 / Math.sqrt(t.fanIn) / residualScale };
    }
    default: return { mean: 0, std: 1 / Math.sqrt(t.fanIn) };
  }
}

/** Smooth LongRoPE-like factors rising from 1 to 16 over the rotary pairs. */
function syntheticRopeFactors(n: number): Float32Array {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = 1 + 15 * (n > 1 ? (i / (n - 1)) ** 2 : 0);
  return f;
}

const CHUNK_ELEMENTS = 1 << 20;

function randomTensorChunks(t: PlannedTensor, type: GgmlType, seed: number, shape: ModelShape): () => Iterable<Uint8Array> {
  return function* () {
    if (t.role === 'rope_freqs') {
      yield quantize(GgmlType.F32, shape.ropeFactors!, t.dims[0]);
      return;
    }
    const rng = new Rng(hashName(seed, t.name));
    const { mean, std } = initFor(t, shape);
    const rowLength = t.dims[0];
    const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength));
    const buf = new Float32Array(rowsPerChunk * rowLength);
    for (let r = 0; r < rows; r += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r) * rowLength;
      const values = n === buf.length ? buf : buf.subarray(0, n);
      for (let i = 0; i < n; i++) values[i] = mean + std * rng.normal();
      yield quantize(type, values, rowLength);
    }
  };
}

/** llama.cpp's rule for the layers that get more bits in Q4_K_M files. */
function usesMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/** Storage type of a tensor: the requested type (see storageType), with Q4_K_M's Q6_K tensors. */
function synthTensorType(t: PlannedTensor, typeName: WeightTypeName, shape: ModelShape): GgmlType {
  const type = storageType(t.dims, WEIGHT_TYPES[typeName]);
  if (typeName !== 'q4_k_m' || type !== GgmlType.Q4_K) return type;
  if (t.role === 'output' || (shape.tied && t.role === 'token_embd')) return GgmlType.Q6_K;
  const layer = /^blk\.(\d+)\./.exec(t.name);
  if ((t.role === 'attn_v' || t.role === 'ffn_down') && layer && usesMoreBits(Number(layer[1]), shape.layers)) return GgmlType.Q6_K;
  return type;
}

function resolveShape(opts: SynthOptions, weightType: GgmlType): { shape: Omit<ModelShape, 'vocab'>; hfDir?: string } {
  const isK = weightType === GgmlType.Q4_K || weightType === GgmlType.Q6_K; // includes q4_k_m
  const shapeArg = opts.shape ?? (isK ? 'tiny-k' : 'tiny');
  if (shapeArg === 'tiny' || shapeArg === 'tiny-k') return { shape: presetShape(shapeArg, opts.arch ?? 'llama') };
  const configPath = shapeArg === 'minicpm4-0.5b' ? MINICPM4_CONFIG : shapeArg;
  if (!existsSync(configPath)) throw new Error(`--shape: ${configPath} does not exist (expected tiny, tiny-k, minicpm4-0.5b or a config.json path)`);
  const { vocab: _ignored, ...shape } = shapeFromConfigFile(configPath);
  if (opts.arch && opts.arch !== shape.arch) {
    throw new Error(`--arch ${opts.arch} conflicts with ${configPath}, which describes a ${shape.arch} model`);
  }
  return { shape, hfDir: dirname(configPath) };
}

function loadVocab(opts: SynthOptions, arch: Architecture, hfDir: string | undefined): { vocab: Vocab; source: string } {
  if (opts.vocab) {
    return { vocab: opts.vocab.endsWith('.gguf') ? vocabFromGguf(opts.vocab) : vocabFromHfDir(opts.vocab), source: opts.vocab };
  }
  if (hfDir && existsSync(join(hfDir, 'tokenizer.model'))) return { vocab: vocabFromHfDir(hfDir), source: hfDir };
  return { vocab: vocabFromGguf(DEFAULT_VOCABS[arch]), source: DEFAULT_VOCABS[arch] };
}

export function synthModel(opts: SynthOptions): SynthResult {
  const weightType = WEIGHT_TYPES[opts.type];
  if (weightType === undefined) throw new Error(`unknown --type ${opts.type}`);
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${seed}`);
  const { shape: base, hfDir } = resolveShape(opts, weightType);
  const { vocab, source } = loadVocab(opts, base.arch, hfDir);
  const shape: ModelShape = { ...base, vocab: vocab.size };
  if (opts.layers !== undefined) {
    if (!Number.isSafeInteger(opts.layers) || opts.layers < 1 || opts.layers > 1000) throw new Error(`--layers must be 1..1000, got ${opts.layers}`);
    shape.layers = opts.layers;
  }
  if (opts.tied) shape.tied = true;
  // A config.json shape with LongRoPE scaling has factors already; --rope-factors adds synthetic ones.
  if (opts.ropeFactors) shape.ropeFactors ??= syntheticRopeFactors(shape.headDim / 2);
  if (shape.ropeFactors && shape.arch !== 'llama' && shape.arch !== 'minicpm') {
    throw new Error(`rope factors (--rope-factors or a LongRoPE config) apply to llama and minicpm only, not ${shape.arch}`);
  }

  const planned = planTensors(shape);
  const tensors: TensorSource[] = planned.map((t) => {
    const type = synthTensorType(t, opts.type, shape);
    return { name: t.name, dims: t.dims, type, chunks: randomTensorChunks(t, type, seed, shape) };
  });
  const metadata = shapeMetadata(shape, `litsurvey-synth-${shape.arch}-${opts.type}-seed${seed}`, llamaFileType(opts.type));
  for (const [k, v] of vocab.metadata) metadata.set(k, v);

  const log = opts.log;
  log?.(`synth: ${shape.arch} hidden ${shape.hidden}, ${shape.layers} layers, vocab ${shape.vocab} (${source}), ${planned.length} tensors, ${opts.type}`);
  const bytes = writeGguf(opts.out, metadata, tensors, { onTensor: tensorProgress('synth', log) });
  return {
    path: opts.out,
    bytes,
    shape,
    tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, type: ggmlTypeName(t.type) })),
  };
}
