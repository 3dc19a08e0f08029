// The native GGUF reader: the shared vocabulary files, a round trip of every value and
// tensor type, and one hand-broken file per check, each asserting the message names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { native } from '../../dist/engine/native.js';
import { buildGguf, TensorType, tensorBytes } from './gguf-builder.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const vocabDir = join(repo, '..', 'shared', 'vocab');

const dir = mkdtempSync(join(tmpdir(), 'litsurvey-gguf-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function writeTemp(bytes, name = `case${fileNo++}.gguf`) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Asserts that inspecting `bytes` fails with a message naming the file and matching `pattern`. */
function assertRejected(bytes, pattern) {
  const name = `broken${fileNo++}.gguf`;
  const path = writeTemp(bytes, name);
  assert.throws(
    () => native.ggufInspect(path),
    (err) => {
      assert.ok(err instanceof Error);
      assert.ok(err.message.includes(name), `message names the file: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const vocabCases = [
  ['ggml-vocab-llama-spm.gguf', 'llama', 32000, '<unk>'],
  ['ggml-vocab-phi-3.gguf', 'llama', 32064, '<unk>'],
  ['ggml-vocab-gpt-2.gguf', 'gpt2', 50257, '!'],
  ['ggml-vocab-deepseek-llm.gguf', 'gpt2', 102400, undefined],
  ['ggml-vocab-falcon.gguf', 'gpt2', 65024, undefined],
];

test('shared vocabulary files: tokenizer keys and counts', { skip: !existsSync(vocabDir) && 'no ../shared/vocab' }, () => {
  for (const [file, model, tokens, first] of vocabCases) {
    const g = native.ggufInspect(join(vocabDir, file));
    assert.equal(g.version, 3, file);
    assert.equal(g.tensors.length, 0, file);
    assert.equal(g.metadata['tokenizer.ggml.model'], model, file);
    const list = g.metadata['tokenizer.ggml.tokens'];
    assert.equal(list.type, 'string', file);
    assert.equal(list.length, tokens, file);
    assert.equal(list.head.length, 8, file);
    if (first !== undefined) assert.equal(list.head[0], first, file);
    if (model === 'gpt2') assert.equal(g.metadata['tokenizer.ggml.merges'].type, 'string', file);
    else assert.equal(g.metadata['tokenizer.ggml.scores'].length, tokens, file);
  }
});

test('round trip: every value type, arrays, tensors of each computable type', () => {
  const tensors = [
    { name: 'f32', type: TensorType.F32, dims: [8, 2] },
    { name: 'f16', type: TensorType.F16, dims: [16] },
    { name: 'bf16', type: TensorType.BF16, dims: [4, 4] },
    { name: 'q8_0', type: TensorType.Q8_0, dims: [64, 2] },
    { name: 'q4_0', type: TensorType.Q4_0, dims: [32, 3] },
    { name: 'q4_k', type: TensorType.Q4_K, dims: [256, 2] },
    { name: 'q6_k', type: TensorType.Q6_K, dims: [256, 1, 1, 2] },
  ];
  const bytes = buildGguf({
    kv: [
      { key: 'general.architecture', type: 'string', value: 'llama' },
      { key: 'v.u8', type: 'u8', value: 200 },
      { key: 'v.i8', type: 'i8', value: -5 },
      { key: 'v.u16', type: 'u16', value: 60000 },
      { key: 'v.i16', type: 'i16', value: -30000 },
      { key: 'v.u32', type: 'u32', value: 4000000000 },
      { key: 'v.i32', type: 'i32', value: -2000000000 },
      { key: 'v.f32', type: 'f32', value: 1e-5 },
      { key: 'v.bool', type: 'bool', value: true },
      { key: 'v.u64', type: 'u64', value: 2n ** 60n },
      { key: 'v.i64', type: 'i64', value: -42n },
      { key: 'v.f64', type: 'f64', value: 3.25 },
      { key: 'v.string', type: 'string', value: 'héllo ▁world' },
      { key: 'v.arr.i32', type: 'array', elemType: 'i32', value: [1, -2, 3] },
      { key: 'v.arr.str', type: 'array', elemType: 'string', value: ['a', '', 'c'] },
      { key: 'v.arr.long', type: 'array', elemType: 'u16', value: Array.from({ length: 100 }, (_, i) => i) },
      { key: 'v.arr.empty', type: 'array', elemType: 'f32', value: [] },
      { key: '__proto__', type: 'string', value: 'just a key' },
    ],
    tensors,
  });
  const path = writeTemp(bytes);
  const g = native.ggufInspect(path);
  assert.equal(g.version, 3);
  assert.equal(g.alignment, 32);
  assert.equal(g.fileSize, bytes.length);
  assert.equal(g.dataOffset % 32, 0);
  const md = g.metadata;
  assert.equal(md['v.u8'], 200);
  assert.equal(md['v.i8'], -5);
  assert.equal(md['v.u16'], 60000);
  assert.equal(md['v.i16'], -30000);
  assert.equal(md['v.u32'], 4000000000);
  assert.equal(md['v.i32'], -2000000000);
  assert.equal(md['v.f32'], 1e-5);
  assert.equal(md['v.bool'], true);
  assert.equal(md['v.u64'], String(2n ** 60n), 'integers beyond 2^53 come back as strings');
  assert.equal(md['v.i64'], -42);
  assert.equal(md['v.f64'], 3.25);
  assert.equal(md['v.string'], 'héllo ▁world');
  assert.deepEqual(md['v.arr.i32'], [1, -2, 3]);
  assert.deepEqual(md['v.arr.str'], ['a', '', 'c']);
  assert.deepEqual(md['v.arr.long'], { type: 'u16', length: 100, head: [0, 1, 2, 3, 4, 5, 6, 7] });
  assert.deepEqual(md['v.arr.empty'], []);
  assert.ok(Object.hasOwn(md, '__proto__'), 'a key named __proto__ is an own property');
  assert.equal(Object.getOwnPropertyDescriptor(md, '__proto__').value, 'just a key');
  assert.equal(Object.getPrototypeOf(md), Object.prototype);

  assert.equal(g.tensors.length, tensors.length);
  let expectedOffset = 0;
  for (const [i, t] of tensors.entries()) {
    const got = g.tensors[i];
    assert.equal(got.name, t.name);
    assert.equal(got.type, Object.keys(TensorType).find((k) => TensorType[k] === t.type));
    assert.deepEqual(got.dims, t.dims);
    assert.equal(got.elements, t.dims.reduce((a, b) => a * b, 1));
    assert.equal(got.bytes, tensorBytes(t.type, t.dims));
    assert.equal(got.offset, expectedOffset);
    expectedOffset = Math.ceil((expectedOffset + got.bytes) / 32) * 32;
  }
  assert.equal(g.tensors.find((t) => t.name === 'q4_k').bytes, 2 * 144);
  assert.equal(g.tensors.find((t) => t.name === 'q6_k').bytes, 2 * 210);
});

test('version 2 and general.alignment are honoured', () => {
  const bytes = buildGguf({
    version: 2,
    alignment: 64,
    kv: [{ key: 'general.alignment', type: 'u32', value: 64 }],
    tensors: [
      { name: 'a', type: TensorType.F32, dims: [3] },
      { name: 'b', type: TensorType.Q8_0, dims: [32] },
    ],
  });
  const g = native.ggufInspect(writeTemp(bytes));
  assert.equal(g.version, 2);
  assert.equal(g.alignment, 64);
  assert.equal(g.dataOffset % 64, 0);
  assert.deepEqual(g.tensors.map((t) => t.offset), [0, 64]);
});

test('type table: block geometry and which types the engine computes', () => {
  const byName = Object.fromEntries(native.typeTraits().map((t) => [t.name, t]));
  assert.deepEqual(byName.Q4_K, { id: 12, name: 'Q4_K', blockElements: 256, blockBytes: 144, computable: true });
  assert.deepEqual(byName.Q6_K, { id: 14, name: 'Q6_K', blockElements: 256, blockBytes: 210, computable: true });
  assert.deepEqual(byName.Q8_0, { id: 8, name: 'Q8_0', blockElements: 32, blockBytes: 34, computable: true });
  assert.equal(byName.BF16.id, 30);
  for (const name of ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K']) assert.equal(byName[name].computable, true, name);
  for (const name of ['Q5_K', 'Q2_K', 'IQ4_XS', 'Q4_1']) assert.equal(byName[name].computable, false, name);
});

// A small valid file the broken variants start from.
const base = () => ({
  kv: [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'llama.block_count', type: 'u32', value: 1 },
  ],
  tensors: [
    { name: 'token_embd.weight', type: TensorType.Q8_0, dims: [32, 2] },
    { name: 'output_norm.weight', type: TensorType.F32, dims: [32] },
  ],
});

test('header problems: magic, version, counts', () => {
  assertRejected(buildGguf({ ...base(), magic: 'GGUG' }), /not a GGUF file \(bad magic bytes\)/);
  assertRejected(Buffer.from('GG'), /too small to be GGUF/);
  assertRejected(Buffer.alloc(0), /too small to be GGUF/);
  assertRejected(buildGguf({ ...base(), version: 1 }), /GGUF version 1 is not supported/);
  assertRejected(buildGguf({ ...base(), version: 4 }), /unsupported GGUF version 4/);
  assertRejected(buildGguf({ ...base(), version: 0x03000000 }), /big-endian GGUF is not supported/);
  assertRejected(buildGguf({ ...base(), kvCount: 2n ** 62n }), /metadata count 4611686018427387904 is more than the \d+ bytes left could hold/);
  assertRejected(buildGguf({ ...base(), tensorCount: 1000000 }), /tensor count 1000000 is more than the \d+ bytes left/);
});

test('every truncation of a valid file is rejected', () => {
  const bytes = buildGguf(base());
  native.ggufInspect(writeTemp(bytes));  // the whole file is fine
  for (let cut = 0; cut < bytes.length; cut++) {
    assertRejected(bytes.subarray(0, cut), /too small|truncated|runs past the end|more than the \d+ bytes left|extends past end of file/);
  }
});

test('metadata problems', () => {
  const withKv = (...kv) => buildGguf({ ...base(), kv: [...base().kv, ...kv] });
  // A string whose length runs past the end of the file.
  const longString = Buffer.alloc(8 + 4);
  longString.writeBigUInt64LE(1000000n);
  assertRejected(withKv({ key: 'general.name', rawType: 8, raw: longString }), /key 'general.name': string value length 1000000 at offset \d+ runs past the end of the file/);
  // Array of arrays.
  const nested = Buffer.alloc(4 + 8 + 4 + 8);
  nested.writeUInt32LE(9, 0);
  nested.writeBigUInt64LE(1n, 4);
  nested.writeUInt32LE(4, 12);
  assertRejected(withKv({ key: 'x.nested', rawType: 9, raw: nested }), /key 'x.nested': nested arrays are not supported/);
  // Unknown value type.
  assertRejected(withKv({ key: 'x.weird', rawType: 13, raw: Buffer.alloc(8) }), /key 'x.weird': unknown value type 13/);
  // An array whose element count runs past the end.
  const hugeArray = Buffer.alloc(4 + 8);
  hugeArray.writeUInt32LE(6, 0);
  hugeArray.writeBigUInt64LE(2n ** 61n, 4);
  assertRejected(withKv({ key: 'x.scores', rawType: 9, raw: hugeArray }), /key 'x.scores': array of 2305843009213693952 f32 values at offset \d+ runs past the end/);
  // Duplicate key.
  assertRejected(withKv({ key: 'llama.block_count', type: 'u32', value: 2 }), /key 'llama.block_count': duplicate key/);
  // Alignment that is not a power of two.
  assertRejected(withKv({ key: 'general.alignment', type: 'u32', value: 48 }), /key 'general.alignment': alignment 48 is not a power of two/);
  assertRejected(withKv({ key: 'general.alignment', type: 'string', value: '32' }), /key 'general.alignment': must be an integer, not string/);
});

test('tensor problems', () => {
  const withTensors = (tensors, extra = {}) => buildGguf({ ...base(), tensors, ...extra });
  const q8 = (name, dims, more = {}) => ({ name, type: TensorType.Q8_0, dims, ...more });
  assertRejected(withTensors([{ name: 'odd', type: 77, dims: [4], bytes: 16 }]), /tensor 'odd': unknown tensor type id 77/);
  assertRejected(withTensors([q8('zero', [32, 0], { bytes: 34 })]), /tensor 'zero': dimension 1 is 0/);
  assertRejected(withTensors([q8('scalar', [], { bytes: 34 })]), /tensor 'scalar': has 0 dimensions \(must be 1 to 4\)/);
  assertRejected(withTensors([q8('five', [32, 1, 1, 1, 1])]), /tensor 'five': has 5 dimensions \(must be 1 to 4\)/);
  assertRejected(withTensors([q8('partial', [33], { bytes: 68 })]), /tensor 'partial': row length 33 is not a whole number of Q8_0 blocks \(32 elements each\)/);
  assertRejected(withTensors([q8('same', [32]), q8('same', [32])]), /tensor 'same': duplicate tensor name/);
  assertRejected(withTensors([q8('a', [32]), q8('b', [32], { offset: 16 })]), /tensor 'b': offset 16 is not a multiple of the alignment 32/);
  assertRejected(withTensors([q8('a', [64]), q8('b', [32], { offset: 32 })]), /tensor 'b': overlaps tensor 'a'/);
  assertRejected(withTensors([q8('huge', [2 ** 40, 2 ** 30], { bytes: 34 })], { dataSize: 64 }), /tensor 'huge': (element count overflows|extends past end of file)/);
  // Data section shorter than the table says.
  const bytes = buildGguf(base());
  assertRejected(bytes.subarray(0, bytes.length - 1), /tensor 'output_norm.weight': extends past end of file \(offset 96 in the data section at \d+, size 128, file size \d+\)/);
  assertRejected(withTensors([q8('far', [32], { offset: 2 ** 40 })], { dataSize: 64 }), /tensor 'far': extends past end of file \(offset 1099511627776/);
  assertRejected(withTensors([q8('x'.repeat(70), [32])]), /tensor name is 70 bytes \(limit 63\)/);
});

test('not a file, missing file', () => {
  assert.throws(() => native.ggufInspect(join(dir, 'absent.gguf')), /absent\.gguf: cannot open: No such file/);
  assert.throws(() => native.ggufInspect(dir), /not a regular file/);
  assert.throws(() => native.ggufInspect(42), TypeError);
});

function runEngineCli(args) {
  const script = `import { command } from ${JSON.stringify(join(repo, 'dist', 'cli', 'commands', 'engine.js'))};
const sub = command.subcommands.find((c) => c.name === process.argv[1]);
process.exitCode = await sub.run(process.argv.slice(2));`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8' });
}

test('litsurvey engine info: summary, --json, and a broken file', () => {
  const bytes = buildGguf({
    kv: [
      { key: 'general.architecture', type: 'string', value: 'llama' },
      { key: 'llama.block_count', type: 'u32', value: 2 },
      { key: 'llama.embedding_length', type: 'u32', value: 64 },
      { key: 'llama.attention.head_count', type: 'u32', value: 4 },
      { key: 'llama.attention.head_count_kv', type: 'u32', value: 2 },
      { key: 'llama.feed_forward_length', type: 'u32', value: 128 },
      { key: 'llama.context_length', type: 'u32', value: 512 },
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array', elemType: 'string', value: ['<unk>', '<s>', '</s>', 'a'] },
      { key: 'tokenizer.chat_template', type: 'string', value: '{% for m in messages %}\n{{ m.content }}{% endfor %}' },
    ],
    tensors: [
      { name: 'token_embd.weight', type: TensorType.Q8_0, dims: [64, 4] },
      { name: 'blk.0.attn_q.weight', type: TensorType.Q8_0, dims: [64, 64] },
      { name: 'output_norm.weight', type: TensorType.F32, dims: [64] },
    ],
  });
  const path = writeTemp(bytes, 'tiny.gguf');
  const text = runEngineCli(['info', path]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /architecture\s+llama/);
  assert.match(text.stdout, /layers 2, hidden 64, heads 4, kv heads 2, head dim 16, ffn 128, vocab 4, context 512/);
  assert.match(text.stdout, /tensors\s+3 \(Q8_0 2, F32 1\)/);
  assert.match(text.stdout, /parameters\s+.*\(4416\)/);
  assert.match(text.stdout, /tokenizer\s+llama, 4 tokens/);
  assert.match(text.stdout, /chat template\s+yes: \{% for m in messages %\}$/m);

  const json = runEngineCli(['info', path, '--json']);
  assert.equal(json.status, 0, json.stderr);
  const summary = JSON.parse(json.stdout);
  assert.equal(summary.parameters, 64 * 4 + 64 * 64 + 64);
  assert.deepEqual(summary.tensorTypes, { Q8_0: 2, F32: 1 });
  assert.equal(summary.shape.kvHeads, 2);

  const broken = writeTemp(bytes.subarray(0, 40), 'cut.gguf');
  const bad = runEngineCli(['info', broken]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^error: .*cut\.gguf: metadata count 10 is more than the 16 bytes left could hold\n$/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});
