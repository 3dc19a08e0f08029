// CSL-JSON items (Zotero, Pandoc, Crossref): id, title, abstract, author[{family, given, literal}],
// issued{date-parts} or issued.raw, container-title, URL, DOI, keyword.
import type { Paper } from '../paper.js';
import { asObject, FieldError, optString, yearOf } from './fields.js';

export function isCslRecord(o: Record<string, unknown>): boolean {
  return 'issued' in o || 'container-title' in o || ('type' in o && Array.isArray(o.author));
}

function cslYear(issued: unknown): number | undefined {
  if (issued === undefined || issued === null) return undefined;
  if (typeof issued !== 'object') throw new FieldError('field "issued" must be an object');
  const i = issued as Record<string, unknown>;
  const parts = i['date-parts'];
  if (Array.isArray(parts) && Array.isArray(parts[0]) && parts[0].length > 0) {
    const y = Number(parts[0][0]);
    if (Number.isInteger(y)) return y;
    throw new FieldError('field "issued.date-parts" must start with an integer year');
  }
  if (typeof i.raw === 'string') return yearOf(i.raw);
  if (typeof i.literal === 'string') return yearOf(i.literal);
  return undefined;
}

function cslAuthors(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new FieldError('field "author" must be an array');
  return v.map((a, i) => {
    if (typeof a !== 'object' || a === null) throw new FieldError(`field "author[${i}]" must be an object`);
    const n = a as Record<string, unknown>;
    if (typeof n.literal === 'string') return n.literal;
    return [n.given, n.family].filter((x): x is string => typeof x === 'string').join(' ');
  });
}

export function fromCsl(record: unknown): Partial<Paper> {
  const o = asObject(record);
  const rawId = o.id;
  if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number') throw new FieldError('field "id" must be a string or number');
  const doi = optString(o, 'DOI');
  const url = optString(o, 'URL') ?? (doi ? `https://doi.org/${doi}` : '');
  const keywords = optString(o, 'keyword');
  return {
    id: rawId !== undefined ? String(rawId) : doi ? `doi:${doi}` : undefined,
    title: optString(o, 'title'),
    abstract: optString(o, 'abstract'),
    authors: cslAuthors(o.author),
    year: cslYear(o.issued) ?? null,
    venue: optString(o, 'container-title') ?? optString(o, 'publisher') ?? '',
    categories: keywords ? keywords.split(/[,;]\s*/).filter(Boolean) : [],
    url,
    source: 'csl-json',
  };
}
