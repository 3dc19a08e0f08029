// `litsurvey batch topics.jsonl --out dir/`: many surveys, each a job recorded against its line of
// the batch file, so running the same command again resumes where a crash or Ctrl-C stopped it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { workerId } from '../../pipeline/jobs.js';
import { runSurvey, type SurveyJobOptions } from '../../pipeline/run-survey.js';
import type { AssemblyOutput } from '../../pipeline/types.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { table } from '../table.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { engineHelp, engineOptions, requestFrom, slugify, specFrom, surveyEnvironment, writeSurvey } from './generate.js';
import { parsePositiveInt } from './search.js';

export interface BatchItem {
  line: number;
  topic: string;
  sections?: number;
  since?: number;
  until?: number;
}

/** The batch file's valid lines, and a message per bad line (reported and skipped). */
export function parseBatchFile(text: string): { items: BatchItem[]; problems: string[] } {
  const items: BatchItem[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      problems.push(`line ${line}: not JSON (${(e as Error).message})`);
      return;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return void problems.push(`line ${line}: expected a JSON object like {"topic": "…"}`);
    const o = v as Record<string, unknown>;
    if (typeof o.topic !== 'string' || !o.topic.trim()) return void problems.push(`line ${line}: "topic" must be a non-empty string`);
    const unknown = Object.keys(o).filter((k) => !['topic', 'sections', 'since', 'until'].includes(k));
    if (unknown.length) return void problems.push(`line ${line}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: topic, sections, since, until)`);
    const int = (k: string, lo: number, hi: number) => o[k] === undefined || (Number.isInteger(o[k]) && (o[k] as number) >= lo && (o[k] as number) <= hi);
    if (!int('sections', 2, 12)) return void problems.push(`line ${line}: "sections" must be an integer from 2 to 12`);
    if (!int('since', 1000, 9999) || !int('until', 1000, 9999)) return void problems.push(`line ${line}: "since"/"until" must be four-digit years`);
    items.push({ line, topic: o.topic.trim(), sections: o.sections as number | undefined, since: o.since as number | undefined, until: o.until as number | undefined });
  });
  return { items, problems };
}

interface SummaryRow {
  line: number;
  topic: string;
  job: string;
  state: 'done' | 'failed' | 'interrupted';
  reused: boolean;
  file?: string;
  sections?: number;
  library?: number;
  cited?: number;
  unresolved?: number;
  seconds: number;
  error?: string;
}

export const command: Command = {
  name: 'batch',
  summary: 'write surveys for every topic of a JSONL file, resumable, with a summary table',
  help: `Usage: litsurvey batch topics.jsonl --out DIR [--concurrency N] [generate options]

Each line of topics.jsonl is one survey: {"topic": "…", "sections"?: N, "since"?: YEAR, "until"?: YEAR}.
A bad line is reported by its line number and skipped. Every line becomes a job in the database,
keyed by the batch file's path, the line number and the topic: running the same command again
skips finished surveys (rewriting their files) and resumes unfinished ones from their last
finished step. Surveys go to DIR/<topic-slug>.md and .bib; the summary table (topic, sections,
papers cited, unresolved citations, time) is printed and written to DIR/summary.json.

Options:
  --out DIR             output directory (required)
  --concurrency N       surveys written at once (default 1; they share one engine)
${engineHelp}
  (--sections, --since and --until are defaults that a line's own fields override)

Example:
  litsurvey batch /work/shared/eval/topics-dev.jsonl --out surveys/dev --concurrency 2`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...engineOptions, out: { type: 'string' }, concurrency: { type: 'string' } } });
    if (positionals.length !== 1) throw new UsageError('give exactly one topics file, e.g. litsurvey batch topics.jsonl --out surveys/');
    if (!values.out) throw new UsageError('--out DIR is required');
    const file = resolve(positionals[0]!);
    const outDir = resolve(values.out);
    const concurrency = parsePositiveInt('--concurrency', values.concurrency, 64) ?? 1;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const { items, problems } = parseBatchFile(text);
    for (const p of problems) process.stderr.write(`${positionals[0]}: ${p} (skipped)\n`);
    if (items.length === 0) throw new UsageError(`${file}: no valid topics`);
    const config = loadConfig();
    const quiet = values.quiet ?? false;
    const spec = specFrom(values, config);
    // Validate the shared flags once, before any job exists.
    requestFrom('validation', values);
    mkdirSync(outDir, { recursive: true });
    const { env, engineFor, close } = await surveyEnvironment(config, quiet);
    const controller = new AbortController();
    const onSigint = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSigint);
    const owner = workerId();
    const slugs = new Map<string, number>();
    const fileFor = (item: BatchItem) => {
      const slug = slugify(item.topic);
      const seen = slugs.get(slug) ?? 0;
      slugs.set(slug, seen + 1);
      return join(outDir, `${seen ? `${slug}-line${item.line}` : slug}.md`);
    };
    const outputs = new Map(items.map((item) => [item.line, fileFor(item)]));
    const overall = new ProgressBar('batch', items.length, quiet);
    const rows: SummaryRow[] = [];
    let finished = 0;
    const running = new Map<number, string>();
    const showOverall = () => overall.update(finished, [...running.entries()].map(([line, stage]) => `line ${line}: ${stage}`).join(' | '));
    try {
      const engine = await engineFor(spec);
      const queue = [...items];
      const worker = async () => {
        for (let item = queue.shift(); item && !controller.signal.aborted; item = queue.shift()) {
          const itemKey = `${item.line}:${item.topic}`;
          let jobId = env.store.batchJob(file, itemKey);
          if (jobId && !env.store.get(jobId)) jobId = undefined;
          const reused = jobId !== undefined && env.store.get(jobId)!.state === 'done';
          if (!jobId) {
            const request = requestFrom(item.topic, values, { sections: item.sections, since: item.since, until: item.until });
            const options: SurveyJobOptions = { request, engine: spec, out: outputs.get(item.line), outlineTokens: parsePositiveInt('--outline-tokens', values['outline-tokens'], 65536) };
            jobId = env.store.create(item.topic, options);
            env.store.recordBatchJob(file, itemKey, item.line, jobId);
          }
          const started = Date.now();
          const row: SummaryRow = { line: item.line, topic: item.topic, job: jobId, state: 'done', reused, seconds: 0 };
          try {
            let assembly: AssemblyOutput;
            if (reused) assembly = env.store.stepOutput<AssemblyOutput>(jobId, 'assembly')!;
            else {
              running.set(item.line, 'starting');
              const result = await runSurvey({ ...env, engine }, jobId, {
                owner,
                signal: controller.signal,
                onStage: (e) => {
                  running.set(item.line, `${e.stage}${e.total ? ` ${e.done ?? 0}/${e.total}` : ''}`);
                  showOverall();
                },
              });
              assembly = result.assembly;
            }
            const files = writeSurvey(outputs.get(item.line)!, assembly.markdown, assembly.bibtex);
            Object.assign(row, { file: files.md, sections: assembly.counts.sections, library: assembly.counts.papers, cited: assembly.counts.cited, unresolved: assembly.counts.unresolved });
            row.seconds = reused ? stepSeconds(env.store.steps(jobId).map((s) => JSON.parse(s.output) as { ms?: number })) : (Date.now() - started) / 1000;
          } catch (e) {
            row.state = controller.signal.aborted ? 'interrupted' : 'failed';
            row.error = (e as Error).message;
            row.seconds = (Date.now() - started) / 1000;
          }
          running.delete(item.line);
          rows.push(row);
          finished++;
          overall.log(`line ${item.line} "${item.topic}": ${row.state}${row.reused ? ' (earlier run)' : ''}${row.error ? ` — ${row.error}` : ''}`);
          showOverall();
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
      overall.finish(finished);
    } finally {
      process.removeListener('SIGINT', onSigint);
      await close();
    }
    rows.sort((a, b) => a.line - b.line);
    writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ batch: file, out: outDir, surveys: rows }, null, 2) + '\n');
    console.log(
      table(
        ['line', 'topic', 'state', 'sections', 'papers cited', 'unresolved citations', 'time'],
        rows.map((r) => [r.line, r.topic.replace(/\|/g, '\\|'), r.state + (r.reused ? ' (earlier)' : ''), r.sections ?? '', r.cited ?? '', r.unresolved ?? '', formatDuration(r.seconds)]),
      ),
    );
    if (controller.signal.aborted) {
      process.stderr.write(`\nInterrupted. Finished steps are saved; run the same command again to resume.\n`);
      return 130;
    }
    const failed = rows.filter((r) => r.state !== 'done').length;
    process.stderr.write(`${rows.length - failed} of ${rows.length} surveys written to ${outDir}${problems.length ? `; ${problems.length} bad line(s) skipped` : ''}.\n`);
    return failed ? 1 : 0;
  },
};

/** A finished job's stored stage times, in seconds. */
function stepSeconds(outputs: { ms?: number }[]): number {
  return outputs.reduce((t, o) => t + (typeof o.ms === 'number' ? o.ms : 0), 0) / 1000;
}
