// GGUF v3 writer that streams tensor data to the file, so a large model never sits whole in
// memory: the header (metadata + tensor table) is computed up front from each tensor's shape and
// type, then each tensor's bytes are pulled from its producer and written in order, each padded
// to `general.alignment`. The file is written to a temporary name and renamed when complete.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { GGUF_VALUE_TYPE, type GgufScalar, type GgufScalarType, type GgufValue } from './gguf-value.js';
import { type GgmlType, ggmlTypeName, rowBytes } from './ggml-types.js';

export const GGUF_ALIGNMENT = 32;

export interface TensorSource {
  name: string;
  /** ggml order: dims[0] is the row length (contiguous), then rows, … */
  dims: number[];
  type: GgmlType;
  /** Yields the tensor's bytes in order; their total must equal the tensor's size. */
  chunks: () => Iterable<Uint8Array>;
}

export function tensorByteSize(dims: number[], type: GgmlType): number {
  if (dims.length < 1 || dims.length > 4) throw new Error(`a tensor has 1 to 4 dimensions, got ${dims.length}`);
  let rows = 1;
  for (const d of dims.slice(1)) {
    if (!Number.isSafeInteger(d) || d <= 0) throw new Error(`bad tensor dimension ${d}`);
    rows *= d;
  }
  if (!(dims[0] > 0)) throw new Error(`bad tensor dimension ${dims[0]}`);
  return rowBytes(type, dims[0]) * rows;
}

/** Growable little-endian byte buffer for the header. */
class ByteBuilder {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u8(v: number): void { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number | bigint): void { this.reserve(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number | bigint): void { this.reserve(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }

  string(s: string | Uint8Array): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u64(b.length);
    this.bytes(b);
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(b: ByteBuilder, type: GgufScalarType, v: GgufScalar, key: string): void {
  const num = (): number => {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`GGUF key ${key}: expected a number for ${type}`);
    return Number(v);
  };
  switch (type) {
    case 'u8': b.u8(num()); return;
    case 'i8': b.i8(num()); return;
    case 'u16': b.u16(num()); return;
    case 'i16': b.i16(num()); return;
    case 'u32': b.u32(num()); return;
    case 'i32': b.i32(num()); return;
    case 'f32': b.f32(num()); return;
    case 'f64': b.f64(num()); return;
    case 'u64':
    case 'i64':
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`GGUF key ${key}: expected a number for ${type}`);
      if (type === 'u64') b.u64(v); else b.i64(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new Error(`GGUF key ${key}: expected a boolean`);
      b.u8(v ? 1 : 0);
      return;
    case 'string':
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw new Error(`GGUF key ${key}: expected a string`);
      b.string(v);
      return;
  }
}

function writeValue(b: ByteBuilder, key: string, value: GgufValue): void {
  b.u32(GGUF_VALUE_TYPE[value.type]);
  if (value.type === 'array') {
    b.u32(GGUF_VALUE_TYPE[value.itemType]);
    b.u64(value.values.length);
    for (let i = 0; i < value.values.length; i++) writeScalar(b, value.itemType, value.values[i], key);
  } else {
    writeScalar(b, value.type, value.value, key);
  }
}

/** Buffered synchronous file writer (large sequential writes, few syscalls). */
class FileSink {
  private buf = Buffer.alloc(1 << 22);
  private used = 0;
  written = 0;

  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array): void {
    if (bytes.length >= this.buf.length) {
      this.flush();
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } else {
      if (this.used + bytes.length > this.buf.length) this.flush();
      this.buf.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.written += bytes.length;
  }

  zeros(n: number): void {
    if (n > 0) this.write(new Uint8Array(n));
  }

  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }
}

export interface WriteGgufOptions {
  /** Called after each tensor is written: (index, count, tensor name). */
  onTensor?: (index: number, count: number, name: string) => void;
}

/** An onTensor callback that logs "<label>: i/n tensors (name), t s" at most every 2 s and at the end. */
export function tensorProgress(label: string, log: ((line: string) => void) | undefined): WriteGgufOptions['onTensor'] {
  if (!log) return undefined;
  const started = Date.now();
  let lastReport = started;
  return (i, n, name) => {
    const now = Date.now();
    if (now - lastReport > 2000 || i === n - 1) {
      lastReport = now;
      log(`${label}: ${i + 1}/${n} tensors (${name}), ${((now - started) / 1000).toFixed(1)} s`);
    }
  };
}

/**
 * Writes a GGUF v3 file. `metadata` is written in insertion order; `general.alignment` is set to
 * 32 unless given. Tensor names must be unique. Returns the file size in bytes.
 */
export function writeGguf(
  path: string,
  metadata: Map<string, GgufValue>,
  tensors: TensorSource[],
  options: WriteGgufOptions = {},
): number {
  const kv = new Map(metadata);
  if (!kv.has('general.alignment')) kv.set('general.alignment', { type: 'u32', value: GGUF_ALIGNMENT });
  const alignEntry = kv.get('general.alignment')!;
  if (alignEntry.type !== 'u32' || typeof alignEntry.value !== 'number' || alignEntry.value <= 0 || alignEntry.value % 8 !== 0) {
    throw new Error('general.alignment must be a u32 multiple of 8');
  }
  const alignment = alignEntry.value;

  const header = new ByteBuilder();
  header.bytes(Buffer.from('GGUF', 'latin1'));
  header.u32(3);
  header.u64(tensors.length);
  header.u64(kv.size);
  for (const [key, value] of kv) {
    header.string(key);
    writeValue(header, key, value);
  }
  const names = new Set<string>();
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    const size = tensorByteSize(t.dims, t.type);
    sizes.push(size);
    header.string(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(t.type);
    header.u64(offset);
    offset += size + ((alignment - (size % alignment)) % alignment);
  }
  header.padTo(alignment);

  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    const sink = new FileSink(fd);
    sink.write(header.result());
    tensors.forEach((t, i) => {
      const start = sink.written;
      let overflow = false;
      for (const chunk of t.chunks()) {
        if (sink.written - start + chunk.length > sizes[i]) {
          overflow = true;
          break;
        }
        sink.write(chunk);
      }
      const got = sink.written - start;
      if (overflow || got !== sizes[i]) {
        throw new Error(`tensor ${t.name} (${ggmlTypeName(t.type)} [${t.dims.join(', ')}]): producer gave ${overflow ? 'more than ' + sizes[i] : got} bytes, expected ${sizes[i]}`);
      }
      sink.zeros((alignment - (sizes[i] % alignment)) % alignment);
      options.onTensor?.(i, tensors.length, t.name);
    });
    sink.flush();
    closeSync(fd);
    renameSync(tmp, path);
    ok = true;
    return sink.written;
  } finally {
    if (!ok) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(tmp, { force: true });
    }
  }
}
