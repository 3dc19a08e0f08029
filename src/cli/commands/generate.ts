// `litsurvey generate "topic"`: one survey, written to Markdown + BibTeX, recorded as a resumable job.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../config.js';
import { openIndex } from '../../corpus/default-index.js';
import { engineSpec, openEngine, type EngineSpec } from '../../engine/select.js';
import type { Engine } from '../../engine/types.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../../index/embedders.js';
import { JobStore, workerId } from '../../pipeline/jobs.js';
import { DEFAULT_REQUEST, runSurvey, type StageEvent, type SurveyEnv, type SurveyJobOptions } from '../../pipeline/run-survey.js';
import type { AssemblyOutput, SurveyRequest } from '../../pipeline/types.js';
import { openDb } from '../../store/db.js';
import { scoreJobSurvey } from '../../metrics/evaluate.js';
import { indexSource } from '../../metrics/papers.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { formatDuration, indexBuildProgress, ProgressBar } from '../progress.js';
import { parsePositiveInt, parseYear } from './search.js';

export function slugify(topic: string): string {
  return (
    topic
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'survey'
  );
}

/** Options shared by `generate` and `batch`: the engine, the request knobs. */
export const engineOptions = {
  model: { type: 'string' },
  backend: { type: 'string' },
  'base-url': { type: 'string' },
  'api-model': { type: 'string' },
  context: { type: 'string' },
  sparse: { type: 'boolean' },
  seed: { type: 'string' },
  'max-papers': { type: 'string' },
  'section-tokens': { type: 'string' },
  temperature: { type: 'string' },
  rerank: { type: 'boolean', default: false },
  'outline-tokens': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  sections: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

export const engineHelp = `  --sections N          sections between introduction and conclusion (default 6, 2–12)
  --since YEAR          only papers from YEAR on
  --until YEAR          only papers up to YEAR
  --max-papers N        library size cap (default 200)
  --seed S              seed for clustering, phrasing and sampling (default 1)
  --model FILE.gguf     write with the native engine (default: LITSURVEY_MODEL; none = extractive mode)
  --backend B           native, openai or none (default: native with a model, else none)
  --base-url URL        OpenAI-compatible server (with --backend openai), e.g. http://127.0.0.1:8000
  --api-model NAME      model name the server expects (with --backend openai)
  --context N           context size in tokens (native: positions to allocate; openai: the served model's)
  --sparse              native: InfLLM v2 block-sparse attention for long contexts, also for models
                        that do not declare it (docs/engine.md; models that declare it use it anyway)
  --section-tokens N    tokens per engine-written section (default 400)
  --temperature T       sampling temperature for engine mode (default 0.7)
  --rerank              rerank each section's papers with the engine (score)
  --outline-tokens N    tokens for the model's outline JSON (default 1200)
  --quiet               no progress bars`;

type Values = { [K in keyof typeof engineOptions]?: (typeof engineOptions)[K]['type'] extends 'boolean' ? boolean : string };

export function requestFrom(topic: string, v: Values, overrides: Partial<{ sections: number; since: number; until: number }> = {}): SurveyRequest {
  const temperature = v.temperature === undefined ? DEFAULT_REQUEST.temperature : Number(v.temperature);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 5) throw new UsageError(`--temperature: expected a number from 0 to 5, got "${v.temperature}"`);
  const seed = v.seed === undefined ? DEFAULT_REQUEST.seed : Number(v.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 2 ** 31) throw new UsageError(`--seed: expected an integer from 0 to 2^31, got "${v.seed}"`);
  const sections = overrides.sections ?? parsePositiveInt('--sections', v.sections, 12) ?? DEFAULT_REQUEST.sections;
  if (sections < 2) throw new UsageError('--sections: at least 2');
  const since = overrides.since ?? parseYear('--since', v.since);
  const until = overrides.until ?? parseYear('--until', v.until);
  if (since !== undefined && until !== undefined && since > until) throw new UsageError(`--since ${since} is after --until ${until}`);
  return {
    topic,
    sections,
    filters: { since, until },
    maxPapers: parsePositiveInt('--max-papers', v['max-papers'], 5000) ?? DEFAULT_REQUEST.maxPapers,
    seed,
    rerank: v.rerank ?? false,
    sectionTokens: parsePositiveInt('--section-tokens', v['section-tokens'], 8192) ?? DEFAULT_REQUEST.sectionTokens,
    temperature,
  };
}

export function specFrom(v: Values, config: Config): EngineSpec | null {
  try {
    return engineSpec({
      backend: v.backend,
      model: v.model ? resolve(v.model) : v.backend === 'openai' || v.backend === 'none' ? undefined : config.model,
      baseUrl: v['base-url'],
      apiModel: v['api-model'],
      contextSize: parsePositiveInt('--context', v.context, 1 << 20),
      sparse: v.sparse,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The database, index and embedder a survey runs against, plus a cache of opened engines. */
export async function surveyEnvironment(config: Config, quiet: boolean): Promise<{ env: Omit<SurveyEnv, 'engine'>; engineFor: (spec: EngineSpec | null) => Promise<Engine | null>; close: () => Promise<void> }> {
  const embedder = createEmbedder(DEFAULT_EMBEDDER, config.cacheDir);
  const { index } = await openIndex(config, embedder, indexBuildProgress(config.indexUri, quiet));
  const db = openDb(config.dbPath);
  const engines = new Map<string, Promise<Engine>>();
  return {
    env: { store: new JobStore(db), index, embedder },
    engineFor: (spec) => {
      if (!spec) return Promise.resolve(null);
      const key = JSON.stringify(spec);
      if (!engines.has(key)) engines.set(key, openEngine(spec));
      return engines.get(key)!;
    },
    close: async () => {
      for (const e of engines.values()) await (await e.catch(() => null))?.close();
      db.close();
    },
  };
}

/** Progress bars per stage on stderr, driven by the orchestrator's stage events. */
export function stageReporter(quiet: boolean, prefix = ''): (e: StageEvent) => void {
  const labels: Record<StageEvent['stage'], string> = { plan: 'plan    ', library: 'retrieve', sections: 'write   ', frame: 'frame   ', assembly: 'assemble' };
  let bar: ProgressBar | null = null;
  let total = 1;
  return (e) => {
    if (quiet) return;
    const label = `${prefix}${labels[e.stage]}`;
    if (e.state === 'reused') {
      process.stderr.write(`${label} reused from the database${e.done !== undefined ? ` (${e.done}/${e.total})` : ''}\n`);
      bar = null;
    } else if (e.state === 'start') {
      total = e.total ?? 1;
      bar = new ProgressBar(label, total);
      bar.update(e.done ?? 0, '', true);
    } else if (e.state === 'progress') {
      if (e.total) total = e.total;
      if (!bar) bar = new ProgressBar(label, total);
      bar.setTotal(total);
      bar.update(e.done ?? 0, e.detail ?? '');
    } else {
      bar?.finish(e.total ?? total, e.detail ?? '');
      if (!bar) process.stderr.write(`${label} ${e.detail ?? 'done'}\n`);
      bar = null;
    }
  };
}

export function writeSurvey(out: string, markdown: string, bibtex: string): { md: string; bib: string } {
  const md = resolve(out);
  const bib = md.replace(/\.md$/i, '') + '.bib';
  mkdirSync(dirname(md), { recursive: true });
  writeFileSync(md, markdown);
  writeFileSync(bib, bibtex);
  return { md, bib };
}

export const command: Command = {
  name: 'generate',
  summary: 'write a survey on a topic (Markdown + BibTeX), resumable',
  help: `Usage: litsurvey generate "topic" [--out survey.md] [--sections N] [--since YEAR] [--until YEAR]
                          [--max-papers N] [--model FILE.gguf | --backend openai --base-url URL --api-model NAME]
                          [--seed S] [--rerank]
       litsurvey generate --resume JOB [--out survey.md]

Plans an outline, retrieves a library of papers from the index, writes every section with
[@paperId] citations, and assembles a Markdown survey with numbered citations, a reference list,
YAML front matter (everything needed to reproduce it) and a BibTeX file beside it.

Without a model the survey is written in extractive mode: sections come from clustering the
retrieved papers, and their text from the papers' own abstract sentences (MMR), each cited.
The survey says which mode wrote it.

Every finished step is stored in the database (LITSURVEY_DB, default ./data/litsurvey.sqlite).
After a crash or Ctrl-C, "--resume JOB" finishes the job without redoing finished steps; the
job id is printed at the start.

Options:
  --out FILE            the survey's Markdown file (default ./surveys/<topic-slug>.md); the .bib goes beside it
  --resume JOB          continue a stopped job (its id or a unique prefix); the job's own options are used
${engineHelp}

Examples:
  litsurvey generate "retrieval-augmented generation" --sections 5 --since 2020
  litsurvey generate "speech recognition" --model minicpm4-0.5b-q4_0.gguf --out asr.md
  litsurvey generate "code generation" --backend openai --base-url http://127.0.0.1:8000 --api-model qwen2.5-7b`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...engineOptions, out: { type: 'string' }, resume: { type: 'string' } } });
    const topic = positionals.join(' ').trim();
    const config = loadConfig();
    const quiet = values.quiet ?? false;
    let jobId: string;
    let options: SurveyJobOptions;
    if (values.resume && topic) throw new UsageError('--resume takes no topic (the job has one)');
    if (!values.resume && !topic) throw new UsageError('give a topic, e.g. litsurvey generate "graph neural networks"');
    // Flags are checked before the index opens, so a typo fails fast.
    const fresh = values.resume ? null : { request: requestFrom(topic, values), spec: specFrom(values, config), outlineTokens: parsePositiveInt('--outline-tokens', values['outline-tokens'], 65536) };
    const { env, engineFor, close } = await surveyEnvironment(config, quiet);
    try {
      if (values.resume) {
        const row = env.store.find(values.resume);
        if (!row) throw new UsageError(`--resume: no job "${values.resume}" in ${config.dbPath}`);
        jobId = row.id;
        options = JSON.parse(row.options) as SurveyJobOptions;
        if (values.out) options.out = resolve(values.out);
        const done = row.state === 'done' ? env.store.stepOutput<AssemblyOutput>(row.id, 'assembly') : undefined;
        if (done) {
          const files = writeSurvey(options.out ?? resolve(`surveys/${slugify(row.topic)}.md`), done.markdown, done.bibtex);
          process.stderr.write(`Job ${row.id} is already done; wrote ${files.md} and ${files.bib} from the database.\n`);
          console.log(files.md);
          return 0;
        }
        process.stderr.write(`Resuming job ${jobId} ("${row.topic}", ${row.state}${row.step ? `, last step ${row.step}` : ''}).\n`);
      } else {
        const { request, spec, outlineTokens } = fresh!;
        options = { request, engine: spec, out: resolve(values.out ?? `surveys/${slugify(topic)}.md`), outlineTokens };
        jobId = env.store.create(topic, options);
        process.stderr.write(`Job ${jobId}: "${topic}" in ${spec ? `engine mode (${spec.backend})` : 'extractive mode'}.\n`);
      }
      const engine = await engineFor(options.engine);
      const controller = new AbortController();
      const onSigint = () => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      const started = Date.now();
      try {
        const result = await runSurvey(
          { ...env, engine },
          jobId,
          { owner: workerId(), signal: controller.signal, onStage: stageReporter(quiet), stepDelayMs: Number(process.env.LITSURVEY_STEP_DELAY_MS) || undefined },
        );
        const files = writeSurvey(options.out ?? resolve(`surveys/${slugify(result.options.request.topic)}.md`), result.assembly.markdown, result.assembly.bibtex);
        const c = result.assembly.counts;
        process.stderr.write(
          `Wrote ${files.md} and ${files.bib}: ${c.sections} sections, ${c.cited} of ${c.papers} library papers cited, ${c.unresolved} unresolved citations dropped, ${formatDuration((Date.now() - started) / 1000)}.\n`,
        );
        // Every survey the pipeline writes is scored (lexical judge) and its metrics stored.
        const evaluation = await scoreJobSurvey(env.store.db, jobId, result.assembly.markdown, { source: indexSource(env.index), cacheDir: config.cacheDir, judge: 'lexical' });
        const f = evaluation.facts;
        process.stderr.write(
          `Fact score ${f.factScore === null ? 'n/a (no cited claims)' : `${(100 * f.factScore).toFixed(1)}% (${f.supported}/${f.claims.length} claims supported, lexical judge${evaluation.verbatimDerived ? '; verbatim-derived: extractive surveys quote their sources' : ''})`}; details: litsurvey eval ${files.md} --report report.html\n`,
        );
        console.log(files.md);
        return 0;
      } catch (e) {
        if (controller.signal.aborted) {
          process.stderr.write(`\nInterrupted. Finished steps are saved; resume with:\n  litsurvey generate --resume ${jobId}\n`);
          return 130;
        }
        if (e instanceof Error && !(e instanceof UsageError)) e.message = `${e.message}\n(job ${jobId}; retry with: litsurvey generate --resume ${jobId})`;
        throw e;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    } finally {
      await close();
    }
  },
};
