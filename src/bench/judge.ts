// `npm run bench:judge [-- --model FILE] [--split dev|held-out|all] [--tune] [--show N]`: accuracy,
// precision, recall and F1 of the fact-score judges on the labelled set of judge-set.ts, rebuilt
// from ../shared/corpus and checked against the frozen manifest's hashes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { loadWordVectors } from '../index/word-vectors.js';
import { EngineJudge } from '../metrics/judge-engine.js';
import { LexicalJudge } from '../metrics/judge-lexical.js';
import type { Judge } from '../metrics/judge.js';
import { requireShared, table } from './common.js';
import { KINDS, MANIFEST_PATH, paperIdsOf, readCorpus, verifiedClaims, type JudgeItem } from './judge-set.js';

interface Scored {
  item: JudgeItem;
  score: number;
  supported: boolean;
}

/** Precision, recall and F1 are null where undefined (e.g. a kind whose claims are all unsupported). */
export interface Counts {
  n: number;
  accuracy: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export function counts(rows: readonly { label: 0 | 1; supported: boolean }[]): Counts {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const r of rows) {
    if (r.supported && r.label === 1) tp++;
    else if (r.supported) fp++;
    else if (r.label === 1) fn++;
    else tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : null;
  const recall = tp + fn ? tp / (tp + fn) : null;
  const f1 = precision === null || recall === null ? null : precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { n: rows.length, accuracy: rows.length ? (tp + tn) / rows.length : 0, precision, recall, f1 };
}

const pct = (x: number | null) => (x === null ? '–' : (x * 100).toFixed(1));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      split: { type: 'string', default: 'held-out' },
      tune: { type: 'boolean', default: false },
      show: { type: 'string', default: '0' },
    },
  });
  const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as { items: JudgeItem[] };
  const papers = await readCorpus(requireShared('corpus'), paperIdsOf(manifest.items));
  const texts = verifiedClaims(manifest.items, papers);
  console.log(`judge set: ${manifest.items.length} items, every claim hash verified against ../shared/corpus`);
  const evidence = (id: string) => {
    const p = papers.get(id)!;
    return [{ paperId: p.id, title: p.title, abstract: p.abstract }];
  };
  const judges: Judge[] = [new LexicalJudge({ vectors: loadWordVectors(loadConfig().cacheDir) })];
  let closeEngine: (() => Promise<void>) | undefined;
  if (values.model) {
    const { NativeEngine } = await import('../engine/engine.js');
    const engine = await NativeEngine.load(values.model);
    closeEngine = () => engine.close();
    judges.push(new EngineJudge(engine));
  }
  for (const judge of judges) {
    const scored: Scored[] = [];
    const t0 = performance.now();
    for (const item of manifest.items) {
      const v = await judge.judge(texts.get(item.id)!, evidence(item.cited));
      scored.push({ item, score: v.score, supported: v.supported });
    }
    const ms = (performance.now() - t0) / manifest.items.length;
    if (values.tune) tune(judge.name, scored.filter((s) => s.item.split === 'dev'));
    for (const split of values.split === 'all' ? ['dev', 'held-out'] : [values.split!]) {
      const rows = scored.filter((s) => s.item.split === split).map((s) => ({ label: s.item.label, supported: s.supported, kind: s.item.kind }));
      const line = (name: string, c: Counts) => [name, c.n, pct(c.accuracy), pct(c.precision), pct(c.recall), pct(c.f1)];
      console.log(`\n${judge.name} judge, ${split} half (${ms.toFixed(2)} ms/claim):\n`);
      console.log(
        table(['kind', 'n', 'accuracy %', 'precision %', 'recall %', 'F1 %'], [line('all', counts(rows)), ...KINDS.map((k) => line(k, counts(rows.filter((r) => r.kind === k))))]),
      );
    }
    const show = Number(values.show);
    if (show > 0) {
      for (const s of scored.filter((x) => x.item.split === 'dev' && x.supported !== (x.item.label === 1)).slice(0, show)) {
        console.log(`\n[${s.item.kind} label=${s.item.label} score=${s.score.toFixed(3)}] ${texts.get(s.item.id)}\n  cited: ${papers.get(s.item.cited)!.title}`);
      }
    }
  }
  await closeEngine?.();
}

/** Prints the dev-half threshold that maximises F1 (tuning never looks at the held-out half). */
function tune(name: string, dev: Scored[]): void {
  let best = { threshold: 0, f1: -1 };
  for (let t = 0.3; t <= 0.95; t += 0.01) {
    const c = counts(dev.map((s) => ({ label: s.item.label, supported: s.score >= t })));
    if ((c.f1 ?? 0) > best.f1) best = { threshold: Math.round(t * 100) / 100, f1: c.f1 ?? 0 };
  }
  console.log(`${name}: best dev threshold ${best.threshold} (dev F1 ${pct(best.f1)})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(`bench:judge: ${e.message}`);
    process.exitCode = 1;
  });
}
