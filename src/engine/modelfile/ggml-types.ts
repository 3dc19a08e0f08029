// ggml tensor types and llama.cpp file types that litsurvey writes, with their block layouts.
// Numbers are ggml's on-disk enum values (ggml.h `enum ggml_type`, llama.h `enum llama_ftype`).

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8,
  Q4_K: 12,
  Q6_K: 14,
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

interface TypeLayout {
  name: string;
  /** Elements per block (1 for plain float types). */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
}

const LAYOUTS: Record<GgmlType, TypeLayout> = {
  [GgmlType.F32]: { name: 'F32', blockSize: 1, blockBytes: 4 },
  [GgmlType.F16]: { name: 'F16', blockSize: 1, blockBytes: 2 },
  [GgmlType.BF16]: { name: 'BF16', blockSize: 1, blockBytes: 2 },
  // f16 d + 32 int8 quants
  [GgmlType.Q8_0]: { name: 'Q8_0', blockSize: 32, blockBytes: 34 },
  // f16 d + 16 bytes of nibbles
  [GgmlType.Q4_0]: { name: 'Q4_0', blockSize: 32, blockBytes: 18 },
  // f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins, 128 bytes of nibbles
  [GgmlType.Q4_K]: { name: 'Q4_K', blockSize: 256, blockBytes: 144 },
  // 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, f16 d
  [GgmlType.Q6_K]: { name: 'Q6_K', blockSize: 256, blockBytes: 210 },
};

export function ggmlTypeLayout(type: GgmlType): TypeLayout {
  return LAYOUTS[type];
}

export function ggmlTypeName(type: GgmlType): string {
  return LAYOUTS[type].name;
}

export function isGgmlType(n: number): n is GgmlType {
  return Object.prototype.hasOwnProperty.call(LAYOUTS, n);
}

/** Bytes of one row of `n` elements; throws when n is not a whole number of blocks. */
export function rowBytes(type: GgmlType, n: number): number {
  const { blockSize, blockBytes, name } = LAYOUTS[type];
  if (!Number.isSafeInteger(n) || n < 0 || n % blockSize !== 0) {
    throw new Error(`a row of ${n} elements is not a whole number of ${name} blocks (${blockSize} elements each)`);
  }
  return (n / blockSize) * blockBytes;
}

/**
 * The `--type` names the CLI accepts, mapped to the type of the model's 2-D weights. `q4_k_m` is
 * llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output projection and for attn_v and ffn_down
 * in some layers (see synth.ts).
 */
export const WEIGHT_TYPES = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
  q4_k: GgmlType.Q4_K,
  q4_k_m: GgmlType.Q4_K,
  q6_k: GgmlType.Q6_K,
} as const;
export type WeightTypeName = keyof typeof WEIGHT_TYPES;

export function parseWeightType(name: string): WeightTypeName {
  const key = name.toLowerCase();
  if (!Object.prototype.hasOwnProperty.call(WEIGHT_TYPES, key)) {
    throw new Error(`unknown tensor type "${name}" (expected one of: ${Object.keys(WEIGHT_TYPES).join(', ')})`);
  }
  return key as WeightTypeName;
}

/** llama.cpp `general.file_type` (enum llama_ftype) for each weight type. */
const FILE_TYPES: Record<WeightTypeName, number> = {
  f32: 0, // ALL_F32
  f16: 1, // MOSTLY_F16
  q4_0: 2, // MOSTLY_Q4_0
  q8_0: 7, // MOSTLY_Q8_0
  q4_k: 14, // MOSTLY_Q4_K_S (every weight Q4_K)
  q4_k_m: 15, // MOSTLY_Q4_K_M
  q6_k: 18, // MOSTLY_Q6_K
  bf16: 32, // MOSTLY_BF16
};

export function llamaFileType(type: WeightTypeName): number {
  return FILE_TYPES[type];
}

/**
 * The type a tensor is stored as when the file's weights are `requested`: 1-D tensors (norms,
 * biases, RoPE factors) stay F32; a matrix whose row length is not a whole number of the
 * requested type's blocks falls back to Q8_0 (rows a multiple of 32) or F16, much as llama.cpp's
 * quantizer falls back for K-quants.
 */
export function storageType(dims: number[], requested: GgmlType): GgmlType {
  if (dims.length < 2) return GgmlType.F32;
  if (dims[0] % LAYOUTS[requested].blockSize === 0) return requested;
  return dims[0] % 32 === 0 ? GgmlType.Q8_0 : GgmlType.F16;
}
