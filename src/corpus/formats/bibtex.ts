// BibTeX / BibLaTeX entries with abstracts, parsed one entry at a time with @retorquere/bibtex-parser
// so a large .bib streams and a broken entry is reported by its line without losing its neighbours.
import { parse } from '@retorquere/bibtex-parser';
import type { Paper } from '../paper.js';
import { yearOf } from './fields.js';

const entryStart = /^\s*@([A-Za-z]+)\s*[{(]/;
const nonEntries = new Set(['comment', 'preamble', 'string']);

export interface BibChunk {
  line: number;
  text: string;
}

/** Groups lines into entry chunks: each chunk starts at a line that opens an entry. */
export async function* bibChunks(lines: AsyncIterable<{ number: number; text: string | null; problem?: string }>): AsyncGenerator<BibChunk | { line: number; problem: string }> {
  let current: { line: number; parts: string[]; bytes: number } | null = null;
  for await (const l of lines) {
    if (l.text === null) {
      if (current) yield { line: current.line, text: current.parts.join('\n') };
      current = null;
      yield { line: l.number, problem: l.problem ?? 'unreadable line' };
      continue;
    }
    if (entryStart.test(l.text)) {
      if (current) yield { line: current.line, text: current.parts.join('\n') };
      current = { line: l.number, parts: [l.text], bytes: l.text.length };
    } else if (current) {
      current.bytes += l.text.length;
      if (current.bytes > 1 << 20) {
        yield { line: current.line, problem: 'entry longer than 1 MB' };
        current = null;
      } else current.parts.push(l.text);
    }
  }
  if (current) yield { line: current.line, text: current.parts.join('\n') };
}

const stripMarkup = (s: string) => s.replace(/<\/?[a-z][^>]*>/gi, '');

/** Parses one entry chunk. Returns null for @string/@comment/@preamble, a reason string for a broken entry. */
export function fromBibtexChunk(text: string): Partial<Paper> | null | string {
  const kind = entryStart.exec(text)?.[1]?.toLowerCase();
  if (kind && nonEntries.has(kind)) return null;
  let lib;
  try {
    lib = parse(text, { english: false, unsupported: 'ignore' });
  } catch (e) {
    return `BibTeX parse error: ${(e as Error).message}`;
  }
  if (lib.errors.length > 0) return `BibTeX parse error: ${lib.errors[0]!.error}`;
  const entry = lib.entries[0];
  if (!entry) return 'no BibTeX entry found';
  const f = entry.fields as Record<string, unknown>;
  const str = (k: string) => (typeof f[k] === 'string' ? stripMarkup(f[k] as string) : undefined);
  const authors = Array.isArray(f.author)
    ? (f.author as { name?: string; firstName?: string; lastName?: string }[]).map((a) => a.name ?? [a.firstName, a.lastName].filter(Boolean).join(' '))
    : [];
  const eprint = str('eprint');
  const isArxiv = (str('archiveprefix') ?? str('eprinttype') ?? '').toLowerCase() === 'arxiv';
  const doi = str('doi');
  const keywords = Array.isArray(f.keywords) ? (f.keywords as unknown[]).filter((k): k is string => typeof k === 'string') : [];
  return {
    id: isArxiv && eprint ? `arxiv:${eprint.replace(/v\d+$/, '')}` : doi ? `doi:${doi}` : `bib:${entry.key}`,
    title: str('title'),
    abstract: str('abstract'),
    authors,
    year: yearOf(str('year') ?? str('date')) ?? null,
    venue: str('journal') ?? str('booktitle') ?? str('journaltitle') ?? str('publisher') ?? '',
    categories: keywords,
    url: str('url') ?? (isArxiv && eprint ? `https://arxiv.org/abs/${eprint}` : doi ? `https://doi.org/${doi}` : ''),
    source: 'bibtex',
  };
}
