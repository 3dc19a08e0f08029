// `litsurvey eval FILE...`: fact score and content quality of Markdown surveys, an HTML report.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { openIndex } from '../../corpus/default-index.js';
import type { Engine } from '../../engine/types.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../../index/embedders.js';
import { SifEmbedder } from '../../index/sif-embedder.js';
import { loadWordVectors } from '../../index/word-vectors.js';
import { evaluateSurvey, libraryFromJob, storeEvaluation, surveyIdFor, type SurveyEvaluation } from '../../metrics/evaluate.js';
import { EngineJudge } from '../../metrics/judge-engine.js';
import { LexicalJudge } from '../../metrics/judge-lexical.js';
import type { Judge } from '../../metrics/judge.js';
import { indexSource } from '../../metrics/papers.js';
import { parseSurvey } from '../../metrics/parse.js';
import { renderReport } from '../../report/render.js';
import { openDb, type Db } from '../../store/db.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { ProgressBar, indexBuildProgress } from '../progress.js';

/** A reference list: a JSON array of ids, or an object with `reference_ids` (as in eval/topics-dev.jsonl). */
export function readReferenceIds(path: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--references: cannot read ${path} as JSON (${(e as Error).message})`);
  }
  const ids = Array.isArray(v) ? v : (v as { reference_ids?: unknown })?.reference_ids;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new UsageError(`--references: ${path} must hold a JSON array of paper ids or an object with "reference_ids"`);
  return ids;
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

export const command: Command = {
  name: 'eval',
  summary: 'score surveys: fact score per claim, content quality, HTML report',
  help: `Usage: litsurvey eval FILE... [--report out.html] [--json out.json] [--judge lexical|engine]
                     [--model FILE] [--threshold P] [--references ids.json] [--store]
                     [--no-citation-analysis]

Each sentence or list item that cites is a claim; its evidence is the cited papers' titles and
abstracts from the index. References are matched to the index by id, arXiv/ACL URL or title;
unknown references are reported, not fatal.

Options:
  --report FILE          write a self-contained HTML report (charts, per-claim verdicts)
  --json FILE            write every evaluation as JSON
  --judge J              lexical (default; offline, no model) or engine (needs --model)
  --model FILE           a GGUF model: the engine judge and the SurveyEval rubric (1–5)
  --threshold P          engine judge: P(yes)/(P(yes)+P(no)) needed for "supported" (default 0.5;
                         calibrate with npm run bench:judge -- --model FILE --tune)
  --references FILE      JSON array of paper ids a reference survey cites (coverage recall)
  --store                save claims and metrics in the SQLite store (LITSURVEY_DB)
  --no-citation-analysis judge each claim once (no citation precision; faster with a model)

Surveys written in extractive mode are marked "verbatim-derived": their cited sentences are
copied from the abstracts, so their fact score says little about a writer.

Example:
  litsurvey eval surveys/*.md --report report.html --json scores.json`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        report: { type: 'string' },
        json: { type: 'string' },
        judge: { type: 'string', default: 'lexical' },
        model: { type: 'string' },
        threshold: { type: 'string' },
        references: { type: 'string' },
        store: { type: 'boolean', default: false },
        'no-citation-analysis': { type: 'boolean', default: false },
      },
    });
    if (positionals.length === 0) throw new UsageError('give one or more Markdown surveys, e.g. litsurvey eval survey.md --report report.html');
    for (const f of positionals) if (!existsSync(f)) throw new UsageError(`${f}: no such file`);
    if (values.judge !== 'lexical' && values.judge !== 'engine') throw new UsageError(`--judge: expected lexical or engine, got "${values.judge}"`);
    const config = loadConfig();
    const modelPath = values.model ?? (values.judge === 'engine' ? config.model : undefined);
    if (values.judge === 'engine' && !modelPath) throw new UsageError('--judge engine needs --model FILE (or LITSURVEY_MODEL)');
    const referenceIds = values.references ? readReferenceIds(values.references) : undefined;
    const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
    if (threshold !== undefined && !(threshold > 0 && threshold < 1)) throw new UsageError(`--threshold: expected a number between 0 and 1, got "${values.threshold}"`);

    const embedder = createEmbedder(DEFAULT_EMBEDDER, config.cacheDir);
    const { index } = await openIndex(config, embedder, indexBuildProgress(config.indexUri));
    let engine: Engine | undefined;
    if (modelPath) {
      const { NativeEngine } = await import('../../engine/engine.js');
      engine = await NativeEngine.load(modelPath);
    }
    const judge: Judge = values.judge === 'engine' ? new EngineJudge(engine!, { threshold }) : new LexicalJudge({ vectors: loadWordVectors(config.cacheDir) });
    const sif = embedder instanceof SifEmbedder ? embedder : undefined;
    const db: Db | undefined = values.store || existsSync(config.dbPath) ? openDb(config.dbPath) : undefined;
    const evaluations: SurveyEvaluation[] = [];
    const bar = new ProgressBar('evaluating', positionals.length);
    try {
      for (const [i, file] of positionals.entries()) {
        const markdown = readFileSync(file, 'utf8');
        const job = parseSurvey(markdown).frontMatter.job;
        const jobId = typeof job === 'string' ? job : undefined;
        const library = db && jobId ? libraryFromJob(db, jobId) : undefined;
        const e = await evaluateSurvey(markdown, {
          source: indexSource(index),
          judge,
          embedder: sif,
          library,
          referenceIds,
          rubricEngine: engine,
          name: basename(file),
          citationAnalysis: !values['no-citation-analysis'],
          onClaim: (done, total) => bar.update(i + done / Math.max(1, total), `${basename(file)}: claim ${done}/${total}`),
        });
        evaluations.push(e);
        if (values.store && db) {
          const known = jobId && db.prepare('SELECT 1 FROM surveys WHERE id = ?').get(jobId);
          storeEvaluation(db, e, { id: known ? jobId! : surveyIdFor(markdown), markdown, jobId: known ? jobId : null });
        }
        bar.update(i + 1, basename(file), true);
      }
      bar.finish(positionals.length, 'done');
    } finally {
      db?.close();
      await engine?.close();
    }
    for (const e of evaluations) {
      const f = e.facts;
      console.log(
        `${e.name}: fact score ${pct(f.factScore)}${e.verbatimDerived ? ' (verbatim-derived)' : ''} (${f.supported}/${f.claims.length} claims), citation precision ${pct(f.citationPrecision)}, ` +
          `${f.unresolvedCitations} unresolved citations, ${f.uncitedSentences} uncited sentences, structure ${e.quality.structure.score.toFixed(2)}` +
          (e.unknownReferences.length ? `, ${e.unknownReferences.length} references not in the index` : ''),
      );
    }
    if (values.json) writeFileSync(values.json, `${JSON.stringify(evaluations, null, 2)}\n`);
    if (values.report) {
      writeFileSync(values.report, renderReport(evaluations, { subtitle: `litsurvey eval ${positionals.map((p) => basename(p)).join(' ')}` }));
      console.error(`report: ${values.report}`);
    }
    return 0;
  },
};
