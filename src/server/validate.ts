// Small request-body validators that name the offending field in a 400 problem.
import { HttpProblem } from './problem.js';

export type Json = Record<string, unknown>;

export function bad(detail: string): HttpProblem {
  return new HttpProblem(400, 'Bad Request', detail);
}

export function object(v: unknown, what = 'request body'): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be a JSON object`);
  return v as Json;
}

export function optString(o: Json, key: string, max: number): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
  if (v.length > max) throw bad(`"${key}" is longer than ${max} characters`);
  return v;
}

export function reqString(o: Json, key: string, max: number): string {
  const v = optString(o, key, max);
  if (v === undefined || !v.trim()) throw bad(`"${key}" is required`);
  return v;
}

export function optNumber(o: Json, key: string, min: number, max: number, integer = false): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw bad(`"${key}" must be ${integer ? 'an integer' : 'a number'}`);
  if (v < min || v > max) throw bad(`"${key}" must be between ${min} and ${max}`);
  return v;
}

export function optBool(o: Json, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(`"${key}" must be true or false`);
  return v;
}

/** A string or an array of strings (OpenAI's `stop` and `input` fields). */
export function stringOrList(o: Json, key: string, maxItems: number, maxLen: number): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw bad(`"${key}" must be a string or an array of strings`);
  if (list.length > maxItems) throw bad(`"${key}" has more than ${maxItems} items`);
  if (list.some((x: string) => x.length > maxLen)) throw bad(`an item of "${key}" is longer than ${maxLen} characters`);
  return list as string[];
}

export async function jsonBody(req: { json(): Promise<unknown>; header(name: string): string | undefined }): Promise<Json> {
  if (!/^application\/json\b/i.test(req.header('content-type') ?? '')) throw new HttpProblem(415, 'Unsupported Media Type', 'send the body as application/json');
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    throw bad('the body is not valid JSON');
  }
  return object(body);
}
