// npm run bench:fts-agreement — does the resident BM25 index (src/index/resident-text.ts) rank as
// LanceDB's full-text search does? Over the configured index (./data by default), for the
// queries npm run bench:server sends (paper titles spread over the table), a set of hand-written
// queries (stop words, punctuation, accents, stemming) and each of them again under filters, it
// compares LanceDB's top n (MultiMatchQuery over title ×2 and abstract) with the resident one:
// identical, ties only, near ties (f32 sums in another order: bm25_topk.h) or disagree, as
// ranking-agreement.ts defines them.
// It also reports the largest relative score difference for a row both return, and CPU per query.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { filterMask } from '../index/filter-mask.js';
import { PaperIndex } from '../index/paper-index.js';
import { ResidentText } from '../index/resident-text.js';
import { TEXT_COLUMNS } from '../index/resident-vectors.js';
import { filterSql, textQuery, TEXT_BOOSTS, type SearchFilters } from '../index/search.js';
import { positiveInt, table } from './common.js';
import { compareRankings, type Agreement } from './ranking-agreement.js';

const HAND_WRITTEN = [
  'large language model alignment',
  'the of and a to in is was this has',
  "what's the state-of-the-art in question-answering?",
  'naïve Bayes café résumé Schrödinger Gödel Erdős',
  'ﬁnancial ﬂow Straße æther',
  'running runs ran runner generalization generalizing generalized',
  'connection connections connected connecting',
  'BERT RoBERTa GPT-4 T5 LLaMA-2 7B',
  'α-divergence β-VAE',
  '2019 2020 COVID-19',
  'dying lying tying skies news',
  'retrieval retrieval retrieval augmented generation',
  'C++ C# F# .NET',
  'zzzzqqq nonexistentterm',
  'graph neural networks for molecules',
  'speech recognition end-to-end',
];

const FILTERS: { name: string; filters?: SearchFilters }[] = [
  { name: 'none' },
  { name: 'since 2020', filters: { since: 2020 } },
  { name: 'until 2019 (under 10% of rows: LanceDB scores them flat)', filters: { until: 2019 } },
  { name: 'cs.CV or cs.LG', filters: { categories: ['cs.CV', 'cs.LG'] } },
  { name: 'venue "empirical methods", 2021-2023', filters: { venue: 'Empirical Methods', since: 2021, until: 2023 } },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { index: { type: 'string' }, queries: { type: 'string', default: '300' }, n: { type: 'string', default: '100' } } });
  const nQueries = positiveInt('queries', values.queries!);
  const n = positiveInt('n', values.n!);
  const uri = values.index ?? loadConfig().indexUri;
  const index = await PaperIndex.open(uri);
  if (!index.exists) throw new Error(`no paper index at ${uri}`);
  const rows = await index.count();
  // Row ids and filter columns from the resident vectors; postings from a read of the same rows.
  const resident = await index.keepVectorsResident();
  const rowIds = resident.shared.rowIds;
  const read = await index.papers().query().select([...TEXT_COLUMNS]).withRowId().toArrow();
  if (read.getChild('_rowid')!.toArray().some((id: bigint, i: number) => id !== rowIds[i])) throw new Error('the two reads of the table differ in row order');
  const t0 = performance.now();
  const text = ResidentText.build(TEXT_COLUMNS.map((name) => read.batches.map((batch) => batch.getChild(name)!)));
  const buildSeconds = (performance.now() - t0) / 1000;

  // The bench:server queries: titles spread over the table, cut at 200 characters.
  const titles = (await index.papers().query().select(['title']).limit(rows).toArray()) as { title: string }[];
  const step = Math.max(1, Math.floor(titles.length / nQueries));
  const benchQueries = [...new Set(titles.filter((_, i) => i % step === 0).map((t) => t.title.slice(0, 200)))].slice(0, nQueries);

  const counts = new Map<string, Record<Agreement, number>>();
  const meanRows = new Map<string, number>();
  let maxRel = 0;
  const cpu = { lance: 0, ours: 0, searches: 0 };
  const examples: string[] = [];
  for (const { name, filters } of FILTERS) {
    const where = filterSql(filters);
    const mask = filterMask(resident.shared.columns, filters);
    for (const [set, queries] of [['bench', benchQueries], ['hand-written', HAND_WRITTEN]] as const) {
      const key = `${set}, filter ${name}`;
      const tally: Record<Agreement, number> = { identical: 0, 'ties only': 0, 'near ties': 0, disagree: 0 };
      let returned = 0;
      for (const q of queries) {
        let c = process.cpuUsage();
        const lance = (await textQuery(index, q, n, where).select(['_score']).withRowId().toArray()) as { _rowid: bigint; _score: number }[];
        let d = process.cpuUsage(c);
        cpu.lance += d.user + d.system;
        c = process.cpuUsage();
        const top = text.top(q, n, TEXT_BOOSTS, mask);
        d = process.cpuUsage(c);
        cpu.ours += d.user + d.system;
        cpu.searches++;
        const r = compareRankings({ ids: lance.map((x) => x._rowid), scores: lance.map((x) => x._score) }, { ids: Array.from(top.rows, (i) => rowIds[i]!), scores: top.scores });
        tally[r.agreement]++;
        returned += lance.length;
        maxRel = Math.max(maxRel, r.maxRelative);
        if (r.agreement === 'disagree' && examples.length < 10) examples.push(`${key}: ${JSON.stringify(q)} first differs at rank ${r.rank} (LanceDB ${lance.length} rows, resident ${top.rows.length})`);
      }
      counts.set(key, tally);
      meanRows.set(key, returned / queries.length);
    }
  }
  console.log(`index ${uri}: ${rows.toLocaleString('en-US')} papers; postings built in ${buildSeconds.toFixed(1)} s; top ${n}`);
  console.log(
    table(
      ['queries', 'rows (mean)', 'identical', 'ties only', 'near ties', 'disagree'],
      [...counts].map(([k, t]) => [k, meanRows.get(k)!.toFixed(1), t.identical, t['ties only'], t['near ties'], t.disagree]),
    ),
  );
  const total = [...counts.values()].reduce((s, t) => s + t.identical + t['ties only'] + t['near ties'] + t.disagree, 0);
  const agree = [...counts.values()].reduce((s, t) => s + t.identical + t['ties only'] + t['near ties'], 0);
  console.log(`agreement (identical up to ties): ${agree}/${total}; largest relative score difference on a shared row: ${maxRel.toExponential(2)}`);
  console.log(`CPU per search (this process): LanceDB ${(cpu.lance / cpu.searches / 1000).toFixed(2)} ms, resident ${(cpu.ours / cpu.searches / 1000).toFixed(2)} ms`);
  for (const e of examples) console.log(`  ${e}`);
  if (agree !== total) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
