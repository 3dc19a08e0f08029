// `litsurvey search "query"`: hybrid search over the paper index.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { openIndex } from '../../corpus/default-index.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../../index/embedders.js';
import { search, type SearchMode } from '../../index/search.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { indexBuildProgress } from '../progress.js';

export function parseYear(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{4}$/.test(v)) throw new UsageError(`${flag}: expected a four-digit year, got "${v}"`);
  return Number(v);
}

export function parsePositiveInt(flag: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag}: expected an integer from 1 to ${max}, got "${v}"`);
  return n;
}

export const command: Command = {
  name: 'search',
  summary: 'hybrid (vector + BM25) search of the paper index',
  help: `Usage: litsurvey search "query" [-k 20] [--json] [--since YEAR] [--until YEAR]
                        [--category CAT]... [--venue TEXT] [--mode hybrid|vector|text]

Searches titles and abstracts: the BM25 top-N and the vector top-N fused by reciprocal rank
(the vector query is the query's embedding plus the mean embedding of the top 10 BM25 hits).
The first search builds the index from the configured corpus if there is none yet.

Options:
  -k N              results to show (default 20, at most 1000)
  --since YEAR      only papers from YEAR on
  --until YEAR      only papers up to YEAR
  --category CAT    only papers with this category (repeatable; any of them matches)
  --venue TEXT      only papers whose venue contains TEXT (case-insensitive)
  --mode M          hybrid (default), vector (embeddings only) or text (BM25 only)
  --json            print the results as JSON

Example:
  litsurvey search "retrieval-augmented generation for question answering" -k 10 --since 2023`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        k: { type: 'string', short: 'k' },
        json: { type: 'boolean', default: false },
        since: { type: 'string' },
        until: { type: 'string' },
        category: { type: 'string', multiple: true },
        venue: { type: 'string' },
        mode: { type: 'string', default: 'hybrid' },
        embedder: { type: 'string', default: DEFAULT_EMBEDDER },
      },
    });
    const query = positionals.join(' ').trim();
    if (!query) throw new UsageError('search: give a query, e.g. litsurvey search "neural machine translation"');
    if (!['hybrid', 'vector', 'text'].includes(values.mode!)) throw new UsageError(`--mode: expected hybrid, vector or text, got "${values.mode}"`);
    const k = parsePositiveInt('-k', values.k, 1000) ?? 20;
    const filters = { since: parseYear('--since', values.since), until: parseYear('--until', values.until), categories: values.category, venue: values.venue };
    const config = loadConfig();
    const embedder = createEmbedder(values.embedder!, config.cacheDir);
    const { index } = await openIndex(config, embedder, indexBuildProgress(config.indexUri));
    const t0 = performance.now();
    const hits = await search(index, embedder, query, {
      k,
      mode: values.mode as SearchMode,
      filters,
    });
    const ms = performance.now() - t0;
    if (values.json) {
      console.log(JSON.stringify({ query, ms: Math.round(ms * 10) / 10, hits }, null, 2));
      return 0;
    }
    if (hits.length === 0) console.log('No papers match.');
    hits.forEach((h, i) => {
      const who = h.authors.length > 2 ? `${h.authors[0]} et al.` : h.authors.join(' and ');
      console.log(`${String(i + 1).padStart(3)}. ${h.title}`);
      console.log(`     ${[who, h.year, h.venue].filter(Boolean).join(' · ')}`);
      console.log(`     ${h.id}  ${h.url}`);
    });
    console.error(`${hits.length} results in ${ms.toFixed(1)} ms`);
    return 0;
  },
};
