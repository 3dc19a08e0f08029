// The flash-attention kernel (F16 KV cache) at every SIMD level against a plain float64
// softmax attention, causal limits per row, several head sizes; a row's bits do not depend on
// the tile it shares; the selection's group scores against exact dot products.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { native } from '../../dist/engine/native.js';

const ORDER = ['scalar', 'avx2', 'avx512'];
const LEVELS = ORDER.slice(0, ORDER.indexOf(native.kernelInfo().cpu) + 1);

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 4294967296;
  };
}

/** Random IEEE half bits of magnitude in [1/8, 4), and their values. */
function randomHalves(n, rand) {
  const bits = new Uint16Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sign = rand() < 0.5 ? 1 : 0;
    const exp = 12 + Math.floor(rand() * 5);
    const mant = Math.floor(rand() * 1024);
    bits[i] = (sign << 15) | (exp << 10) | mant;
    values[i] = (sign ? -1 : 1) * 2 ** (exp - 15) * (1 + mant / 1024);
  }
  return { bits, values };
}

/** softmax(q_r · k_j / √d over j <= limit_r) · v, in float64. */
function reference(k, v, stride, q, rows, hd, limits) {
  const out = new Float64Array(rows * hd);
  const scale = 1 / Math.sqrt(hd);
  for (let r = 0; r < rows; r++) {
    const s = [];
    for (let j = 0; j <= limits[r]; j++) {
      let dot = 0;
      for (let i = 0; i < hd; i++) dot += q[r * hd + i] * k[j * stride + i];
      s.push(dot * scale);
    }
    const m = Math.max(...s);
    const p = s.map((x) => Math.exp(x - m));
    const sum = p.reduce((a, b) => a + b, 0);
    for (let j = 0; j < p.length; j++)
      for (let i = 0; i < hd; i++) out[r * hd + i] += (p[j] / sum) * v[j * stride + i];
  }
  return out;
}

function randomCase(seed, { nKeys, stride, hd, rows }) {
  const rand = rng(seed);
  const size = (nKeys - 1) * stride + hd;
  const k = randomHalves(size, rand);
  const v = randomHalves(size, rand);
  const q = new Float32Array(rows * hd).map(() => rand() * 2 - 1);
  // Rows see different prefixes (the causal mask of a prefill tile): some the whole range, some
  // a few keys, some ending mid-block or exactly at a block edge.
  const limits = new Int32Array(rows).map((_, r) =>
    r % 4 === 0 ? nKeys - 1 : r % 4 === 1 ? Math.min(nKeys - 1, 63) : Math.floor(rand() * nKeys));
  return { k, v, q, limits };
}

const SHAPES = [
  { nKeys: 1100, stride: 128, hd: 64, rows: 32 }, // more than one chunk of 8 runs; a GQA group × 4 tokens
  { nKeys: 201, stride: 128, hd: 128, rows: 8 },
  { nKeys: 77, stride: 40, hd: 36, rows: 13 }, // head size neither a multiple of 16 nor of 8, odd rows
  { nKeys: 5, stride: 24, hd: 24, rows: 1 },
];

test('flash attention matches a float64 softmax attention at every level (causal limits, odd sizes)', () => {
  for (const [n, shape] of SHAPES.entries()) {
    const { k, v, q, limits } = randomCase(10 + n, shape);
    const { stride, hd, rows } = shape;
    const ref = reference(k.values, v.values, stride, q, rows, hd, limits);
    for (const level of LEVELS) {
      const out = native.kernelFlashAttention(level, k.bits, v.bits, stride, q, rows, hd, limits, rows);
      for (let i = 0; i < out.length; i++)
        assert.ok(Math.abs(out[i] - ref[i]) <= 2e-5 * 4, `${level} hd ${hd} [${i}]: ${out[i]} vs ${ref[i]}`);
    }
  }
});

test("a row's flash-attention bits do not depend on the rows sharing its tile", () => {
  for (const [n, shape] of SHAPES.entries()) {
    const { k, v, q, limits } = randomCase(20 + n, shape);
    const { stride, hd, rows } = shape;
    for (const level of LEVELS) {
      const together = native.kernelFlashAttention(level, k.bits, v.bits, stride, q, rows, hd, limits, rows);
      for (const tile of [1, 3]) {
        if (tile > rows) continue;
        const apart = native.kernelFlashAttention(level, k.bits, v.bits, stride, q, rows, hd, limits, tile);
        assert.deepEqual(apart, together, `${level} hd ${hd}, tiles of ${tile} rows`);
      }
    }
  }
});

test('group scores for block selection: exact on small integers, F16 and F32 keys, every level', () => {
  const rand = rng(30);
  for (const [hd, rows, nKeys] of [[64, 8, 150], [36, 5, 70], [128, 16, 3]]) {
    // Integers in [-8, 8] are exact in F16; with scale 1/√hd a power of two for hd 64 the
    // scores are exact too, else compared within rounding.
    const ints = Float32Array.from({ length: nKeys * hd }, () => Math.floor(rand() * 17) - 8);
    const halves = Uint16Array.from(ints, (x) => (x === 0 ? 0 : halfOfSmallInt(x)));
    const q = Float32Array.from({ length: rows * hd }, () => Math.floor(rand() * 9) - 4);
    const scale = 1 / Math.sqrt(hd);
    const exact = new Float64Array(rows * nKeys);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < nKeys; j++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += q[r * hd + i] * ints[j * hd + i];
        exact[r * nKeys + j] = dot * scale;
      }
    for (const level of LEVELS)
      for (const keys of [halves, ints]) {
        const got = native.kernelFlashScores(level, keys, nKeys, q, rows, hd);
        for (let i = 0; i < got.length; i++)
          assert.ok(Math.abs(got[i] - exact[i]) <= (hd === 64 ? 0 : 1e-4 * Math.abs(exact[i]) + 1e-4),
            `${level} ${keys.constructor.name} hd ${hd} [${i}]: ${got[i]} vs ${exact[i]}`);
      }
  }
});

test('scoring 16 dims-major keys at a time gives the row kernel\'s bits, every level', () => {
  const rand = rng(31);
  for (const [hd, rows, nKeys] of [[64, 8, 150], [36, 5, 37], [128, 16, 20], [64, 1, 16]]) {
    const values = Float32Array.from({ length: nKeys * hd }, () => rand() * 4 - 2);
    const halves = randomHalves(nKeys * hd, rand).bits;
    const q = Float32Array.from({ length: rows * hd }, () => rand() * 2 - 1);
    for (const level of LEVELS)
      for (const keys of [halves, values]) {
        const byRow = native.kernelFlashScores(level, keys, nKeys, q, rows, hd);
        const byGroup = native.kernelFlashScores(level, keys, nKeys, q, rows, hd, true);
        assert.deepEqual(byGroup, byRow, `${level} ${keys.constructor.name} hd ${hd} rows ${rows}`);
      }
  }
});

test('flash kernels validate their arguments', () => {
  const k = new Uint16Array(64);
  assert.throws(() => native.kernelFlashAttention('sse', k, k, 64, new Float32Array(64), 1, 64, new Int32Array(1), 1), /level must be/);
  assert.throws(() => native.kernelFlashAttention('scalar', k, k, 64, new Float32Array(64), 1, 64, new Int32Array([1]), 1), /limits must lie/);
  assert.throws(() => native.kernelFlashScores('scalar', new Int8Array(64), 1, new Float32Array(64), 1, 64), /keys must be/);
  assert.throws(() => native.kernelFlashScores('scalar', new Float32Array(64), 1, new Float32Array(64), 1, 64, 'yes'), /dimsMajor must be a boolean/);
});

/** IEEE half bits of a nonzero integer |v| <= 2048. */
function halfOfSmallInt(v) {
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const mant = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | mant;
}
