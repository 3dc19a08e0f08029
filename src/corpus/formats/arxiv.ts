// The arXiv metadata snapshot (Kaggle / Cornell): id, title, abstract, authors or authors_parsed,
// categories (space-separated), update_date, versions[].created, journal-ref.
import type { Paper } from '../paper.js';
import { asObject, FieldError, optString, yearOf } from './fields.js';

export function isArxivRecord(o: Record<string, unknown>): boolean {
  return 'authors_parsed' in o || 'update_date' in o || ('submitter' in o && typeof o.categories === 'string');
}

function authorsOf(o: Record<string, unknown>): string[] {
  const parsed = o.authors_parsed;
  if (parsed !== undefined && parsed !== null) {
    if (!Array.isArray(parsed)) throw new FieldError('field "authors_parsed" must be an array');
    return parsed.map((a, i) => {
      if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) throw new FieldError(`field "authors_parsed[${i}]" must be an array of strings`);
      const [family = '', given = '', suffix = ''] = a as string[];
      return [given, family, suffix].filter(Boolean).join(' ');
    });
  }
  const flat = optString(o, 'authors');
  return flat ? flat.split(/,\s*|\s+and\s+/).map((s) => s.trim()).filter(Boolean) : [];
}

export function fromArxiv(record: unknown): Partial<Paper> {
  const o = asObject(record);
  const rawId = optString(o, 'id');
  const id = rawId?.trim().replace(/v\d+$/, '');
  let created: string | undefined;
  if (Array.isArray(o.versions) && o.versions.length > 0) {
    const first = o.versions[0] as Record<string, unknown> | null;
    if (first && typeof first.created === 'string') created = first.created;
  }
  const year = yearOf(created) ?? yearOf(optString(o, 'update_date')) ?? null;
  const categories = optString(o, 'categories');
  return {
    id: id ? `arxiv:${id}` : undefined,
    title: optString(o, 'title'),
    abstract: optString(o, 'abstract'),
    authors: authorsOf(o),
    year,
    venue: optString(o, 'journal-ref') ?? 'arXiv',
    categories: categories ? categories.split(/\s+/).filter(Boolean) : [],
    url: id ? `https://arxiv.org/abs/${id}` : '',
    source: 'arxiv-snapshot',
  };
}
