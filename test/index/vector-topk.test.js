// The native exact vector search (vectorQuantize / vectorTopK) against a plain JS brute force:
// same rows in the same order with the same cosines, at every kernel level the CPU runs, with
// ties at the cut, near-duplicate clusters, n beyond the row count and filter masks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNative } from '../../dist/engine/native.js';
import { quantizeVectors } from '../../dist/index/resident-vectors.js';

const native = loadNative();
const levels = ['scalar', 'avx2', 'avx512'].slice(0, ['scalar', 'avx2', 'avx512'].indexOf(native.kernelInfo().cpu) + 1);

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const gaussian = (rand) => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

/** exact_dot's order: element j into partial sum j % 4, then (s0 + s1) + (s2 + s3). */
function dot(a, ao, b, bo, n) {
  const s = [0, 0, 0, 0];
  for (let j = 0; j < n; j++) s[j % 4] += a[ao + j] * b[bo + j];
  return s[0] + s[1] + (s[2] + s[3]);
}

/** The reference: every kept row's cosine in double, best first, ties by lower row. */
function bruteForce(data, dim, query, n, mask) {
  const qn = Math.sqrt(dot(query, 0, query, 0, dim));
  const scored = [];
  for (let r = 0; r < data.length / dim; r++) {
    if (mask && !mask[r]) continue;
    const denom = Math.sqrt(dot(data, r * dim, data, r * dim, dim)) * qn;
    scored.push({ row: r, score: denom === 0 ? 0 : dot(data, r * dim, query, 0, dim) / denom });
  }
  scored.sort((a, b) => b.score - a.score || a.row - b.row);
  return scored.slice(0, n);
}

function randomRows(rand, rows, dim) {
  const data = new Float32Array(rows * dim);
  for (let i = 0; i < data.length; i++) data[i] = gaussian(rand);
  return data;
}

function assertExact(store, query, n, mask, label) {
  const want = bruteForce(store.data, store.dim, query, n, mask);
  for (const level of levels) {
    const got = native.vectorTopK(store, query, n, mask, level);
    assert.deepEqual(Array.from(got.rows), want.map((w) => w.row), `${label} (${level}): rows`);
    assert.deepEqual(Array.from(got.scores), want.map((w) => w.score), `${label} (${level}): cosines`);
  }
}

test('the int8 kernel gives the same integers at every level, tails included', () => {
  const rand = rng(7);
  for (const dim of [1, 4, 15, 16, 17, 63, 64, 65, 100, 130]) {
    const rows = 37;
    const codes = Uint8Array.from({ length: rows * dim }, (_, i) => (i % 11 === 0 ? 255 : i % 13 === 0 ? 0 : Math.floor(rand() * 256)));
    const q = Int8Array.from({ length: dim }, (_, j) => (j % 7 === 0 ? -128 : j % 5 === 0 ? 127 : Math.floor(rand() * 256) - 128));
    const want = Array.from({ length: rows }, (_, r) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += codes[r * dim + j] * q[j];
      return s;
    });
    for (const level of levels) assert.deepEqual(Array.from(native.vectorInt8Dots(level, codes, dim, q)), want, `dim ${dim}, ${level}`);
  }
});

test('random vectors: the exact top n equals brute force, for several n and dimensions', () => {
  const rand = rng(1);
  for (const dim of [100, 37, 128]) {
    const store = quantizeVectors(randomRows(rand, 3000, dim), dim);
    for (const n of [1, 10, 100]) {
      for (let k = 0; k < 4; k++) assertExact(store, Float32Array.from({ length: dim }, () => gaussian(rand)), n, null, `dim ${dim}, n ${n}`);
    }
  }
});

test('ties at the cut and a tight cluster (the bound re-scores beyond the candidates) stay exact', () => {
  const rand = rng(2);
  const dim = 100;
  const rows = 2000;
  const data = randomRows(rand, rows, dim);
  const query = Float32Array.from({ length: dim }, () => gaussian(rand));
  // 300 rows that are the query plus tiny noise: their cosines differ by less than the int8 error.
  for (let r = 0; r < 300; r++) for (let j = 0; j < dim; j++) data[r * 6 * dim + j] = query[j] + 1e-3 * gaussian(rand);
  // Exact copies and power-of-two multiples (the same cosine to the bit) of one cluster row.
  const src = 6 * 150 * dim;
  for (const [r, scale] of [[3, 1], [5, 2], [1500, 0.5], [1999, 1]]) for (let j = 0; j < dim; j++) data[r * dim + j] = data[src + j] * scale;
  const store = quantizeVectors(data, dim);
  for (const n of [1, 20, 100, 150, 301]) assertExact(store, query, n, null, `cluster, n ${n}`);
  const stats = native.vectorTopK(store, query, 20);
  assert.ok(stats.rescored > stats.candidates, `the bound check re-scored ${stats.rescored} rows beyond ${stats.candidates} candidates`);
  // Ties: the copies score the same as their source, and come out in row order.
  const want = bruteForce(data, dim, query, rows);
  const tied = want.filter((w) => w.score === want.find((x) => x.row === 150 * 6).score).map((w) => w.row);
  assert.deepEqual(tied, [3, 5, 900, 1500, 1999].filter((r) => tied.includes(r)));
  assert.ok(tied.length >= 4, `copies tie (${tied})`);
});

test('n beyond the rows, n = 0, zero vectors and a zero query', () => {
  const rand = rng(3);
  const dim = 100;
  const data = randomRows(rand, 50, dim);
  data.fill(0, 10 * dim, 11 * dim);
  const store = quantizeVectors(data, dim);
  const query = Float32Array.from({ length: dim }, () => gaussian(rand));
  assertExact(store, query, 500, null, 'n > rows');
  assert.equal(native.vectorTopK(store, query, 500).rows.length, 50);
  assert.equal(native.vectorTopK(store, query, 0).rows.length, 0);
  assertExact(store, new Float32Array(dim), 5, null, 'zero query: all cosines 0, lowest rows first');
  assertExact(store, new Float32Array(dim), 5, Uint8Array.from({ length: 50 }, (_, r) => r % 3), 'zero query, masked');
});

test('masks: only kept rows, in exact order, also when fewer than n are kept', () => {
  const rand = rng(4);
  const dim = 100;
  const store = quantizeVectors(randomRows(rand, 4000, dim), dim);
  const query = Float32Array.from({ length: dim }, () => gaussian(rand));
  for (const keep of [0.5, 0.05, 0.01]) {
    const mask = Uint8Array.from({ length: 4000 }, () => (rand() < keep ? 1 : 0));
    assertExact(store, query, 100, mask, `mask keeping ${keep}`);
  }
  assert.equal(native.vectorTopK(store, query, 10, new Uint8Array(4000)).rows.length, 0);
});

test('bad arguments are refused with the field named', () => {
  const store = quantizeVectors(new Float32Array(40), 4);
  assert.throws(() => native.vectorTopK(store, new Float32Array(3), 5), /vectorTopK: query must hold 4 values/);
  assert.throws(() => native.vectorTopK(store, new Float32Array(4), -1), /vectorTopK: n must be an integer/);
  assert.throws(() => native.vectorTopK(store, new Float32Array(4), 5, new Uint8Array(9)), /vectorTopK: mask must hold 10 values/);
  assert.throws(() => native.vectorTopK({ ...store, codes: new Uint8Array(39) }, new Float32Array(4), 5), /store.codes must hold 40 values/);
  assert.throws(() => native.vectorTopK({ ...store, steps: [] }, new Float32Array(4), 5), /store.steps must be a Float32Array/);
  assert.throws(() => native.vectorTopK(store, new Float32Array(4), 5, null, 'sse'), /level must be/);
});
