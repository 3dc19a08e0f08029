// Input parsers of the converter: SentencePiece tokenizer.model, safetensors headers and tensor
// rows, Hugging Face config.json. Real files parse; damaged ones are clean Errors, never crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSentencePieceModel, PieceType } from '../../dist/engine/modelfile/sentencepiece-model.js';
import { readSafetensorsHeader, readSafetensorsDir, readRows } from '../../dist/engine/modelfile/safetensors.js';
import { shapeFromHfConfig } from '../../dist/engine/modelfile/shapes.js';
import { Rng } from '../../dist/engine/modelfile/synth.js';

const SHARED = new URL('../../../shared/models/minicpm4-0.5b/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'litsurvey-parsers-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('MiniCPM4 tokenizer.model: pieces, scores, types and normalizer flags', () => {
  const m = parseSentencePieceModel(readFileSync(join(SHARED, 'tokenizer.model')), 'tokenizer.model');
  // Values checked against the SentencePiece library on the same file.
  assert.equal(m.pieces.length, 73440);
  assert.deepEqual(m.pieces.slice(0, 3).map((p) => [p.piece, p.type]), [['<unk>', PieceType.UNKNOWN], ['<s>', PieceType.CONTROL], ['</s>', PieceType.CONTROL]]);
  assert.equal(m.pieces[5].piece, '\n');
  assert.equal(m.pieces[73439].piece, '<unused18>');
  assert.equal(m.addDummyPrefix, false);
  assert.ok(m.pieces.some((p) => p.type === PieceType.BYTE && p.piece === '<0x41>'));
  assert.ok(m.pieces.some((p) => p.score < 0));
});

test('damaged tokenizer.model bytes give Errors', () => {
  const good = readFileSync(join(SHARED, 'tokenizer.model')).subarray(0, 4096);
  const rng = new Rng(17);
  let failures = 0;
  for (let trial = 0; trial < 200; trial++) {
    const bytes = Buffer.from(good.subarray(0, 64 + (rng.u32() % 4000)));
    for (let k = 0; k < 4; k++) bytes[rng.u32() % bytes.length] = rng.u32() & 0xff;
    try {
      parseSentencePieceModel(bytes, 'fuzz');
    } catch (e) {
      assert.ok(e instanceof Error && /fuzz/.test(e.message), String(e));
      failures++;
    }
  }
  assert.ok(failures > 100, `most damaged inputs are rejected (${failures})`);
  assert.throws(() => parseSentencePieceModel(new Uint8Array(0), 'empty'), /no pieces/);
});

function safetensors(header, data = Buffer.alloc(0)) {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

test('safetensors: rows of F32, F16 and BF16 tensors; bad headers are errors naming the tensor', () => {
  const ok = join(dir, 'model.safetensors');
  const f32 = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0000]).buffer);
  const bf16 = Buffer.from(new Uint16Array([0x3f80, 0x4049]).buffer);
  writeFileSync(ok, safetensors({
    a: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 24] },
    b: { dtype: 'F16', shape: [2, 2], data_offsets: [24, 32] },
    c: { dtype: 'BF16', shape: [2], data_offsets: [32, 36] },
    __metadata__: { format: 'pt' },
  }, Buffer.concat([f32, f16, bf16])));
  const all = readSafetensorsDir(dir);
  assert.deepEqual([...all.keys()], ['a', 'b', 'c']);
  assert.deepEqual(Array.from(readRows(all.get('a'), 1, 2)), [3, 4, 5, 6]);
  assert.deepEqual(Array.from(readRows(all.get('b'), 0, 2)), [1, -2, 0.5, 0]);
  assert.deepEqual(Array.from(readRows(all.get('c'), 0, 1)), [1, 3.140625]);
  assert.throws(() => readRows(all.get('a'), 2, 2), /out of range/);

  const bad = join(dir, 'bad.safetensors');
  const cases = [
    [Buffer.alloc(4), /too short/],
    [Buffer.concat([Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]), Buffer.alloc(16)]), /bad safetensors header length/],
    [safetensors({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), /tensor x: data runs past the end/],
    [safetensors({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor x: data_offsets span 8 bytes, shape needs 12/],
    [safetensors({ x: { dtype: 'Q9', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /tensor x: unsupported dtype Q9/],
    [safetensors({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /tensor x: bad shape/],
    [Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x:')]), /not valid JSON/],
  ];
  for (const [bytes, message] of cases) {
    writeFileSync(bad, bytes);
    assert.throws(() => readSafetensorsHeader(bad), message);
  }
  const i64 = join(dir, 'int.safetensors');
  writeFileSync(i64, safetensors({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)));
  assert.throws(() => readRows(readSafetensorsHeader(i64)[0], 0, 1), /only F32, F16 and BF16/);
});

test('config.json validation names the field', () => {
  const base = JSON.parse(readFileSync(join(SHARED, 'config.json'), 'utf8'));
  const shape = shapeFromHfConfig(base, 'config.json');
  assert.equal(shape.arch, 'minicpm');
  assert.equal(shape.ropeFactors.length, 32);
  assert.equal(shape.tied, true);
  assert.deepEqual(shape.minicpm, { scaleEmb: 12, scaleDepth: 1.4, dimModelBase: 256 });
  const broken = [
    [{ hidden_size: undefined }, /missing "hidden_size"/],
    [{ num_hidden_layers: 2.5 }, /"num_hidden_layers" must be a positive integer/],
    [{ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads/],
    [{ architectures: [] }, /missing "architectures"/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /unsupported rope_scaling type yarn/],
    [{ rope_scaling: { ...base.rope_scaling, long_factor: [1, 2] } }, /long_factor must be 32 positive numbers/],
    [{ scale_emb: 'twelve' }, /"scale_emb" must be a number/],
  ];
  for (const [change, message] of broken) {
    assert.throws(() => shapeFromHfConfig({ ...base, ...change }, 'config.json'), message);
  }
});
