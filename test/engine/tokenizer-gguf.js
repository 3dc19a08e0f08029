// Test helpers for tokenizer tests: read and rewrite GGUF metadata in plain JavaScript (so the
// tests can derive vocab files, e.g. a gpt-2 vocab relabelled with another pre-tokenizer), and
// read llama.cpp's tokenizer test files (.inp / .out).
//
// GGUF layout: 'GGUF', u32 version, u64 n_tensors, u64 n_kv, n_kv × (key string, u32 type,
// value), n_tensors × tensor info, padding to `general.alignment` (default 32), tensor data.
// Strings are u64 length + bytes; arrays are u32 element type + u64 count + elements.
import { readFileSync, writeFileSync } from 'node:fs';

export const GGUF_TYPE = {
  U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12,
};
const SCALAR_SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  u32() {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64() {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  string() {
    const n = this.u64();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type) {
    const b = this.buf;
    const p = this.pos;
    this.pos += SCALAR_SIZE[type];
    switch (type) {
      case 0: return b.readUInt8(p);
      case 1: return b.readInt8(p);
      case 2: return b.readUInt16LE(p);
      case 3: return b.readInt16LE(p);
      case 4: return b.readUInt32LE(p);
      case 5: return b.readInt32LE(p);
      case 6: return b.readFloatLE(p);
      case 7: return b.readUInt8(p) !== 0;
      case 10: return Number(b.readBigUInt64LE(p));
      case 11: return Number(b.readBigInt64LE(p));
      case 12: return b.readDoubleLE(p);
      default: throw new Error(`unknown GGUF scalar type ${type}`);
    }
  }
  value(type) {
    if (type === GGUF_TYPE.STRING) return this.string();
    if (type === GGUF_TYPE.ARRAY) {
      const elemType = this.u32();
      const n = this.u64();
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.value(elemType);
      return { elemType, values: out };
    }
    return this.scalar(type);
  }
}

/** Reads a GGUF file's metadata: [{ key, type, value }] (arrays as { elemType, values }) plus
 * the raw bytes after the metadata (tensor infos and data), kept for a faithful rewrite. */
export function readGgufMetadata(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file`);
  const r = new Reader(buf);
  r.pos = 4;
  const version = r.u32();
  const nTensors = r.u64();
  const nKv = r.u64();
  const kv = [];
  for (let i = 0; i < nKv; i++) {
    const key = r.string();
    const type = r.u32();
    kv.push({ key, type, value: r.value(type) });
  }
  return { version, nTensors, kv, rest: buf.subarray(r.pos) };
}

export function metadataValue(meta, key) {
  const e = meta.kv.find((x) => x.key === key);
  if (!e) return undefined;
  return e.type === GGUF_TYPE.ARRAY ? e.value.values : e.value;
}

function encodeValue(type, value, parts) {
  if (type === GGUF_TYPE.STRING) {
    const bytes = Buffer.from(value, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(len, bytes);
    return;
  }
  if (type === GGUF_TYPE.ARRAY) {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(value.elemType, 0);
    head.writeBigUInt64LE(BigInt(value.values.length), 4);
    parts.push(head);
    for (const v of value.values) encodeValue(value.elemType, v, parts);
    return;
  }
  const b = Buffer.alloc(SCALAR_SIZE[type]);
  switch (type) {
    case 0: b.writeUInt8(value); break;
    case 1: b.writeInt8(value); break;
    case 2: b.writeUInt16LE(value); break;
    case 3: b.writeInt16LE(value); break;
    case 4: b.writeUInt32LE(value); break;
    case 5: b.writeInt32LE(value); break;
    case 6: b.writeFloatLE(value); break;
    case 7: b.writeUInt8(value ? 1 : 0); break;
    case 10: b.writeBigUInt64LE(BigInt(value)); break;
    case 11: b.writeBigInt64LE(BigInt(value)); break;
    case 12: b.writeDoubleLE(value); break;
    default: throw new Error(`unknown GGUF scalar type ${type}`);
  }
  parts.push(b);
}

/** Writes a metadata-only (tensor-free) GGUF v3 file from [{ key, type, value }]. */
export function writeVocabGguf(path, kv) {
  const parts = [];
  const head = Buffer.alloc(24);
  head.write('GGUF', 0, 'latin1');
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(BigInt(kv.length), 16);
  parts.push(head);
  for (const { key, type, value } of kv) {
    encodeValue(GGUF_TYPE.STRING, key, parts);
    const t = Buffer.alloc(4);
    t.writeUInt32LE(type);
    parts.push(t);
    encodeValue(type, value, parts);
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** Copies a tensor-free GGUF with some string keys set (added when missing). */
export function rewriteVocabGguf(src, dst, stringKeys) {
  const meta = readGgufMetadata(src);
  if (meta.nTensors !== 0) throw new Error(`${src}: has tensors; only vocab-only files are rewritten`);
  const kv = meta.kv.map((e) => (e.key in stringKeys ? { key: e.key, type: GGUF_TYPE.STRING, value: stringKeys[e.key] } : e));
  for (const [key, value] of Object.entries(stringKeys)) {
    if (!kv.some((e) => e.key === key)) kv.push({ key, type: GGUF_TYPE.STRING, value });
  }
  writeVocabGguf(dst, kv);
}

/** llama.cpp's tokenizer test files: strings separated by "\n__ggml_vocab_test__\n" (the file
 * ends with a separator) and one line of space-separated ids per string. */
export function readVocabTests(ggufPath) {
  const raw = readFileSync(`${ggufPath}.inp`, 'utf8');
  const sep = '\n__ggml_vocab_test__\n';
  const inputs = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const lines = readFileSync(`${ggufPath}.out`, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== inputs.length) {
    throw new Error(`${ggufPath}: ${inputs.length} test strings but ${lines.length} id lines`);
  }
  return inputs.map((text, i) => {
    const line = lines[i].trim();
    return { text, ids: line === '' ? [] : line.split(' ').map(Number) };
  });
}
