// GGUF (v2/v3) header reader: metadata and tensor table, read through a small window so a large
// model file is never loaded whole. Every length and count is checked against the file size.
// Used to copy a vocabulary out of a vocab-only GGUF, to re-read converted files in tests, and
// to read tensor data back (readTensorBytes).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GGUF_TYPE_BY_CODE, type GgufScalar, type GgufScalarType, type GgufTypeName, type GgufValue } from './gguf-value.js';
import { type GgmlType, isGgmlType } from './ggml-types.js';
import { tensorByteSize } from './gguf-writer.js';

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlType;
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  size: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  fileSize: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class WindowReader {
  private buf = Buffer.alloc(1 << 20);
  private bufStart = 0;
  private bufEnd = 0;
  pos = 0;

  constructor(private readonly fd: number, readonly size: number, private readonly path: string) {}

  private fail(what: string): never {
    throw new Error(`${this.path}: bad GGUF: ${what} at byte ${this.pos}`);
  }

  /** Ensures bytes [pos, pos+n) are buffered; returns their offset in the buffer. */
  private need(n: number, what: string): number {
    if (this.pos + n > this.size) this.fail(`${what} runs past the end of the file`);
    if (this.pos >= this.bufStart && this.pos + n <= this.bufEnd) return this.pos - this.bufStart;
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
    const want = Math.min(this.buf.length, this.size - this.pos);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, this.buf, got, want - got, this.pos + got);
      if (r <= 0) break;
      got += r;
    }
    if (got < n) this.fail(`short read for ${what}`);
    this.bufStart = this.pos;
    this.bufEnd = this.pos + got;
    return 0;
  }

  u8(): number { const o = this.need(1, 'u8'); this.pos += 1; return this.buf.readUInt8(o); }
  i8(): number { const o = this.need(1, 'i8'); this.pos += 1; return this.buf.readInt8(o); }
  u16(): number { const o = this.need(2, 'u16'); this.pos += 2; return this.buf.readUInt16LE(o); }
  i16(): number { const o = this.need(2, 'i16'); this.pos += 2; return this.buf.readInt16LE(o); }
  u32(): number { const o = this.need(4, 'u32'); this.pos += 4; return this.buf.readUInt32LE(o); }
  i32(): number { const o = this.need(4, 'i32'); this.pos += 4; return this.buf.readInt32LE(o); }
  f32(): number { const o = this.need(4, 'f32'); this.pos += 4; return this.buf.readFloatLE(o); }
  f64(): number { const o = this.need(8, 'f64'); this.pos += 8; return this.buf.readDoubleLE(o); }
  u64big(): bigint { const o = this.need(8, 'u64'); this.pos += 8; return this.buf.readBigUInt64LE(o); }
  i64big(): bigint { const o = this.need(8, 'i64'); this.pos += 8; return this.buf.readBigInt64LE(o); }

  /** A u64 that must fit a JS number and be at most `max`. */
  count(what: string, max: number): number {
    const v = this.u64big();
    if (v > BigInt(max)) this.fail(`${what} ${v} is too large`);
    return Number(v);
  }

  string(what: string): string | Uint8Array {
    const n = this.count(`${what} length`, this.size - this.pos);
    const o = this.need(n, what);
    const bytes = this.buf.subarray(o, o + n);
    this.pos += n;
    try {
      return utf8.decode(bytes);
    } catch {
      return new Uint8Array(bytes);
    }
  }
}

const MIN_ITEM_BYTES: Record<GgufScalarType, number> = {
  u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8, string: 8,
};

function readScalar(r: WindowReader, type: GgufScalarType, key: string): GgufScalar {
  switch (type) {
    case 'u8': return r.u8();
    case 'i8': return r.i8();
    case 'u16': return r.u16();
    case 'i16': return r.i16();
    case 'u32': return r.u32();
    case 'i32': return r.i32();
    case 'f32': return r.f32();
    case 'f64': return r.f64();
    case 'bool': return r.u8() !== 0;
    case 'u64': { const v = r.u64big(); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
    case 'i64': { const v = r.i64big(); return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
    case 'string': return r.string(`string value of ${key}`);
  }
}

function valueType(r: WindowReader, key: string): GgufTypeName {
  const code = r.u32();
  const name = GGUF_TYPE_BY_CODE[code];
  if (name === undefined) throw new Error(`${key}: unknown GGUF value type ${code}`);
  return name;
}

function readValue(r: WindowReader, key: string): GgufValue {
  const type = valueType(r, key);
  if (type !== 'array') return { type, value: readScalar(r, type, key) };
  const itemType = valueType(r, key);
  if (itemType === 'array') throw new Error(`${key}: nested GGUF arrays are not supported`);
  const n = r.count(`${key} array length`, Math.floor((r.size - r.pos) / MIN_ITEM_BYTES[itemType]));
  let values: ArrayLike<GgufScalar>;
  if (itemType === 'f32') {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = r.f32();
    values = a;
  } else if (itemType === 'i32') {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = r.i32();
    values = a;
  } else {
    const a: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = readScalar(r, itemType, key);
    values = a;
  }
  return { type: 'array', itemType, values };
}

export function readGguf(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const r = new WindowReader(fd, size, path);
    const magic = [r.u8(), r.u8(), r.u8(), r.u8()];
    if (String.fromCharCode(...magic) !== 'GGUF') throw new Error(`${path}: not a GGUF file (bad magic)`);
    const version = r.u32();
    if (version !== 2 && version !== 3) throw new Error(`${path}: unsupported GGUF version ${version}`);
    const nTensors = r.count('tensor count', Math.floor(size / 24));
    const nKv = r.count('metadata count', Math.floor(size / 12));
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = r.string('metadata key');
      if (typeof key !== 'string') throw new Error(`${path}: metadata key ${i} is not UTF-8`);
      if (metadata.has(key)) throw new Error(`${path}: duplicate metadata key ${key}`);
      metadata.set(key, readValue(r, key));
    }
    const alignValue = metadata.get('general.alignment');
    const alignment = alignValue && alignValue.type === 'u32' ? Number(alignValue.value) : 32;
    if (!(alignment > 0) || alignment % 8 !== 0) throw new Error(`${path}: bad general.alignment ${alignment}`);
    const raw: Omit<GgufTensorInfo, 'offset'>[] = [];
    const relOffsets: number[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = r.string('tensor name');
      if (typeof name !== 'string') throw new Error(`${path}: tensor name ${i} is not UTF-8`);
      const nDims = r.u32();
      if (nDims < 1 || nDims > 4) throw new Error(`${path}: tensor ${name} has ${nDims} dimensions`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(r.count(`tensor ${name} dimension`, size));
      const type = r.u32();
      if (!isGgmlType(type)) throw new Error(`${path}: tensor ${name} has unsupported ggml type ${type}`);
      relOffsets.push(r.count(`tensor ${name} offset`, size));
      raw.push({ name, dims, type, size: tensorByteSize(dims, type) });
    }
    const dataOffset = Math.ceil(r.pos / alignment) * alignment;
    const tensors = raw.map((t, i) => {
      const offset = dataOffset + relOffsets[i];
      if (relOffsets[i] % alignment !== 0) throw new Error(`${path}: tensor ${t.name} is not aligned`);
      if (offset + t.size > size) throw new Error(`${path}: tensor ${t.name} runs past the end of the file`);
      return { ...t, offset };
    });
    return { path, version, metadata, tensors, dataOffset, fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/** Reads one tensor's raw bytes. */
export function readTensorBytes(file: GgufFile, name: string): Uint8Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`${file.path}: no tensor ${name}`);
  const out = Buffer.alloc(t.size);
  const fd = openSync(file.path, 'r');
  try {
    let got = 0;
    while (got < t.size) {
      const n = readSync(fd, out, got, t.size - got, t.offset + got);
      if (n <= 0) throw new Error(`${file.path}: short read in tensor ${name}`);
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
