// Reads any supported input file into Papers, one at a time, reporting bad records by file:line.
import { readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { bibChunks, fromBibtexChunk } from './formats/bibtex.js';
import { fromArxiv, isArxivRecord } from './formats/arxiv.js';
import { fromCsl, isCslRecord } from './formats/csl.js';
import { asObject, FieldError } from './formats/fields.js';
import { fromLitsurvey } from './formats/litsurvey-jsonl.js';
import { readJsonArray } from './json-array.js';
import { readLines } from './lines.js';
import { finishPaper, type Paper, type ReadResult } from './paper.js';

export type InputFormat = 'jsonl' | 'csl-json' | 'bibtex';

export const supportedExtensions = ['.jsonl', '.ndjson', '.json', '.bib'];

/** Expands directories into their supported files (sorted), and checks files exist. */
export function expandInputs(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new Error(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(p)
        .filter((f) => supportedExtensions.includes(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(p, f));
      if (files.length === 0) throw new Error(`${p}: directory has no ${supportedExtensions.join('/')} files`);
      out.push(...files);
    } else out.push(p);
  }
  return out;
}

export function formatOf(path: string): InputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.bib' || ext === '.bibtex') return 'bibtex';
  if (ext === '.json') return 'csl-json';
  return 'jsonl';
}

/** Maps one parsed JSON record, choosing the schema by its fields. */
export function mapJsonRecord(record: unknown): Partial<Paper> {
  const o = asObject(record);
  if (isArxivRecord(o)) return fromArxiv(o);
  if (isCslRecord(o)) return fromCsl(o);
  return fromLitsurvey(o);
}

function toResult(file: string, line: number, mapped: Partial<Paper> | string): ReadResult {
  if (typeof mapped === 'string') return { bad: { file, line, reason: mapped } };
  const done = finishPaper(mapped);
  return typeof done === 'string' ? { bad: { file, line, reason: done } } : { paper: done, line };
}

function fromJsonText(file: string, line: number, text: string): ReadResult {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (e) {
    return { bad: { file, line, reason: `broken JSON: ${(e as Error).message}` } };
  }
  try {
    return toResult(file, line, mapJsonRecord(record));
  } catch (e) {
    if (e instanceof FieldError) return { bad: { file, line, reason: e.message } };
    throw e;
  }
}

/** Streams the records of one file. `onBytes` reports progress through the file. */
export async function* readPapers(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<ReadResult> {
  const format = formatOf(file);
  if (format === 'bibtex') {
    const lines = readLines(file);
    for await (const chunk of bibChunks(lines)) {
      if ('problem' in chunk) {
        yield { bad: { file, line: chunk.line, reason: chunk.problem } };
        continue;
      }
      const mapped = fromBibtexChunk(chunk.text);
      if (mapped !== null) yield toResult(file, chunk.line, mapped);
    }
    return;
  }
  if (format === 'csl-json' && (await firstNonSpace(file)) === '[') {
    for await (const el of readJsonArray(file)) {
      onBytes?.(el.bytesRead);
      if (el.text === null) yield { bad: { file, line: el.line, reason: el.problem ?? 'unreadable element' } };
      else yield fromJsonText(file, el.line, el.text);
    }
    return;
  }
  for await (const l of readLines(file)) {
    onBytes?.(l.bytesRead);
    if (l.text === null) {
      yield { bad: { file, line: l.number, reason: l.problem ?? 'unreadable line' } };
      continue;
    }
    if (!l.text.trim()) continue;
    yield fromJsonText(file, l.number, l.text);
  }
}

async function firstNonSpace(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('latin1').trimStart().replace(/^\uFEFF|^\xEF\xBB\xBF/, '')[0] ?? '';
  } finally {
    await fh.close();
  }
}
