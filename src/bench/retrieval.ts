// npm run bench:retrieval — index build speed, hybrid query latency and topic recall, each beside
// plain BM25 (LanceDB full-text search alone) in the same run, over the corpus bundle.
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
  const latency = async (mode: SearchMode) => {
    const ms: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      await search(index, embedder, q, { k: 20, mode });
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  await search(index, embedder, 'warm up the caches', { k: 20 });
  // Alternate the two modes over halves so neither gets a warmer cache.
  const hybridMs = await latency('hybrid');
  const textMs = await latency('text');

  const ks = [20, 100, 200];
  const recallRows: (string | number)[][] = [];
  const pooled: Record<string, number[]> = { hybrid: ks.map(() => 0), text: ks.map(() => 0) };
  let totalRefs = 0;
  for (const t of topics) {
    const present = new Set((await index.papers().query().where(`id IN (${t.reference_ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(',')})`).select(['id']).toArray()).map((r) => (r as { id: string }).id));
    totalRefs += t.reference_ids.length;
    const row: (string | number)[] = [t.topic, `${present.size}/${t.reference_ids.length}`];
    for (const mode of ['hybrid', 'text'] as const) {
      const hits = await search(index, embedder, t.topic, { k: 200, candidates: 200, mode });
      ks.forEach((k, i) => {
        const found = hits.slice(0, k).filter((h) => t.reference_ids.includes(h.id)).length;
        pooled[mode]![i]! += found;
        row.push(found);
      });
    }
    recallRows.push(row);
  }
  const pct = (n: number) => `${((100 * n) / totalRefs).toFixed(1)}%`;
  recallRows.push(['**pooled**', `${totalRefs}`, ...pooled.hybrid!.map(pct), ...pooled.text!.map(pct)]);

  console.log(`\n## Retrieval benchmark (${rows.toLocaleString('en-US')} papers, embedder ${embedder.info.name})\n`);
  console.log(`Index build: ${build}\n`);
  console.log(
    table(
      ['query latency (ms), 200 distinct title queries, k=20', 'p50', 'p95', 'mean'],
      [
        ['hybrid (vector + BM25, RRF)', median(hybridMs).toFixed(1), percentile(hybridMs, 95).toFixed(1), (hybridMs.reduce((a, b) => a + b, 0) / hybridMs.length).toFixed(1)],
        ['BM25 alone', median(textMs).toFixed(1), percentile(textMs, 95).toFixed(1), (textMs.reduce((a, b) => a + b, 0) / textMs.length).toFixed(1)],
      ],
    ),
  );
  console.log('\nReference papers of each topic found in the top k, query = the topic (counts; pooled as a share of all reference ids):\n');
  console.log(table(['topic', 'refs in index', 'hybrid @20', 'hybrid @100', 'hybrid @200', 'BM25 @20', 'BM25 @100', 'BM25 @200'], recallRows));
  if (tmp && !values.keep) rmSync(tmp, { recursive: true, force: true });
  else console.error(`index kept at ${uri}`);
}

main().catch((e: Error) => {
  console.error(`bench:retrieval: ${e.message}`);
  process.exitCode = 1;
});
