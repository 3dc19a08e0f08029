// Streams input files into the paper index: upsert by id, de-duplicate by normalised title,
// report every bad record by file:line, and land every good one.
import { statSync } from 'node:fs';
import type { Embedder } from '../index/embedder.js';
import { PaperIndex, toStored, type StoredPaper } from '../index/paper-index.js';
import { expandInputs, readPapers } from './read.js';
import type { BadRecord } from './paper.js';

export interface IngestProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  records: number;
}

export interface IngestReport {
  files: string[];
  records: number;
  added: number;
  updated: number;
  unchanged: number;
  duplicates: number;
  bad: number;
  /** The first bad records (all are counted in `bad`). */
  badRecords: BadRecord[];
  seconds: number;
  rows: number;
}

export interface IngestOptions {
  batchSize?: number;
  onProgress?: (p: IngestProgress) => void;
  onBad?: (b: BadRecord) => void;
  onStep?: (step: string) => void;
  /** Keep at most this many bad records in the report. */
  keepBad?: number;
}

export async function ingest(paths: string[], index: PaperIndex, embedder: Embedder, opts: IngestOptions = {}): Promise<IngestReport> {
  index.checkEmbedder(embedder.info);
  const files = expandInputs(paths);
  const bytesTotal = files.reduce((n, f) => n + statSync(f).size, 0);
  const batchSize = opts.batchSize ?? 4096;
  const keepBad = opts.keepBad ?? 1000;
  const started = Date.now();
  const { hashById, idByTitle } = await index.keys();
  const report: IngestReport = { files, records: 0, added: 0, updated: 0, unchanged: 0, duplicates: 0, bad: 0, badRecords: [], seconds: 0, rows: 0 };
  let inserts: StoredPaper[] = [];
  let updates: StoredPaper[] = [];
  const embed = (ps: StoredPaper[]) => embedder.embed(ps.map((p) => `${p.title}. ${p.abstract}`));
  // One write in flight while the next batch is read and embedded: LanceDB writes on its own
  // threads, so reading, parsing and embedding overlap with it.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    const ins = inserts;
    const upd = updates;
    inserts = [];
    updates = [];
    const [insVectors, updVectors] = [await embed(ins), await embed(upd)];
    await writing;
    writing = (async () => {
      if (ins.length) await index.insert(ins, insVectors, embedder.info.dimension);
      if (upd.length) await index.update(upd, updVectors);
      report.added += ins.length;
      report.updated += upd.length;
    })();
    writing.catch(() => undefined); // a failure surfaces at the next await, not as an unhandled rejection
  };
  let bytesBefore = 0;
  for (const file of files) {
    const size = statSync(file).size;
    for await (const r of readPapers(file, (b) => opts.onProgress?.({ file, bytesDone: bytesBefore + b, bytesTotal, records: report.records }))) {
      report.records++;
      if ('bad' in r) {
        report.bad++;
        if (report.badRecords.length < keepBad) report.badRecords.push(r.bad);
        opts.onBad?.(r.bad);
        continue;
      }
      const p = toStored(r.paper);
      const sameTitle = idByTitle.get(p.titleKey);
      if (sameTitle !== undefined && sameTitle !== p.id) {
        report.duplicates++;
        continue;
      }
      const known = hashById.get(p.id);
      if (known === p.hash) {
        report.unchanged++;
        continue;
      }
      (known === undefined ? inserts : updates).push(p);
      hashById.set(p.id, p.hash);
      idByTitle.set(p.titleKey, p.id);
      if (inserts.length + updates.length >= batchSize) await flush();
    }
    bytesBefore += size;
    opts.onProgress?.({ file, bytesDone: bytesBefore, bytesTotal, records: report.records });
  }
  await flush();
  await writing;
  const changed = report.added + report.updated > 0;
  if (changed || (index.exists && (await index.indexedColumns()).length === 0)) await index.buildIndexes(opts.onStep);
  if (changed || !index.meta) {
    const now = new Date().toISOString();
    await index.writeMeta({
      embedder: embedder.info,
      createdAt: index.meta?.createdAt ?? now,
      updatedAt: now,
      revision: (index.meta?.revision ?? 0) + (changed ? 1 : 0),
    });
  }
  report.rows = await index.count();
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
