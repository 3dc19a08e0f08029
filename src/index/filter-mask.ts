// The search filters (year range, categories, venue) as a per-row mask over columns kept in memory
// beside the resident vectors, with the same meaning as `filterSql` gives them in LanceDB: a row
// without a year fails a year bound, categories match exactly, the venue is a case-insensitive
// substring with `%` and `_` dropped. Per-row arrays live in SharedArrayBuffers; the distinct
// venue and category strings are small and copied.
import type { SearchFilters } from './search.js';

export interface FilterColumns {
  /** Year per row; NO_YEAR where the year is null. */
  years: Int32Array;
  /** Index into `venues` per row. */
  venueOf: Uint32Array;
  venues: string[];
  /** Row r's categories are categoryIds[categoryStart[r] .. categoryStart[r + 1]), indexes into `categories`. */
  categoryStart: Uint32Array;
  categoryIds: Uint32Array;
  categories: string[];
}

export const NO_YEAR = -0x80000000;

function sharedCopy<T extends Int32Array | Uint32Array>(Kind: new (b: SharedArrayBuffer) => T, items: number[]): T {
  const a = new Kind(new SharedArrayBuffer(items.length * 4));
  a.set(items);
  return a;
}

/** Builds the columns from per-row values, in row order. */
export function filterColumns(rows: { year: number | null; venue: string; categories: string[] }[]): FilterColumns {
  const venueIndex = new Map<string, number>();
  const categoryIndex = new Map<string, number>();
  const intern = (m: Map<string, number>, s: string) => m.get(s) ?? (m.set(s, m.size), m.size - 1);
  const years: number[] = [];
  const venueOf: number[] = [];
  const categoryStart: number[] = [0];
  const categoryIds: number[] = [];
  for (const r of rows) {
    years.push(r.year ?? NO_YEAR);
    venueOf.push(intern(venueIndex, r.venue));
    for (const c of r.categories) categoryIds.push(intern(categoryIndex, c));
    categoryStart.push(categoryIds.length);
  }
  return {
    years: sharedCopy(Int32Array, years),
    venueOf: sharedCopy(Uint32Array, venueOf),
    venues: [...venueIndex.keys()],
    categoryStart: sharedCopy(Uint32Array, categoryStart),
    categoryIds: sharedCopy(Uint32Array, categoryIds),
    categories: [...categoryIndex.keys()],
  };
}

/** 1 for rows passing the filters, 0 for the others; null when no filter is set. */
export function filterMask(c: FilterColumns, f: SearchFilters = {}): Uint8Array | null {
  const since = f.since !== undefined ? Math.trunc(f.since) : undefined;
  const until = f.until !== undefined ? Math.trunc(f.until) : undefined;
  const categories = f.categories?.length ? new Set(f.categories) : undefined;
  const venueText = f.venue ? f.venue.toLowerCase().replace(/[%_]/g, '') : undefined;
  if (since === undefined && until === undefined && !categories && venueText === undefined) return null;
  const venueOk = venueText === undefined ? null : Uint8Array.from(c.venues, (v) => (v.toLowerCase().includes(venueText) ? 1 : 0));
  const categoryOk = categories ? Uint8Array.from(c.categories, (name) => (categories.has(name) ? 1 : 0)) : null;
  const rows = c.years.length;
  const mask = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const y = c.years[r]!;
    if (since !== undefined && (y === NO_YEAR || y < since)) continue;
    if (until !== undefined && (y === NO_YEAR || y > until)) continue;
    if (venueOk && !venueOk[c.venueOf[r]!]) continue;
    if (categoryOk) {
      let any = false;
      for (let i = c.categoryStart[r]!; i < c.categoryStart[r + 1]! && !any; i++) any = categoryOk[c.categoryIds[i]!] === 1;
      if (!any) continue;
    }
    mask[r] = 1;
  }
  return mask;
}
