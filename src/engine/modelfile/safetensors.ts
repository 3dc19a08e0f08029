// Reader for Hugging Face `.safetensors` files: an 8-byte little-endian header length, a JSON
// header { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }, then raw
// little-endian data. Tensors are read by rows, so a large one is never loaded whole.
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { GgmlType } from './ggml-types.js';
import { dequantize } from './quantize.js';

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER_BYTES = 100 << 20;

export interface SafetensorsTensor {
  name: string;
  file: string;
  dtype: string;
  /** Row-major (PyTorch) shape: shape[0] is the number of rows. */
  shape: number[];
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  size: number;
}

function readExact(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n <= 0) throw new Error(`${file}: unexpected end of file`);
    got += n;
  }
  return buf;
}

/** Lists the tensors of one .safetensors file, validating the header against the file size. */
export function readSafetensorsHeader(file: string): SafetensorsTensor[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new Error(`${file}: too short for a safetensors file`);
    const headerLen = readExact(fd, 8, 0, file).readBigUInt64LE(0);
    if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) throw new Error(`${file}: bad safetensors header length ${headerLen}`);
    const dataStart = 8 + Number(headerLen);
    let header: unknown;
    try {
      header = JSON.parse(readExact(fd, Number(headerLen), 8, file).toString('utf8'));
    } catch (e) {
      throw new Error(`${file}: safetensors header is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${file}: safetensors header is not an object`);
    const tensors: SafetensorsTensor[] = [];
    for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const where = `${file}: tensor ${name}`;
      if (typeof t?.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) throw new Error(`${where}: unsupported dtype ${String(t?.dtype)}`);
      if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: bad shape`);
      const offs = t.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
        throw new Error(`${where}: bad data_offsets`);
      }
      const count = (t.shape as number[]).reduce((a, b) => a * b, 1);
      const bytes = count * DTYPE_BYTES[t.dtype];
      if (offs[1] - offs[0] !== bytes) throw new Error(`${where}: data_offsets span ${offs[1] - offs[0]} bytes, shape needs ${bytes}`);
      if (dataStart + offs[1] > size) throw new Error(`${where}: data runs past the end of the file`);
      tensors.push({ name, file, dtype: t.dtype, shape: t.shape as number[], offset: dataStart + offs[0], size: bytes });
    }
    return tensors;
  } finally {
    closeSync(fd);
  }
}

/** All tensors of every *.safetensors file in `dir` (sorted by file name); names must be unique. */
export function readSafetensorsDir(dir: string): Map<string, SafetensorsTensor> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) throw new Error(`${dir}: no *.safetensors files`);
  const all = new Map<string, SafetensorsTensor>();
  for (const f of files) {
    for (const t of readSafetensorsHeader(join(dir, f))) {
      if (all.has(t.name)) throw new Error(`${dir}: tensor ${t.name} appears in both ${all.get(t.name)!.file} and ${t.file}`);
      all.set(t.name, t);
    }
  }
  return all;
}

const FLOAT_DTYPES: Record<string, GgmlType> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

/** Reads rows [start, start+count) of a 1-D or 2-D float tensor as float32. */
export function readRows(t: SafetensorsTensor, start: number, count: number): Float32Array {
  const type = FLOAT_DTYPES[t.dtype];
  if (type === undefined) throw new Error(`${t.file}: tensor ${t.name} has dtype ${t.dtype}; only F32, F16 and BF16 are supported`);
  if (t.shape.length < 1 || t.shape.length > 2) throw new Error(`${t.file}: tensor ${t.name} has ${t.shape.length} dimensions`);
  const rows = t.shape.length === 2 ? t.shape[0] : 1;
  const rowLength = t.shape[t.shape.length - 1];
  if (start < 0 || count < 0 || start + count > rows) throw new Error(`${t.name}: rows ${start}..${start + count} out of range`);
  const elementBytes = DTYPE_BYTES[t.dtype];
  const fd = openSync(t.file, 'r');
  try {
    const bytes = readExact(fd, count * rowLength * elementBytes, t.offset + start * rowLength * elementBytes, t.file);
    return dequantize(type, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), count * rowLength);
  } finally {
    closeSync(fd);
  }
}
