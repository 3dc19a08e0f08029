// Small typed readers for untrusted JSON fields: each returns the value or throws a FieldError naming the field.
export class FieldError extends Error {}

type Obj = Record<string, unknown>;

export function asObject(v: unknown): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FieldError('record is not a JSON object');
  return v as Obj;
}

export function optString(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new FieldError(`field "${key}" must be a string, got ${typeName(v)}`);
  return v;
}

export function optStringArray(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new FieldError(`field "${key}" must be an array of strings`);
  return v as string[];
}

export function optInteger(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && /^\d{4}$/.test(v)) return Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FieldError(`field "${key}" must be an integer, got ${typeName(v)}`);
  return v;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A four-digit year found at the start or anywhere in a date string. */
export function yearOf(date: string | undefined): number | undefined {
  const m = date?.match(/\b(1[89]\d\d|20\d\d)\b/);
  return m ? Number(m[1]) : undefined;
}
