// litsurvey's own JSONL schema (the corpus bundle's): id, title, abstract, authors[], year, venue, categories[], url, source.
import type { Paper } from '../paper.js';
import { asObject, optInteger, optString, optStringArray } from './fields.js';

export function fromLitsurvey(record: unknown): Partial<Paper> {
  const o = asObject(record);
  return {
    id: optString(o, 'id'),
    title: optString(o, 'title'),
    abstract: optString(o, 'abstract'),
    authors: optStringArray(o, 'authors'),
    year: optInteger(o, 'year') ?? null,
    venue: optString(o, 'venue'),
    categories: optStringArray(o, 'categories'),
    url: optString(o, 'url'),
    source: optString(o, 'source') ?? 'litsurvey-jsonl',
  };
}
