// Each SIMD kernel level against the scalar one (and against exact arithmetic) on random
// blocks, through the engine's own matmul kernels (attention: flash-attention.test.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { native } from '../../dist/engine/native.js';
import { GgmlType } from '../../dist/engine/modelfile/ggml-types.js';
import { dequantize, quantize } from '../../dist/engine/modelfile/quantize.js';

const ORDER = ['scalar', 'avx2', 'avx512'];
const info = native.kernelInfo();
const LEVELS = ORDER.slice(0, ORDER.indexOf(info.cpu) + 1);

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 4294967296;
  };
}

const HALF = { 0.5: 0x3800, 1: 0x3c00, 2: 0x4000 };

/** Random Q8_0 / Q4_0 rows whose block scales are powers of two, and the dequantized values. */
function quantRows(type, rows, cols, rand) {
  const blockBytes = type === 'Q8_0' ? 34 : 18;
  const bytes = new Uint8Array((rows * cols * blockBytes) / 32);
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < cols / 32; b++) {
      const off = (r * cols) / 32 * blockBytes + b * blockBytes;
      const scale = [0.5, 1, 2][Math.floor(rand() * 3)];
      bytes[off] = HALF[scale] & 0xff;
      bytes[off + 1] = HALF[scale] >> 8;
      for (let j = 0; j < 32; j++) {
        const v = type === 'Q8_0' ? Math.floor(rand() * 256) - 128 : Math.floor(rand() * 16) - 8;
        values[r * cols + b * 32 + j] = v * scale;
        if (type === 'Q8_0') bytes[off + 2 + j] = v & 0xff;
        else if (j < 16) bytes[off + 2 + j] |= v + 8;
        else bytes[off + 2 + j - 16] |= (v + 8) << 4;
      }
    }
  }
  return { bytes, values };
}

/** Activations that quantize exactly: integers in [-127, 127] with a ±127 in every block. */
function exactActivations(n, rand) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = i % 32 === 0 ? (rand() < 0.5 ? -127 : 127) : Math.floor(rand() * 255) - 127;
  return x;
}

for (const type of ['Q8_0', 'Q4_0']) {
  // 3 blocks per row; 5 tokens: 4x4 tiles leave tails of 3 rows / 1 token; 1 and 2 tokens: decode kernels.
  for (const nTokens of [5, 2, 1])
  test(`${type} integer matmul, ${nTokens} tokens: every level gives the exact sums (odd block count, row and token tails)`, () => {
    const rand = rng(type === 'Q8_0' ? 1 : 2);
    const rows = 7, cols = 96;
    const w = quantRows(type, rows, cols, rand);
    const x = exactActivations(nTokens * cols, rand);
    const exact = new Float32Array(nTokens * rows);
    for (let t = 0; t < nTokens; t++)
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let i = 0; i < cols; i++) s += w.values[r * cols + i] * x[t * cols + i];
        exact[t * rows + r] = s;
      }
    for (const level of LEVELS) {
      for (const threads of [1, 2]) {
        const y = native.kernelMatmul(level, type, w.bytes, rows, cols, x, nTokens, threads);
        assert.deepEqual(y, exact, `${level}, ${threads} threads`);
      }
    }
  });

  test(`${type} integer matmul: levels agree on random float activations`, () => {
    const rand = rng(type === 'Q8_0' ? 3 : 4);
    const rows = 37, cols = 1024, nTokens = 9;
    const w = quantRows(type, rows, cols, rand);
    const x = new Float32Array(nTokens * cols).map(() => (rand() - 0.5) * 4);
    const ref = native.kernelMatmul('scalar', type, w.bytes, rows, cols, x, nTokens);
    // Block sums are exact at every level; only the float sum over blocks runs in another
    // order, so differences stay at float rounding of the sum of |terms|.
    const bound = new Float64Array(nTokens * rows);
    for (let t = 0; t < nTokens; t++)
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < cols; i++) bound[t * rows + r] += Math.abs(w.values[r * cols + i] * x[t * cols + i]);
    for (const level of LEVELS.slice(1)) {
      const y = native.kernelMatmul(level, type, w.bytes, rows, cols, x, nTokens, 2);
      for (let i = 0; i < y.length; i++)
        assert.ok(Math.abs(y[i] - ref[i]) <= 1e-6 * bound[i], `${level} [${i}]: ${y[i]} vs ${ref[i]} (sum of |terms| ${bound[i]})`);
    }
  });
}

// Q4_K runs in llama.cpp's two orders: rows not a multiple of 8 (its vec_dot) and a multiple of
// 8 (its interleaved GEMM for groups of 4 tokens, GEMV for the rest); Q6_K always vec_dot.
for (const [type, rows] of [['Q4_K', 6], ['Q4_K', 16], ['Q6_K', 6]]) {
  test(`${type} x Q8_K integer matmul, ${rows} rows: every level matches the dequantized reference and gives the scalar kernel's bits`, () => {
    const rand = rng(type === 'Q4_K' ? 6 + rows : 7);
    const cols = 512, nTokens = 6; // token tiles of 4 leave a tail of 2
    const floats = new Float32Array(rows * cols).map(() => (rand() - 0.5) * 2);
    const bytes = quantize(GgmlType[type], floats, cols);
    const values = dequantize(GgmlType[type], bytes, rows * cols);
    // Integers with a 127 in every 256-block quantize to Q8_K exactly (scale ±1).
    const x = new Float32Array(nTokens * cols).map((_, i) => (i % 256 === 5 ? 127 : Math.floor(rand() * 255) - 127));
    const exact = new Float64Array(nTokens * rows);
    const l1 = new Float64Array(nTokens * rows);
    for (let t = 0; t < nTokens; t++)
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < cols; i++) {
          exact[t * rows + r] += values[r * cols + i] * x[t * cols + i];
          l1[t * rows + r] += Math.abs(values[r * cols + i] * x[t * cols + i]);
        }
    const scalar = native.kernelMatmul('scalar', type, bytes, rows, cols, x, nTokens);
    for (let i = 0; i < scalar.length; i++)
      assert.ok(Math.abs(scalar[i] - exact[i]) <= 1e-5 * l1[i], `scalar [${i}]: ${scalar[i]} vs ${exact[i]}`);
    // The same integer sums and the same float steps in the same order at every level.
    for (const level of LEVELS.slice(1)) {
      for (const threads of [1, 2]) assert.deepEqual(native.kernelMatmul(level, type, bytes, rows, cols, x, nTokens, threads), scalar, `${level}, ${threads} threads`);
    }
  });
}

test('kernelMatmul rejects mismatched buffers with a named error', () => {
  assert.throws(() => native.kernelMatmul('scalar', 'Q8_0', new Uint8Array(10), 1, 32, new Float32Array(32), 1), /weights must be rows \* 34 bytes/);
  assert.throws(() => native.kernelMatmul('sse', 'Q8_0', new Uint8Array(34), 1, 32, new Float32Array(32), 1), /level must be/);
  assert.throws(() => native.kernelMatmul('scalar', 'Q8_0', new Uint8Array(34), 1, 32, new Float32Array(31), 1), /x must hold/);
});

test('memoryReadBandwidth measures a plausible rate and validates its arguments', () => {
  const bps = native.memoryReadBandwidth(64 * 2 ** 20, 2, 2);
  assert.ok(bps > 1e8 && bps < 1e13, `bandwidth ${bps}`);
  assert.throws(() => native.memoryReadBandwidth(10, 1), /bytes must be an integer/);
});

test('the kernel timings of bench:kernels measure plausible rates and validate their arguments', () => {
  for (const type of ['Q8_0', 'Q4_0']) {
    const t = native.benchDecodeMatmul(type, 1024, 4 * 2 ** 20, 2, 2);
    // ~4 MiB of weights read (rows rounded to whole 16-row groups), at a rate a CPU can reach.
    assert.ok(t.bytes > 3.5 * 2 ** 20 && t.bytes <= 4 * 2 ** 20, `${type} bytes ${t.bytes}`);
    assert.ok(t.seconds > 0 && t.bytes / t.seconds < 1e13, `${type} seconds ${t.seconds}`);
  }
  const us = native.benchFlashRun(16, 2);
  assert.ok(us > 0.01 && us < 1e4, `flash run ${us} µs`);
  assert.throws(() => native.benchDecodeMatmul('Q6_K', 1024, 2 ** 20, 1, 1), /type must be 'Q8_0' or 'Q4_0'/);
  assert.throws(() => native.benchDecodeMatmul('Q8_0', 1000, 2 ** 20, 1, 1), /multiple of 32/);
  assert.throws(() => native.benchFlashRun(1, 1), /blocks must be an integer/);
});
