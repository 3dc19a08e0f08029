// Quantizers: exact half/bfloat16 rounding, ggml block layouts (decoders checked against a
// per-element reading of ggml's formulas on random bytes), encode→decode error bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantize, dequantize, f32ToF16, f16ToF32, f32ToBf16, bf16ToF32 } from '../../dist/engine/modelfile/quantize.js';
import { GgmlType, rowBytes, storageType } from '../../dist/engine/modelfile/ggml-types.js';
import { Rng } from '../../dist/engine/modelfile/synth.js';

function randomValues(n, seed) {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  // Super-blocks of different magnitudes and offsets, plus an all-zero stretch.
  for (let i = 0; i < n; i++) {
    const block = Math.floor(i / 256) % 4;
    x[i] = block === 3 ? 0 : rng.normal() * [1, 0.01, 3][block] + (block === 2 ? 0.7 : 0);
  }
  return x;
}

function relRmse(x, y) {
  let e = 0, s = 0;
  for (let i = 0; i < x.length; i++) { e += (x[i] - y[i]) ** 2; s += x[i] ** 2; }
  return Math.sqrt(e / s);
}

test('f16: round to nearest even, subnormals, overflow', () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(-2), 0xc000);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(65519), 0x7bff); // below the halfway point to 65536
  assert.equal(f32ToF16(65520), 0x7c00); // halfway: rounds to even = infinity
  assert.equal(f32ToF16(2 ** -24), 0x0001);
  assert.equal(f32ToF16(2 ** -25), 0x0000); // tie rounds to even (0)
  assert.equal(f32ToF16(3 * 2 ** -25), 0x0002); // tie rounds to even (2)
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even mantissa
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(f32ToF16(Infinity), 0x7c00);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  for (const h of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x3555, 0x7bff, 0xfbff, 0x8001]) {
    assert.equal(f32ToF16(f16ToF32(h)), h, `half 0x${h.toString(16)} round-trips`);
  }
});

test('bf16: round to nearest even, NaN stays NaN', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(f32ToBf16(-1.5), 0xbfc0);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  assert.equal(bf16ToF32(0x4049), 3.140625);
});

test('block sizes match ggml', () => {
  assert.equal(rowBytes(GgmlType.Q8_0, 32), 34);
  assert.equal(rowBytes(GgmlType.Q4_0, 32), 18);
  assert.equal(rowBytes(GgmlType.Q4_K, 256), 144);
  assert.equal(rowBytes(GgmlType.Q6_K, 256), 210);
  assert.equal(rowBytes(GgmlType.BF16, 3), 6);
  assert.throws(() => rowBytes(GgmlType.Q4_K, 128), /not a whole number of Q4_K blocks/);
  assert.throws(() => quantize(GgmlType.Q8_0, new Float32Array(48), 48), /Q8_0/);
  assert.throws(() => dequantize(GgmlType.Q8_0, new Uint8Array(33), 32), /34 bytes/);
  // Storage policy: vectors stay F32, rows that do not fit the blocks fall back.
  assert.equal(storageType([64], GgmlType.Q4_K), GgmlType.F32);
  assert.equal(storageType([256, 8], GgmlType.Q4_K), GgmlType.Q4_K);
  assert.equal(storageType([64, 8], GgmlType.Q4_K), GgmlType.Q8_0);
  assert.equal(storageType([48, 8], GgmlType.Q4_0), GgmlType.F16);
});

const half = (b, at) => f16ToF32(b[at] | (b[at + 1] << 8));
const int8 = (v) => (v << 24) >> 24;

// ggml's dequantization written per element, independently of the decoder's loop structure.
const REFERENCE = {
  [GgmlType.Q8_0]: (b, k) => half(b, 0) * int8(b[2 + k]),
  [GgmlType.Q4_0]: (b, k) => half(b, 0) * (((k < 16 ? b[2 + k] : b[2 + k - 16] >> 4) & 15) - 8),
  [GgmlType.Q4_K]: (b, k) => {
    const sub = k >> 5;
    const byte = b[16 + (sub >> 1) * 32 + (k & 31)];
    const q = sub & 1 ? byte >> 4 : byte & 15;
    const s = b.subarray(4, 16);
    const sc = sub < 4 ? s[sub] & 63 : (s[sub + 4] & 15) | ((s[sub - 4] >> 6) << 4);
    const m = sub < 4 ? s[sub + 4] & 63 : (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
    return half(b, 0) * sc * q - half(b, 2) * m;
  },
  [GgmlType.Q6_K]: (b, k) => {
    const h = k >> 7, group = (k & 127) >> 5, l = k & 31;
    const lowByte = b[h * 64 + (group & 1) * 32 + l];
    const low = group < 2 ? lowByte & 15 : lowByte >> 4;
    const high = (b[128 + h * 32 + l] >> (2 * group)) & 3;
    return half(b, 208) * int8(b[192 + (k >> 4)]) * ((low | (high << 4)) - 32);
  },
};

test('decoders follow ggml block layouts (random blocks)', () => {
  const rng = new Rng(3);
  for (const [typeName, blockSize, blockBytes] of [['Q8_0', 32, 34], ['Q4_0', 32, 18], ['Q4_K', 256, 144], ['Q6_K', 256, 210]]) {
    const type = GgmlType[typeName];
    for (let trial = 0; trial < 20; trial++) {
      const bytes = new Uint8Array(blockBytes);
      for (let i = 0; i < blockBytes; i++) bytes[i] = rng.u32() & 0xff;
      // Keep the f16 scales finite and modest.
      const scaleAt = type === GgmlType.Q6_K ? [208] : type === GgmlType.Q4_K ? [0, 2] : [0];
      for (const at of scaleAt) { bytes[at] = rng.u32() & 0xff; bytes[at + 1] = 0x20 + (rng.u32() & 0x0f); }
      const y = dequantize(type, bytes, blockSize);
      for (let k = 0; k < blockSize; k++) {
        const want = REFERENCE[type](bytes, k);
        assert.ok(Math.abs(y[k] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${typeName} element ${k}: ${y[k]} vs ${want}`);
      }
    }
  }
});

test('encode → decode stays within each type\'s error bound', () => {
  const x = randomValues(256 * 16, 11);
  const bounds = { F32: 0, F16: 5e-4, BF16: 4e-3, Q8_0: 1e-2, Q4_0: 0.12, Q4_K: 0.1, Q6_K: 0.03 };
  for (const [name, bound] of Object.entries(bounds)) {
    const type = GgmlType[name];
    const bytes = quantize(type, x, 512);
    assert.equal(bytes.length, rowBytes(type, 512) * (x.length / 512));
    const y = dequantize(type, bytes, x.length);
    const err = relRmse(x, y);
    assert.ok(err <= bound, `${name}: relative RMSE ${err} > ${bound}`);
    // The all-zero super-block decodes to exact zeros.
    for (let i = 768; i < 1024; i++) assert.ok(y[i] === 0, `${name}: zero block element ${i} is ${y[i]}`);
  }
});

test('Q8_0 and Q4_0: per-element error ≤ half a step (one step at Q4_0\'s clamped end)', () => {
  const x = randomValues(32 * 64, 5);
  for (const [type, limit] of [[GgmlType.Q8_0, 0.5], [GgmlType.Q4_0, 1]]) {
    const bytes = quantize(type, x, 32);
    const y = dequantize(type, bytes, x.length);
    for (let b = 0; b < x.length / 32; b++) {
      const d = Math.abs(half(bytes, b * (type === GgmlType.Q8_0 ? 34 : 18)));
      for (let i = b * 32; i < b * 32 + 32; i++) {
        assert.ok(Math.abs(x[i] - y[i]) <= limit * d * 1.01 + 1e-7, `element ${i}: ${x[i]} → ${y[i]} (d ${d})`);
      }
    }
    // Re-encoding decoded values reproduces the same bytes.
    assert.deepEqual(quantize(type, y, 32), bytes);
  }
});

test('K-quants use their scale range: Q6_K sub-block scales reach ±127, Q4_K 6-bit scales reach 63', () => {
  const x = randomValues(256, 9);
  const q6 = quantize(GgmlType.Q6_K, x, 256);
  const scales = Array.from(q6.subarray(192, 208), int8);
  assert.ok(scales.some((s) => Math.abs(s) >= 127), `Q6_K scales ${scales}`);
  const q4 = quantize(GgmlType.Q4_K, x, 256);
  const sc = [];
  for (let j = 0; j < 8; j++) sc.push(j < 4 ? q4[4 + j] & 63 : (q4[4 + j + 4] & 15) | ((q4[4 + j - 4] >> 6) << 4));
  assert.ok(sc.includes(63), `Q4_K scales ${sc}`);
});
