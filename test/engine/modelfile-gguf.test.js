// GGUF writer/reader: every value type round-trips, tensor data is aligned and zero-padded,
// producers that give the wrong byte count are refused, and damaged files are clean errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGguf } from '../../dist/engine/modelfile/gguf-writer.js';
import { readGguf, readTensorBytes } from '../../dist/engine/modelfile/gguf-reader.js';
import { GgmlType } from '../../dist/engine/modelfile/ggml-types.js';
import { quantize } from '../../dist/engine/modelfile/quantize.js';
import { Rng } from '../../dist/engine/modelfile/synth.js';

const dir = mkdtempSync(join(tmpdir(), 'litsurvey-gguf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function sampleMetadata() {
  return new Map([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['t.u8', { type: 'u8', value: 200 }],
    ['t.i8', { type: 'i8', value: -100 }],
    ['t.u16', { type: 'u16', value: 60000 }],
    ['t.i16', { type: 'i16', value: -30000 }],
    ['t.u32', { type: 'u32', value: 4000000000 }],
    ['t.i32', { type: 'i32', value: -2000000000 }],
    ['t.f32', { type: 'f32', value: 0.5 }],
    ['t.bool', { type: 'bool', value: true }],
    ['t.u64', { type: 'u64', value: 2n ** 60n }],
    ['t.i64', { type: 'i64', value: -5 }],
    ['t.f64', { type: 'f64', value: Math.PI }],
    ['t.string', { type: 'string', value: 'héllo ✓' }],
    ['t.raw', { type: 'string', value: new Uint8Array([0xff, 0xfe, 0x41]) }],
    ['t.strings', { type: 'array', itemType: 'string', values: ['a', '', 'ü'] }],
    ['t.floats', { type: 'array', itemType: 'f32', values: new Float32Array([1, -2.5]) }],
    ['t.ints', { type: 'array', itemType: 'i32', values: new Int32Array([3, -4]) }],
    ['t.bools', { type: 'array', itemType: 'bool', values: [true, false] }],
    ['t.empty', { type: 'array', itemType: 'u8', values: [] }],
  ]);
}

function sampleTensors() {
  const rng = new Rng(1);
  const a = new Float32Array(7 * 3).map(() => rng.normal());
  const b = new Float32Array(32 * 2).map(() => rng.normal());
  return [
    { name: 'odd.f32', dims: [7, 3], type: GgmlType.F32, data: quantize(GgmlType.F32, a, 7) },
    { name: 'q8', dims: [32, 2], type: GgmlType.Q8_0, data: quantize(GgmlType.Q8_0, b, 32) },
    { name: 'vec.f16', dims: [5], type: GgmlType.F16, data: quantize(GgmlType.F16, a.subarray(0, 5), 5) },
  ];
}

test('metadata of every type and tensors round-trip; data is aligned and padded with zeros', () => {
  const path = join(dir, 'all.gguf');
  const tensors = sampleTensors();
  const seen = [];
  // Chunks of uneven sizes exercise the streaming path.
  const sources = tensors.map((t) => ({
    ...t,
    chunks: function* () { yield t.data.subarray(0, 3); yield t.data.subarray(3); },
  }));
  const size = writeGguf(path, sampleMetadata(), sources, { onTensor: (i, n, name) => seen.push([i, n, name]) });
  assert.deepEqual(seen.map((s) => s[2]), ['odd.f32', 'q8', 'vec.f16']);
  const bytes = readFileSync(path);
  assert.equal(bytes.length, size);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
  assert.equal(bytes.readUInt32LE(4), 3);

  const f = readGguf(path);
  const want = sampleMetadata();
  want.set('general.alignment', { type: 'u32', value: 32 });
  assert.deepEqual([...f.metadata.keys()], [...want.keys()]);
  for (const [k, v] of want) {
    const got = f.metadata.get(k);
    assert.equal(got.type, v.type, k);
    if (v.type === 'array') assert.deepEqual(Array.from(got.values), Array.from(v.values), k);
    else if (v.type === 'f32') assert.equal(got.value, Math.fround(v.value), k);
    else if (v.type === 'u64' || v.type === 'i64') assert.equal(BigInt(got.value), BigInt(v.value), k);
    else assert.deepEqual(got.value, v.value, k);
  }
  assert.equal(f.dataOffset % 32, 0);
  let end = f.dataOffset;
  for (const t of tensors) {
    const info = f.tensors.find((x) => x.name === t.name);
    assert.deepEqual(info.dims, t.dims);
    assert.equal(info.type, t.type);
    assert.equal(info.offset % 32, 0, `${t.name} aligned`);
    assert.deepEqual(Buffer.from(readTensorBytes(f, t.name)), Buffer.from(t.data));
    // Bytes between the previous tensor's end and this tensor are zero padding.
    assert.ok(bytes.subarray(end, info.offset).every((b) => b === 0), `${t.name} padding`);
    end = info.offset + info.size;
  }
  assert.equal(bytes.length, Math.ceil(end / 32) * 32);
});

test('a producer giving too few or too many bytes is refused and leaves no file', () => {
  for (const [label, data] of [['short', new Uint8Array(10)], ['long', new Uint8Array(100)]]) {
    const path = join(dir, `bad-${label}.gguf`);
    assert.throws(
      () => writeGguf(path, new Map(), [{ name: 'x', dims: [4, 4], type: GgmlType.F32, chunks: () => [data] }]),
      /tensor x .*expected 64/,
    );
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}.partial`), false);
  }
  assert.throws(
    () => writeGguf(join(dir, 'dup.gguf'), new Map(), [
      { name: 'x', dims: [1], type: GgmlType.F32, chunks: () => [new Uint8Array(4)] },
      { name: 'x', dims: [1], type: GgmlType.F32, chunks: () => [new Uint8Array(4)] },
    ]),
    /duplicate tensor name x/,
  );
  assert.throws(() => writeGguf(join(dir, 'k.gguf'), new Map(), [{ name: 'k', dims: [100, 2], type: GgmlType.Q4_K, chunks: () => [] }]), /Q4_K blocks/);
});

test('truncated and corrupted files are clean errors', () => {
  const path = join(dir, 'src.gguf');
  const tensors = sampleTensors().map((t) => ({ ...t, chunks: () => [t.data] }));
  writeGguf(path, sampleMetadata(), tensors);
  const good = readFileSync(path);
  const lastTensor = readGguf(path).tensors.at(-1);
  const bad = join(dir, 'bad.gguf');
  // Cuts inside the header, the tensor table and the last tensor's data (not its trailing padding).
  for (const cut of [0, 3, 8, 20, 40, 100, good.length - 40, lastTensor.offset + 5]) {
    writeFileSync(bad, good.subarray(0, cut));
    assert.throws(() => readGguf(bad), (e) => e instanceof Error && /bad GGUF|not a GGUF|past the end|too large/.test(e.message), `cut at ${cut}`);
  }
  // Random byte corruption: reading either succeeds or throws an Error, quickly.
  const rng = new Rng(99);
  for (let trial = 0; trial < 300; trial++) {
    const copy = Buffer.from(good);
    for (let k = 0; k < 3; k++) copy[8 + (rng.u32() % (copy.length - 8))] = rng.u32() & 0xff;
    writeFileSync(bad, copy);
    try {
      readGguf(bad);
    } catch (e) {
      assert.ok(e instanceof Error, `trial ${trial}: ${e}`);
    }
  }
});
