// Reader for SentencePiece `tokenizer.model` files: a protobuf ModelProto, of which we need
//   1: repeated SentencePiece pieces { 1: string piece, 2: float score, 3: enum Type type }
//   2: TrainerSpec { 3: model_type (1 unigram, 2 BPE, …), 35: byte_fallback }
//   3: NormalizerSpec { 3: add_dummy_prefix (default true), 4: remove_extra_whitespaces (default true) }
// A minimal protobuf wire-format reader; unknown fields are skipped, malformed input throws.

export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class ProtoReader {
  pos: number;

  constructor(private readonly buf: Uint8Array, start: number, readonly end: number, private readonly source: string) {
    this.pos = start;
  }

  private fail(what: string): never {
    throw new Error(`${this.source}: bad SentencePiece model: ${what} at byte ${this.pos}`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      if (i < 8) result += (b & 0x7f) * mul; // values beyond 2^56 lose precision; none we use are that large
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** Returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) this.fail('field number 0');
    return [field, t % 8];
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited field: returns its [start, end). */
  span(): [number, number] {
    const n = this.varint();
    if (n > this.end - this.pos) this.fail(`length ${n} past the end of the message`);
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_I64: if (this.pos + 8 > this.end) this.fail('truncated fixed64'); this.pos += 8; return;
      case WIRE_LEN: this.span(); return;
      case WIRE_I32: if (this.pos + 4 > this.end) this.fail('truncated fixed32'); this.pos += 4; return;
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }

  bytes(span: [number, number]): Uint8Array {
    return this.buf.subarray(span[0], span[1]);
  }

  sub(span: [number, number]): ProtoReader {
    return new ProtoReader(this.buf, span[0], span[1], this.source);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readPiece(r: ProtoReader, index: number, source: string): SentencePiece {
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.NORMAL;
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) {
      const bytes = r.bytes(r.span());
      try {
        piece = utf8.decode(bytes);
      } catch {
        throw new Error(`${source}: piece ${index} is not valid UTF-8`);
      }
    } else if (field === 2 && wire === WIRE_I32) {
      score = r.float32();
    } else if (field === 3 && wire === WIRE_VARINT) {
      type = r.varint();
      if (type < 1 || type > 6) throw new Error(`${source}: piece ${index} has unknown type ${type}`);
    } else {
      r.skip(wire);
    }
  }
  if (piece === undefined) throw new Error(`${source}: piece ${index} has no text`);
  return { piece, score, type };
}

/** Parses a serialized SentencePiece ModelProto. `source` names the file in errors. */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
  };
  const r = new ProtoReader(bytes, 0, bytes.length, source);
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (wire !== WIRE_LEN || field < 1 || field > 3) {
      r.skip(wire);
      continue;
    }
    const sub = r.sub(r.span());
    if (field === 1) {
      model.pieces.push(readPiece(sub, model.pieces.length, source));
      continue;
    }
    while (!sub.done()) {
      const [f, w] = sub.tag();
      if (w !== WIRE_VARINT) {
        sub.skip(w);
      } else if (field === 2 && f === 3) {
        model.modelType = sub.varint();
      } else if (field === 2 && f === 35) {
        model.byteFallback = sub.varint() !== 0;
      } else if (field === 3 && f === 3) {
        model.addDummyPrefix = sub.varint() !== 0;
      } else if (field === 3 && f === 4) {
        model.removeExtraWhitespaces = sub.varint() !== 0;
      } else {
        sub.varint();
      }
    }
  }
  if (model.pieces.length === 0) throw new Error(`${source}: SentencePiece model has no pieces`);
  return model;
}
