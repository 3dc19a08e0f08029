// Encoders and decoders for the ggml tensor types litsurvey writes, with ggml's exact block
// layouts (see ggml-types.ts). Encoders take float32 values; a tensor is encoded as a run of
// whole blocks, so each row must hold a whole number of blocks.
import { GgmlType, ggmlTypeLayout, ggmlTypeName, rowBytes } from './ggml-types.js';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 bits → IEEE half, round to nearest even (as F16C's conversion does). */
function f16FromBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

/** float32 bits → bfloat16, round to nearest even; NaN stays a quiet NaN. */
function bf16FromBits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  return f16FromBits(u32Scratch[0]);
}

export function f32ToBf16(value: number): number {
  f32Scratch[0] = value;
  return bf16FromBits(u32Scratch[0]);
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16ToF32(b: number): number {
  u32Scratch[0] = (b & 0xffff) << 16;
  return f32Scratch[0];
}

let halfToFloat: Float32Array | undefined;

/** Every f16 bit pattern's float value (256 KiB, built on first use) for fast bulk decoding. */
function halfTable(): Float32Array {
  if (!halfToFloat) {
    halfToFloat = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfToFloat[h] = f16ToF32(h);
  }
  return halfToFloat;
}

/** Round half away from zero (C's roundf) for |v| < 2^31; faster than Math.round in hot loops. */
function roundHalfAway(v: number): number {
  return (v < 0 ? v - 0.5 : v + 0.5) | 0;
}

function putF16(dst: Uint8Array, at: number, value: number): void {
  const h = f32ToF16(value);
  dst[at] = h & 0xff;
  dst[at + 1] = h >>> 8;
}

function getF16(src: Uint8Array, at: number): number {
  return f16ToF32(src[at] | (src[at + 1] << 8));
}

/** The value a float32 takes once stored as f16 (block scales are used at that precision). */
function roundToF16(value: number): number {
  return f16ToF32(f32ToF16(value));
}

// ---- Q8_0: d = amax/127, q = round(x/d) ----
function encodeQ8_0(x: Float32Array, at: number, dst: Uint8Array, out: number): void {
  let amax = 0;
  for (let i = at; i < at + 32; i++) {
    const a = x[i] < 0 ? -x[i] : x[i];
    if (a > amax) amax = a;
  }
  // Quantize against the scale as stored (f16), so each error is at most half a step.
  const d = roundToF16(amax / 127);
  const id = d !== 0 ? 1 / d : 0;
  putF16(dst, out, d);
  for (let i = 0; i < 32; i++) {
    // Clamped because a subnormal f16 scale can round far below amax/127. The byte store
    // wraps negative values into two's complement.
    const q = roundHalfAway(x[at + i] * id);
    dst[out + 2 + i] = q > 127 ? 127 : q < -127 ? -127 : q;
  }
}

function decodeQ8_0(src: Uint8Array, at: number, y: Float32Array, out: number): void {
  const d = getF16(src, at);
  for (let i = 0; i < 32; i++) y[out + i] = d * ((src[at + 2 + i] << 24) >> 24);
}

// ---- Q4_0: the signed value of largest magnitude maps to -8; q = x/d + 8 in 0..15 ----
function encodeQ4_0(x: Float32Array, at: number, dst: Uint8Array, out: number): void {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < 32; i++) {
    const v = x[at + i];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = roundToF16(max / -8);
  const id = d !== 0 ? 1 / d : 0;
  putF16(dst, out, d);
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(15, Math.max(0, Math.floor(x[at + j] * id + 8.5)));
    const hi = Math.min(15, Math.max(0, Math.floor(x[at + 16 + j] * id + 8.5)));
    dst[out + 2 + j] = lo | (hi << 4);
  }
}

function decodeQ4_0(src: Uint8Array, at: number, y: Float32Array, out: number): void {
  const d = getF16(src, at);
  for (let j = 0; j < 16; j++) {
    const b = src[at + 2 + j];
    y[out + j] = ((b & 0xf) - 8) * d;
    y[out + 16 + j] = ((b >>> 4) - 8) * d;
  }
}

// ---- Q4_K: 8 sub-blocks of 32, x ≈ d·sc·q − dmin·m with 6-bit sc, m and 4-bit q ----

/**
 * Fits x ≈ scale·q − min with q in 0..nmax for one sub-block: start from the value range,
 * then alternate rounding and least-squares refits of (scale, min), keeping the best fit.
 * Writes [scale, min] (both ≥ 0) into `fit`.
 */
function fitAffine(x: Float32Array, at: number, n: number, nmax: number, fit: Float64Array): void {
  let lo = 0;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[at + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi <= lo) {
    fit[0] = 0;
    fit[1] = -lo;
    return;
  }
  let scale = (hi - lo) / nmax;
  let offset = lo; // x ≈ scale·q + offset, offset ≤ 0
  let bestErr = Infinity;
  let bestScale = scale;
  let bestOffset = offset;
  for (let iter = 0; iter < 3; iter++) {
    const inv = 1 / scale;
    let sq = 0, sqq = 0, sx = 0, sqx = 0, err = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      let q = roundHalfAway((v - offset) * inv);
      q = q < 0 ? 0 : q > nmax ? nmax : q; // a refitted offset may lie above the minimum
      const e = scale * q + offset - v;
      err += e * e;
      sq += q; sqq += q * q; sx += v; sqx += q * v;
    }
    if (err < bestErr) {
      bestErr = err;
      bestScale = scale;
      bestOffset = offset;
    }
    const det = n * sqq - sq * sq;
    if (det <= 0) break;
    const nextScale = (n * sqx - sq * sx) / det;
    const nextOffset = Math.min(0, (sx - nextScale * sq) / n);
    if (!(nextScale > 0)) break;
    scale = nextScale;
    offset = nextOffset;
  }
  fit[0] = bestScale;
  fit[1] = -bestOffset;
}

const q4kScales = new Float64Array(8);
const q4kMins = new Float64Array(8);
const q4kFit = new Float64Array(2);
const q4kSc = new Uint8Array(8);
const q4kM = new Uint8Array(8);
const kQuants = new Uint8Array(256);

function encodeQ4_K(x: Float32Array, at: number, dst: Uint8Array, out: number): void {
  const scales = q4kScales;
  const mins = q4kMins;
  const fit = q4kFit;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    fitAffine(x, at + 32 * j, 32, 15, fit);
    scales[j] = fit[0];
    mins[j] = fit[1];
    maxScale = Math.max(maxScale, fit[0]);
    maxMin = Math.max(maxMin, fit[1]);
  }
  const d = roundToF16(maxScale / 63);
  const dmin = roundToF16(maxMin / 63);
  const sc = q4kSc;
  const m = q4kM;
  for (let j = 0; j < 8; j++) {
    sc[j] = d > 0 ? Math.min(63, Math.round(scales[j] / d)) : 0;
    m[j] = dmin > 0 ? Math.min(63, Math.round(mins[j] / dmin)) : 0;
  }
  putF16(dst, out, d);
  putF16(dst, out + 2, dmin);
  const packed = out + 4;
  for (let j = 0; j < 4; j++) {
    dst[packed + j] = sc[j] | ((sc[j + 4] >>> 4) << 6);
    dst[packed + j + 4] = m[j] | ((m[j + 4] >>> 4) << 6);
    dst[packed + j + 8] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
  }
  const q = kQuants;
  for (let j = 0; j < 8; j++) {
    const step = d * sc[j];
    const bias = dmin * m[j];
    const inv = step > 0 ? 1 / step : 0;
    for (let i = 0; i < 32; i++) {
      const k = 32 * j + i;
      const r = roundHalfAway((x[at + k] + bias) * inv);
      q[k] = r < 0 ? 0 : r > 15 ? 15 : r;
    }
  }
  const qs = out + 16;
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l++) dst[qs + 32 * c + l] = q[64 * c + l] | (q[64 * c + 32 + l] << 4);
  }
}

function q4kScaleMin(scales: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [scales[at + j] & 63, scales[at + j + 4] & 63];
  return [
    (scales[at + j + 4] & 0xf) | ((scales[at + j - 4] >>> 6) << 4),
    (scales[at + j + 4] >>> 4) | ((scales[at + j] >>> 6) << 4),
  ];
}

function decodeQ4_K(src: Uint8Array, at: number, y: Float32Array, out: number): void {
  const d = getF16(src, at);
  const dmin = getF16(src, at + 2);
  for (let c = 0; c < 4; c++) {
    const [sc1, m1] = q4kScaleMin(src, at + 4, 2 * c);
    const [sc2, m2] = q4kScaleMin(src, at + 4, 2 * c + 1);
    const qs = at + 16 + 32 * c;
    for (let l = 0; l < 32; l++) {
      y[out + 64 * c + l] = d * sc1 * (src[qs + l] & 0xf) - dmin * m1;
      y[out + 64 * c + 32 + l] = d * sc2 * (src[qs + l] >>> 4) - dmin * m2;
    }
  }
}

// ---- Q6_K: 16 sub-blocks of 16, x ≈ d·sc·q with int8 sc and q in -32..31 ----

/** Least-squares scale for x ≈ s·q, q = clamp(round(x/s), -32, 31), refined from s = x_absmax/-32. */
function fitSymmetric(x: Float32Array, at: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[at + i];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax === 0) return 0;
  let scale = max / -32;
  let best = scale;
  let bestErr = Infinity;
  for (let iter = 0; iter < 3; iter++) {
    const inv = 1 / scale;
    let sqx = 0, sqq = 0, err = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i];
      let q = roundHalfAway(v * inv);
      q = q < -32 ? -32 : q > 31 ? 31 : q;
      const e = scale * q - v;
      err += e * e;
      sqx += q * v;
      sqq += q * q;
    }
    if (err < bestErr) {
      bestErr = err;
      best = scale;
    }
    if (sqq === 0) break;
    scale = sqx / sqq;
  }
  return best;
}

const q6kScales = new Float64Array(16);
const q6kSc = new Int8Array(16);

function encodeQ6_K(x: Float32Array, at: number, dst: Uint8Array, out: number): void {
  const scales = q6kScales;
  let maxAbs = 0;
  let maxScale = 0;
  for (let j = 0; j < 16; j++) {
    scales[j] = fitSymmetric(x, at + 16 * j, 16);
    if (Math.abs(scales[j]) > maxAbs) {
      maxAbs = Math.abs(scales[j]);
      maxScale = scales[j];
    }
  }
  // The sub-block scale of largest magnitude maps to -128, so int8 scales span -128..127.
  const d = roundToF16(maxScale / -128);
  const sc = q6kSc;
  for (let j = 0; j < 16; j++) sc[j] = d !== 0 ? Math.max(-128, Math.min(127, Math.round(scales[j] / d))) : 0;
  const q = kQuants;
  for (let j = 0; j < 16; j++) {
    const step = d * sc[j];
    const inv = step !== 0 ? 1 / step : 0;
    for (let i = 0; i < 16; i++) {
      const k = 16 * j + i;
      const r = roundHalfAway(x[at + k] * inv);
      q[k] = (r < -32 ? -32 : r > 31 ? 31 : r) + 32;
    }
  }
  const ql = out;
  const qh = out + 128;
  for (let half = 0; half < 2; half++) {
    for (let l = 0; l < 32; l++) {
      const base = 128 * half + l;
      const q0 = q[base], q1 = q[base + 32], q2 = q[base + 64], q3 = q[base + 96];
      dst[ql + 64 * half + l] = (q0 & 0xf) | ((q2 & 0xf) << 4);
      dst[ql + 64 * half + 32 + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
      dst[qh + 32 * half + l] = (q0 >>> 4) | ((q1 >>> 4) << 2) | ((q2 >>> 4) << 4) | ((q3 >>> 4) << 6);
    }
  }
  for (let j = 0; j < 16; j++) dst[out + 192 + j] = sc[j] & 0xff;
  putF16(dst, out + 208, d);
}

function decodeQ6_K(src: Uint8Array, at: number, y: Float32Array, out: number): void {
  const d = getF16(src, at + 208);
  for (let half = 0; half < 2; half++) {
    const ql = at + 64 * half;
    const qh = at + 128 + 32 * half;
    const sc = at + 192 + 8 * half;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = src[qh + l];
      const q0 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
      const q1 = ((src[ql + 32 + l] & 0xf) | (((h >>> 2) & 3) << 4)) - 32;
      const q2 = ((src[ql + l] >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
      const q3 = ((src[ql + 32 + l] >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
      const base = out + 128 * half + l;
      y[base] = d * ((src[sc + is] << 24) >> 24) * q0;
      y[base + 32] = d * ((src[sc + is + 2] << 24) >> 24) * q1;
      y[base + 64] = d * ((src[sc + is + 4] << 24) >> 24) * q2;
      y[base + 96] = d * ((src[sc + is + 6] << 24) >> 24) * q3;
    }
  }
}

type BlockEncoder = (x: Float32Array, at: number, dst: Uint8Array, out: number) => void;
type BlockDecoder = (src: Uint8Array, at: number, y: Float32Array, out: number) => void;

const BLOCK_CODECS: Partial<Record<GgmlType, [BlockEncoder, BlockDecoder]>> = {
  [GgmlType.Q8_0]: [encodeQ8_0, decodeQ8_0],
  [GgmlType.Q4_0]: [encodeQ4_0, decodeQ4_0],
  [GgmlType.Q4_K]: [encodeQ4_K, decodeQ4_K],
  [GgmlType.Q6_K]: [encodeQ6_K, decodeQ6_K],
};

/**
 * Encodes `values` (rows of `rowLength` elements each) as `type`. Returns the tensor bytes,
 * little-endian, in ggml's layout.
 */
export function quantize(type: GgmlType, values: Float32Array, rowLength: number): Uint8Array {
  if (rowLength <= 0 || values.length % rowLength !== 0) {
    throw new Error(`${values.length} values are not whole rows of ${rowLength}`);
  }
  const out = new Uint8Array(rowBytes(type, rowLength) * (values.length / rowLength));
  switch (type) {
    case GgmlType.F32:
      new Float32Array(out.buffer, out.byteOffset, values.length).set(values);
      return out;
    case GgmlType.F16:
    case GgmlType.BF16: {
      const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
      const halves = new Uint16Array(out.buffer, out.byteOffset, values.length);
      if (type === GgmlType.F16) for (let i = 0; i < values.length; i++) halves[i] = f16FromBits(bits[i]);
      else for (let i = 0; i < values.length; i++) halves[i] = bf16FromBits(bits[i]);
      return out;
    }
  }
  const codec = BLOCK_CODECS[type];
  if (!codec) throw new Error(`no encoder for ${ggmlTypeName(type)}`);
  const { blockSize, blockBytes } = ggmlTypeLayout(type);
  const encode = codec[0];
  for (let b = 0, n = values.length / blockSize; b < n; b++) encode(values, b * blockSize, out, b * blockBytes);
  return out;
}

/** Decodes `count` elements of `type` from `bytes` (which must hold exactly that many). */
export function dequantize(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const need = rowBytes(type, count);
  if (bytes.length !== need) {
    throw new Error(`${ggmlTypeName(type)}: ${count} elements take ${need} bytes, got ${bytes.length}`);
  }
  const y = new Float32Array(count);
  switch (type) {
    case GgmlType.F32:
      // Byte copy: `bytes` may not be 4-byte aligned (little-endian host, as ggml files are).
      new Uint8Array(y.buffer).set(bytes);
      return y;
    case GgmlType.BF16: {
      const bits = new Uint32Array(y.buffer);
      for (let i = 0; i < count; i++) bits[i] = (bytes[2 * i] << 16) | (bytes[2 * i + 1] << 24);
      return y;
    }
    case GgmlType.F16: {
      const table = halfTable();
      for (let i = 0; i < count; i++) y[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
      return y;
    }
  }
  const codec = BLOCK_CODECS[type];
  if (!codec) throw new Error(`no decoder for ${ggmlTypeName(type)}`);
  const { blockSize, blockBytes } = ggmlTypeLayout(type);
  const decode = codec[1];
  for (let b = 0, n = count / blockSize; b < n; b++) decode(bytes, b * blockBytes, y, b * blockSize);
  return y;
}
