// GGUF metadata values as litsurvey's writer and reader exchange them. A string may be held as
// raw bytes when the file's bytes are not valid UTF-8, so copying metadata is lossless.

export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufTypeName = keyof typeof GGUF_VALUE_TYPE;
export type GgufScalarType = Exclude<GgufTypeName, 'array'>;
export type GgufString = string | Uint8Array;
export type GgufScalar = number | bigint | boolean | GgufString;

export type GgufValue =
  | { type: GgufScalarType; value: GgufScalar }
  | { type: 'array'; itemType: GgufScalarType; values: ArrayLike<GgufScalar> };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: GgufString): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufScalarType, values: ArrayLike<GgufScalar>): GgufValue => ({ type: 'array', itemType, values }),
};

export const GGUF_TYPE_BY_CODE: Record<number, GgufTypeName> = Object.fromEntries(
  Object.entries(GGUF_VALUE_TYPE).map(([name, code]) => [code, name as GgufTypeName]),
);
