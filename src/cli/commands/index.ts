// `litsurvey index add|rebuild|stats`: build and inspect the paper index.
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { ingest, type IngestReport } from '../../corpus/ingest.js';
import { describeEmbedder, type Embedder } from '../../index/embedder.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../../index/embedders.js';
import { PaperIndex } from '../../index/paper-index.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { ProgressBar } from '../progress.js';

const MAX_BAD_SHOWN = 20;

/** Runs an ingest with a progress bar and prints the outcome; returns the exit status. */
export async function ingestWithProgress(paths: string[], index: PaperIndex, embedder: Embedder, label = 'indexing'): Promise<{ report: IngestReport; status: number }> {
  const bar = new ProgressBar(label, 1);
  let bytesTotal = 1;
  let shown = 0;
  const started = Date.now();
  const report = await ingest(paths, index, embedder, {
    onProgress: (p) => {
      bar.setTotal((bytesTotal = p.bytesTotal));
      const rate = p.records / Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(p.bytesDone, `${p.records.toLocaleString('en-US')} records, ${Math.round(rate).toLocaleString('en-US')} papers/s`);
    },
    onBad: (b) => {
      if (shown++ < MAX_BAD_SHOWN) bar.log(`${b.file}:${b.line}: skipped: ${b.reason}`);
    },
    onStep: (s) => bar.log(`building ${s}…`),
  });
  bar.finish(bytesTotal, `${report.records.toLocaleString('en-US')} records`);
  printReport(report);
  return { report, status: report.bad > 0 ? 1 : 0 };
}

function printReport(r: IngestReport): void {
  const n = (x: number) => x.toLocaleString('en-US');
  const rate = r.records / Math.max(0.001, r.seconds);
  console.error(
    `${n(r.records)} records from ${r.files.length} file(s) in ${r.seconds.toFixed(1)} s (${n(Math.round(rate))} papers/s): ` +
      `${n(r.added)} added, ${n(r.updated)} updated, ${n(r.unchanged)} unchanged, ${n(r.duplicates)} duplicate titles merged, ${n(r.bad)} bad records skipped. ` +
      `The index holds ${n(r.rows)} papers.`,
  );
  if (r.bad > MAX_BAD_SHOWN) console.error(`(${n(r.bad - MAX_BAD_SHOWN)} more bad records not shown)`);
}

const add: Command = {
  name: 'add',
  summary: 'ingest papers from JSONL, arXiv snapshot, BibTeX or CSL-JSON files',
  help: `Usage: litsurvey index add FILE|DIR... [--embedder sif]

Adds papers to the index, creating it if needed. Records are upserted by id (adding the
same file twice changes nothing) and de-duplicated by normalised title.

Formats (chosen by extension, then by each record's fields):
  .jsonl .ndjson   litsurvey JSONL (the corpus bundle's schema) or the arXiv metadata
                   snapshot (id, title, abstract, authors/authors_parsed, categories, update_date)
                   or CSL-JSON items, one JSON object per line
  .json            CSL-JSON: a JSON array of items
  .bib             BibTeX/BibLaTeX entries that carry an abstract
  DIR              every such file inside it

Bad records (broken JSON, missing title or abstract, wrong types, invalid UTF-8, lines over
1 MB) are reported as FILE:LINE: reason, counted and skipped; every good record still lands.

Exit status: 0 all records used, 1 some bad records skipped, 2 usage or file error.`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { embedder: { type: 'string', default: DEFAULT_EMBEDDER } } });
    if (positionals.length === 0) throw new UsageError('index add: give at least one FILE or DIR');
    const config = loadConfig();
    const index = await PaperIndex.open(config.indexUri);
    return (await ingestWithProgress(positionals, index, createEmbedder(values.embedder!, config.cacheDir))).status;
  },
};

const rebuild: Command = {
  name: 'rebuild',
  summary: 're-embed every paper with the current (or another) embedder',
  help: `Usage: litsurvey index rebuild [--embedder sif]

Re-embeds every indexed paper and rebuilds the full-text and vector indexes. This is the
explicit step for switching embedders: a query with another embedder than the index's is refused.
The papers are first exported to a JSONL file under the cache directory, so nothing is lost if
the rebuild is interrupted (re-run it, or "litsurvey index add" that file).`,
  async run(args) {
    const { values } = parseArgs({ args, options: { embedder: { type: 'string', default: DEFAULT_EMBEDDER } } });
    const config = loadConfig();
    // Made before anything is dropped: an unknown embedder must not cost the index.
    const embedder = createEmbedder(values.embedder!, config.cacheDir);
    const index = await PaperIndex.open(config.indexUri);
    if (!index.exists) throw new UsageError(`no index at ${config.indexUri} to rebuild; use "litsurvey index add"`);
    mkdirSync(config.cacheDir, { recursive: true });
    const dump = join(config.cacheDir, `rebuild-${Date.now()}.jsonl`);
    const rows = await index.papers().query().select(['id', 'title', 'abstract', 'authors', 'year', 'venue', 'categories', 'url', 'source']).toArray();
    const out = createWriteStream(dump);
    for (const r of rows as Record<string, unknown>[]) {
      const list = (v: unknown) => [...((v as { toArray(): string[] }).toArray?.() ?? (v as string[]))];
      const line = JSON.stringify({ id: r.id, title: r.title, abstract: r.abstract, authors: list(r.authors), year: r.year, venue: r.venue, categories: list(r.categories), url: r.url, source: r.source });
      if (!out.write(`${line}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
    }
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    console.error(`exported ${rows.length.toLocaleString('en-US')} papers to ${dump}`);
    await index.dropPapers();
    index.meta = null;
    const { report, status } = await ingestWithProgress([dump], index, embedder, 're-embedding');
    if (report.bad === 0) unlinkSync(dump);
    return status;
  },
};

function dirSize(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + dirSize(join(path, f)), 0);
}

const stats: Command = {
  name: 'stats',
  summary: 'counts by year and source, size on disk, embedder',
  help: `Usage: litsurvey index stats [--json]

Prints the number of papers, counts by year and by source, the index's size on disk, which
embedder made its vectors and which indexes exist.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
    const config = loadConfig();
    const index = await PaperIndex.open(config.indexUri);
    if (!index.exists) {
      console.error(`no index at ${config.indexUri} yet (run "litsurvey index add FILE..." or any search to build it from ${config.corpus.join(', ')})`);
      return 1;
    }
    const { papers, byYear, bySource } = await index.counts();
    const result = {
      uri: config.indexUri,
      papers,
      bytesOnDisk: /^[a-z]+:\/\//.test(config.indexUri) ? null : dirSize(config.indexUri),
      embedder: index.meta?.embedder ?? null,
      revision: index.meta?.revision ?? 0,
      updatedAt: index.meta?.updatedAt ?? null,
      indexes: await index.indexedColumns(),
      byYear: Object.fromEntries([...byYear].sort()),
      bySource: Object.fromEntries([...bySource].sort((a, b) => b[1] - a[1])),
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return 0;
    }
    const n = (x: number) => x.toLocaleString('en-US');
    console.log(`index      ${result.uri}`);
    console.log(`papers     ${n(result.papers)}`);
    if (result.bytesOnDisk !== null) console.log(`on disk    ${(result.bytesOnDisk / 1e6).toFixed(1)} MB`);
    console.log(`embedder   ${result.embedder ? describeEmbedder(result.embedder) : 'unknown'}`);
    console.log(`revision   ${result.revision} (updated ${result.updatedAt ?? '?'})`);
    console.log(`indexes    ${result.indexes.join(', ') || 'none'}`);
    console.log('by year');
    for (const [y, c] of Object.entries(result.byYear)) console.log(`  ${y.padEnd(8)} ${n(c).padStart(8)}`);
    console.log('by source');
    for (const [s, c] of Object.entries(result.bySource)) console.log(`  ${s.padEnd(44)} ${n(c).padStart(8)}`);
    return 0;
  },
};

export const command: Command = {
  name: 'index',
  summary: 'build and inspect the LanceDB paper index',
  help: `Usage: litsurvey index <add|rebuild|stats> [options]

  add FILE|DIR...   ingest papers (JSONL, arXiv snapshot JSONL, BibTeX, CSL-JSON)
  rebuild           re-embed every paper (switching embedders)
  stats             counts by year/source, size on disk, embedder

Run "litsurvey index <subcommand> --help" for details.`,
  subcommands: [add, rebuild, stats],
};
