// npm run bench:retrieval — index build speed, hybrid query latency and topic recall, each beside
// plain BM25 (LanceDB full-text search alone) in the same run, over the corpus bundle. Hybrid runs
// twice: as a one-off CLI search does (LanceDB's IVF vector index, approximate) and as the server
// does (vectors resident in memory, exact cosine top n).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ingest } from '../corpus/ingest.js';
import { PaperIndex } from '../index/paper-index.js';
import { search, type SearchMode } from '../index/search.js';
import { SifEmbedder } from '../index/sif-embedder.js';
import { median, percentile, requireShared, table } from './common.js';

interface Topic {
  topic: string;
  reference_ids: string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { index: { type: 'string' }, queries: { type: 'string', default: '200' }, keep: { type: 'boolean', default: false } } });
  const corpus = requireShared('corpus');
  const topics = readFileSync(requireShared('eval/topics-dev.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Topic);
  const embedder = new SifEmbedder(loadConfig().cacheDir);
  const tmp = values.index ? null : mkdtempSync(join(tmpdir(), 'litsurvey-bench-'));
  const uri = values.index ?? join(tmp!, 'index');
  const index = await PaperIndex.open(uri);
  let build = 'reused an existing index';
  if (!index.exists) {
    console.error(`building the index over ${corpus} …`);
    const r = await ingest([corpus], index, embedder);
    build = `${r.records.toLocaleString('en-US')} records in ${r.seconds.toFixed(1)} s = ${Math.round(r.records / r.seconds).toLocaleString('en-US')} papers/s (read, embed, write, full-text + vector index)`;
  }
  const rows = await index.count();

  // 200 distinct queries: titles of papers spread over the table, never repeated.
  const nQueries = Number(values.queries);
  const titles = (await index.papers().query().select(['title']).limit(rows).toArray()) as { title: string }[];
  const step = Math.max(1, Math.floor(titles.length / nQueries));
  const queries = [...new Set(titles.filter((_, i) => i % step === 0).map((t) => t.title))].slice(0, nQueries);
  // The server's way: a second handle on the same table with the vectors kept in memory.
  const served = await PaperIndex.open(uri);
  await served.keepVectorsResident();
  const searchers: { name: string; index: PaperIndex; mode: SearchMode }[] = [
    { name: 'hybrid, IVF vector index (CLI)', index, mode: 'hybrid' },
    { name: 'hybrid, exact resident vectors (server)', index: served, mode: 'hybrid' },
    { name: 'BM25 alone', index, mode: 'text' },
  ];
  for (const s of searchers) await search(s.index, embedder, 'warm up the caches', { k: 20, mode: s.mode });
  // Each query through every searcher in turn, the order rotating, so none gets a warmer cache.
  const ms: number[][] = searchers.map(() => []);
  for (const [i, q] of queries.entries()) {
    for (let j = 0; j < searchers.length; j++) {
      const w = (i + j) % searchers.length;
      const t0 = performance.now();
      await search(searchers[w]!.index, embedder, q, { k: 20, mode: searchers[w]!.mode });
      ms[w]!.push(performance.now() - t0);
    }
  }

  const ks = [20, 100, 200];
  const recallRows: (string | number)[][] = [];
  const pooled = searchers.map(() => ks.map(() => 0));
  let totalRefs = 0;
  for (const t of topics) {
    const present = new Set((await index.papers().query().where(`id IN (${t.reference_ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(',')})`).select(['id']).toArray()).map((r) => (r as { id: string }).id));
    totalRefs += t.reference_ids.length;
    const row: (string | number)[] = [t.topic, `${present.size}/${t.reference_ids.length}`];
    for (const [w, s] of searchers.entries()) {
      const hits = await search(s.index, embedder, t.topic, { k: 200, candidates: 200, mode: s.mode });
      ks.forEach((k, i) => {
        const found = hits.slice(0, k).filter((h) => t.reference_ids.includes(h.id)).length;
        pooled[w]![i]! += found;
        row.push(found);
      });
    }
    recallRows.push(row);
  }
  const pct = (n: number) => `${((100 * n) / totalRefs).toFixed(1)}%`;
  recallRows.push(['**pooled**', `${totalRefs}`, ...pooled.flatMap((p) => p.map(pct))]);

  console.log(`\n## Retrieval benchmark (${rows.toLocaleString('en-US')} papers, embedder ${embedder.info.name})\n`);
  console.log(`Index build: ${build}\n`);
  console.log(
    table(
      [`query latency (ms), ${queries.length} distinct title queries, k=20`, 'p50', 'p95', 'mean'],
      searchers.map((s, w) => [s.name, median(ms[w]!).toFixed(1), percentile(ms[w]!, 95).toFixed(1), (ms[w]!.reduce((a, b) => a + b, 0) / ms[w]!.length).toFixed(1)]),
    ),
  );
  console.log('\nReference papers of each topic found in the top k, query = the topic (counts; pooled as a share of all reference ids):\n');
  console.log(table(['topic', 'refs in index', ...['hybrid IVF', 'hybrid exact', 'BM25'].flatMap((s) => ks.map((k) => `${s} @${k}`))], recallRows));
  if (tmp && !values.keep) rmSync(tmp, { recursive: true, force: true });
  else console.error(`index kept at ${uri}`);
}

main().catch((e: Error) => {
  console.error(`bench:retrieval: ${e.message}`);
  process.exitCode = 1;
});
