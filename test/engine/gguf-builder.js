// A tiny GGUF writer for tests: valid files of any shape, and the means to break them
// (override counts, raw value types, explicit tensor offsets and data sizes).
export const ValueType = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
};

export const TensorType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 };

// [elements per block, bytes per block]
const BLOCKS = { 0: [1, 4], 1: [1, 2], 2: [32, 18], 8: [32, 34], 12: [256, 144], 14: [256, 210], 30: [1, 2] };

export function tensorBytes(type, dims) {
  const [elems, bytes] = BLOCKS[type];
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return (dims[0] / elems) * bytes * rows;
}

class ByteSink {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(buf) {
    this.parts.push(buf);
    this.length += buf.length;
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    this.push(b);
  }
  str(s) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(alignment) {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  buffer() {
    return Buffer.concat(this.parts);
  }
}

function scalar(sink, type, v) {
  const b = Buffer.alloc(8);
  switch (type) {
    case ValueType.u8: b.writeUInt8(v); return sink.push(b.subarray(0, 1));
    case ValueType.i8: b.writeInt8(v); return sink.push(b.subarray(0, 1));
    case ValueType.bool: b.writeUInt8(v ? 1 : 0); return sink.push(b.subarray(0, 1));
    case ValueType.u16: b.writeUInt16LE(v); return sink.push(b.subarray(0, 2));
    case ValueType.i16: b.writeInt16LE(v); return sink.push(b.subarray(0, 2));
    case ValueType.u32: b.writeUInt32LE(v); return sink.push(b.subarray(0, 4));
    case ValueType.i32: b.writeInt32LE(v); return sink.push(b.subarray(0, 4));
    case ValueType.f32: b.writeFloatLE(v); return sink.push(b.subarray(0, 4));
    case ValueType.u64: b.writeBigUInt64LE(BigInt(v)); return sink.push(b);
    case ValueType.i64: b.writeBigInt64LE(BigInt(v)); return sink.push(b);
    case ValueType.f64: b.writeDoubleLE(v); return sink.push(b);
    case ValueType.string: return sink.str(v);
    default: throw new Error(`builder: no scalar encoding for type ${type}`);
  }
}

/**
 * Builds a GGUF image.
 * kv: [{ key, type: 'u32'|…|'array', value, elemType? }] — or { key, rawType: number, raw: Buffer } for bad values.
 * tensors: [{ name, type: TensorType.X, dims, offset?, bytes? }] — offsets default to packed, aligned.
 * Overrides: magic (4-char string), version, tensorCount, kvCount, alignment (data padding),
 * dataSize (bytes written after the padding; by default what the tensors need).
 */
export function buildGguf({ kv = [], tensors = [], version = 3, magic = 'GGUF', tensorCount, kvCount, alignment = 32, dataSize } = {}) {
  const sink = new ByteSink();
  sink.push(Buffer.from(magic, 'latin1'));
  sink.u32(version);
  sink.u64(tensorCount ?? tensors.length);
  sink.u64(kvCount ?? kv.length);
  for (const e of kv) {
    sink.str(e.key);
    if (e.raw) {
      sink.u32(e.rawType);
      sink.push(e.raw);
      continue;
    }
    const type = ValueType[e.type];
    sink.u32(type);
    if (type === ValueType.array) {
      const elem = ValueType[e.elemType];
      sink.u32(elem);
      sink.u64(e.value.length);
      for (const v of e.value) scalar(sink, elem, v);
    } else {
      scalar(sink, type, e.value);
    }
  }
  let next = 0;
  const placed = tensors.map((t) => {
    const bytes = t.bytes ?? tensorBytes(t.type, t.dims);
    const offset = t.offset ?? next;
    next = Math.max(next, Math.ceil((offset + bytes) / alignment) * alignment);
    return { ...t, offset, bytes };
  });
  for (const t of placed) {
    sink.str(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type);
    sink.u64(t.offset);
  }
  if (placed.length) {
    sink.pad(alignment);
    const end = dataSize ?? Math.max(...placed.map((t) => t.offset + t.bytes));
    const data = Buffer.alloc(end);
    for (let i = 0; i < end; i++) data[i] = (i * 131 + 7) & 0xff;
    sink.push(data);
  }
  return sink.buffer();
}
