// GET /api/search?q=…&k=&since=&until=&category=&venue=&mode=
import { Hono } from 'hono';
import type { Embedder } from '../../index/embedder.js';
import type { ForegroundGate } from '../../index/foreground-gate.js';
import type { PaperIndex } from '../../index/paper-index.js';
import { search, type SearchMode } from '../../index/search.js';
import { bad } from '../validate.js';

export const MAX_QUERY = 500;

function intParam(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw bad(`"${name}" must be an integer`);
  const n = Number(v);
  if (n < min || n > max) throw bad(`"${name}" must be between ${min} and ${max}`);
  return n;
}

export function searchRoutes(index: PaperIndex, embedder: Embedder, gate: ForegroundGate): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const q = c.req.query('q') ?? '';
    if (!q.trim()) throw bad('"q" is required');
    if (q.length > MAX_QUERY) throw bad(`"q" is longer than ${MAX_QUERY} characters`);
    const mode = (c.req.query('mode') ?? 'hybrid') as SearchMode;
    if (!['hybrid', 'vector', 'text'].includes(mode)) throw bad('"mode" must be hybrid, vector or text');
    const venue = c.req.query('venue');
    if (venue && venue.length > 200) throw bad('"venue" is too long');
    const categories = c.req.queries('category') ?? [];
    if (categories.length > 20 || categories.some((x) => x.length > 100)) throw bad('too many or too long "category" values');
    const t0 = performance.now();
    const opts = {
      k: intParam(c.req.query('k'), 'k', 1, 200) ?? 20,
      mode,
      filters: { since: intParam(c.req.query('since'), 'since', 1000, 2100), until: intParam(c.req.query('until'), 'until', 1000, 2100), categories, venue },
    };
    const hits = await gate.foreground(() => search(index, embedder, q, opts));
    return c.json({ query: q, ms: Math.round((performance.now() - t0) * 10) / 10, hits });
  });
  return app;
}
