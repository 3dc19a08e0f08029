// The one record every input format is mapped to before it reaches the index.
export interface Paper {
  id: string;
  title: string;
  abstract: string;
  authors: string[];
  year: number | null;
  venue: string;
  categories: string[];
  url: string;
  source: string;
}

/** A record that could not be used: where it is and why. */
export interface BadRecord {
  file: string;
  line: number;
  reason: string;
}

export type ReadResult = { paper: Paper; line: number } | { bad: BadRecord };

/** Title key for de-duplication: case, accents, punctuation and spacing do not matter. */
export function normalizeTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

// Most fields are already tidy: test before paying for a regex replace over a 1 KB abstract.
const untidy = /\s\s|[\t\n\r\f\v\u00a0\u2000-\u200b\u2028\u2029\u3000]/;
const collapse = (s: string) => (untidy.test(s) ? s.replace(/\s+/g, ' ') : s).trim();

/** Checks and tidies a mapped record; returns the reason it is unusable, or the clean paper. */
export function finishPaper(p: Partial<Paper>): Paper | string {
  if (typeof p.id !== 'string' || !p.id.trim()) return 'missing id';
  if (typeof p.title !== 'string' || !collapse(p.title)) return 'missing title';
  if (typeof p.abstract !== 'string' || !collapse(p.abstract)) return 'missing abstract';
  if (p.id.length > 512) return 'id longer than 512 characters';
  const year = p.year ?? null;
  if (year !== null && (!Number.isInteger(year) || year < 1000 || year > 2100)) return `year out of range: ${String(year)}`;
  return {
    id: p.id.trim(),
    title: collapse(p.title),
    abstract: collapse(p.abstract),
    authors: (p.authors ?? []).map(collapse).filter(Boolean),
    year,
    venue: collapse(p.venue ?? ''),
    categories: (p.categories ?? []).map((c) => c.trim()).filter(Boolean),
    url: (p.url ?? '').trim(),
    source: p.source ?? 'unknown',
  };
}
