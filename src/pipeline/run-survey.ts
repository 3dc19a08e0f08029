// The orchestrator: runs a survey job step by step — plan, library, each section, frame
// (abstract, introduction, conclusion), assembly — storing each step's output as it finishes.
// A resumed job reads finished steps back instead of recomputing them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config.js';
import { modelRecord, type EngineSpec } from '../engine/select.js';
import type { Engine } from '../engine/types.js';
import type { Embedder } from '../index/embedder.js';
import type { PaperIndex } from '../index/paper-index.js';
import { assemble } from './assembler.js';
import { Lease, type JobStore } from './jobs.js';
import { packLibraries } from './library.js';
import { plan } from './planner.js';
import { render, templateVersions } from '../templates.js';
import { retrieve } from './retriever.js';
import type { AssemblyOutput, FrameOutput, LibraryOutput, PlanOutput, SectionOutput, StageContext, SurveyMode, SurveyRequest } from './types.js';
import { sectionPhrases, writeFrameExtractive, writeFrameWithEngine, writeSectionExtractive, writeSectionWithEngine } from './writer.js';

/** What a survey job stores as its options. */
export interface SurveyJobOptions {
  request: SurveyRequest;
  engine: EngineSpec | null;
  /** Where the CLI writes the survey (kept so `--resume` writes to the same place). */
  out?: string;
  /** Engine mode: tokens for the outline JSON. */
  outlineTokens?: number;
  /** Engine mode: cap on the shared library's tokens. */
  libraryTokens?: number;
}

export const SURVEY_TEMPLATES = ['planner', 'planner-repair', 'library', 'section', 'introduction', 'abstract', 'conclusion', 'reranker', 'extractive'] as const;

export const DEFAULT_REQUEST: Omit<SurveyRequest, 'topic'> = { sections: 6, filters: {}, maxPapers: 200, seed: 1, rerank: false, sectionTokens: 400, temperature: 0.7 };

export interface SurveyEnv {
  store: JobStore;
  index: PaperIndex;
  embedder: Embedder;
  engine: Engine | null;
}

export type StageName = 'plan' | 'library' | 'sections' | 'frame' | 'assembly';

export interface StageEvent {
  stage: StageName;
  state: 'start' | 'progress' | 'done' | 'reused';
  done?: number;
  total?: number;
  detail?: string;
}

export interface RunOptions {
  owner: string;
  signal?: AbortSignal;
  onStage?: (e: StageEvent) => void;
  leaseMs?: number;
  renewMs?: number;
  /** Pause after each stored step (crash-recovery tests kill the process in it). */
  stepDelayMs?: number;
}

export interface SurveyResult {
  jobId: string;
  options: SurveyJobOptions;
  assembly: AssemblyOutput;
  plan: PlanOutput;
  library: LibraryOutput;
  sections: SectionOutput[];
  frame: FrameOutput;
}

export class JobBusyError extends Error {}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

export function jobOptions(store: JobStore, jobId: string): SurveyJobOptions {
  const row = store.get(jobId);
  if (!row) throw new Error(`no job ${jobId}`);
  const opts = JSON.parse(row.options) as SurveyJobOptions;
  if (!opts.request?.topic) throw new Error(`job ${jobId} is not a survey job`);
  return opts;
}

export async function runSurvey(env: SurveyEnv, jobId: string, run: RunOptions): Promise<SurveyResult> {
  const { store } = env;
  const options = jobOptions(store, jobId);
  const req = options.request;
  const mode: SurveyMode = options.engine ? 'engine' : 'extractive';
  if (mode === 'engine' && !env.engine) throw new Error(`job ${jobId} was started with a model (${options.engine!.backend}); resume it with one`);
  if (!store.claim(jobId, run.owner, run.leaseMs)) {
    const row = store.get(jobId);
    if (row?.state === 'done') throw new JobBusyError(`job ${jobId} is already done`);
    throw new JobBusyError(`job ${jobId} is held by another worker (${row?.lease_owner}) until ${new Date(row?.lease_expires_at ?? 0).toISOString()}`);
  }
  const lease = new Lease(store, jobId, run.owner, run.leaseMs, run.renewMs);
  const signal = run.signal ? AbortSignal.any([run.signal, lease.lost]) : lease.lost;
  const emit = run.onStage ?? (() => {});
  const ctxFor = (stage: StageName): StageContext => ({
    index: env.index,
    embedder: env.embedder,
    engine: mode === 'engine' ? env.engine : null,
    signal,
    onProgress: (done, total, detail) => emit({ stage, state: 'progress', done, total, detail }),
  });

  /** The stored output of `step`, or computes, stores and returns it. */
  async function step<T>(stage: StageName, name: string, compute: () => Promise<T>, eventData: (t: T) => Record<string, unknown> = () => ({})): Promise<T> {
    const stored = store.stepOutput<T>(jobId, name);
    if (stored !== undefined) return stored;
    signal.throwIfAborted();
    const out = await compute();
    signal.throwIfAborted();
    store.finishStep(jobId, run.owner, name, out, { stage, ...eventData(out) });
    if (run.stepDelayMs) await sleep(run.stepDelayMs, signal);
    return out;
  }

  try {
    const stageStart = (stage: StageName, reused: boolean, total?: number) => emit({ stage, state: reused ? 'reused' : 'start', total });

    stageStart('plan', store.stepOutput(jobId, 'plan') !== undefined);
    const planned = await step('plan', 'plan', () => plan(ctxFor('plan'), req, { outlineTokens: options.outlineTokens }), (p) => ({ source: p.source, sections: p.outline.sections.length }));
    emit({ stage: 'plan', state: 'done', detail: `${planned.outline.sections.length} sections (${planned.source})` });
    const outline = planned.outline;

    stageStart('library', store.stepOutput(jobId, 'library') !== undefined);
    const library = await step(
      'library',
      'library',
      async (): Promise<LibraryOutput> => {
        const started = performance.now();
        const ctx = ctxFor('library');
        const got = await retrieve(ctx, req, planned);
        let packing: LibraryOutput['packing'];
        if (mode === 'engine') packing = await packLibraries(env.engine!, { topic: req.topic, papers: got.papers, sectionPapers: got.sectionPapers, sectionTitles: outline.sections.map((s) => s.title), reserveTokens: await reserveTokens(env.engine!, req, planned), maxLibraryTokens: options.libraryTokens });
        return { ...got, packing, ms: performance.now() - started };
      },
      (l) => ({ papers: l.papers.length }),
    );
    emit({ stage: 'library', state: 'done', detail: `${library.papers.length} papers` });

    const n = outline.sections.length;
    const sectionsDone = outline.sections.filter((_, s) => store.stepOutput(jobId, `section:${s}`) !== undefined).length;
    emit({ stage: 'sections', state: sectionsDone === n ? 'reused' : 'start', total: n, done: sectionsDone });
    const phrases = mode === 'extractive' ? sectionPhrases(req, library) : [];
    const sections: SectionOutput[] = [];
    for (let s = 0; s < n; s++) {
      const ctx = ctxFor('sections');
      sections.push(
        await step('sections', `section:${s}`, () => (mode === 'engine' ? writeSectionWithEngine(ctx, req, outline, library, s) : writeSectionExtractive(ctx, req, outline, library, s, phrases[s] ?? [])), (o) => ({
          section: s,
          promptTokens: o.promptTokens,
          cachedTokens: o.cachedTokens,
        })),
      );
      emit({ stage: 'sections', state: 'progress', done: s + 1, total: n, detail: outline.sections[s]!.title });
    }
    emit({ stage: 'sections', state: 'done', done: n, total: n });

    stageStart('frame', store.stepOutput(jobId, 'frame') !== undefined, 3);
    const frame = await step('frame', 'frame', () => (mode === 'engine' ? writeFrameWithEngine(ctxFor('frame'), req, outline, library, sections) : writeFrameExtractive(ctxFor('frame'), req, outline, library, sections, phrases)));
    emit({ stage: 'frame', state: 'done' });

    stageStart('assembly', store.stepOutput(jobId, 'assembly') !== undefined);
    const assembly = await step('assembly', 'assembly', async (): Promise<AssemblyOutput> => {
      const started = performance.now();
      const a = assemble({
        title: outline.title,
        mode,
        abstract: frame.abstract,
        introduction: frame.introduction,
        sections,
        conclusion: frame.conclusion,
        library: library.papers,
        frontMatter: await frontMatter(env, jobId, options, planned, library, sections, frame),
        timings: { plan: planned.ms, library: library.ms, sections: sections.reduce((t, s) => t + s.ms, 0), frame: frame.ms },
      });
      return { markdown: a.markdown, bibtex: a.bibtex, counts: a.counts, ms: performance.now() - started };
    }, (a) => a.counts);
    emit({ stage: 'assembly', state: 'done', detail: `${assembly.counts.cited} papers cited` });
    store.db
      .prepare('INSERT OR REPLACE INTO surveys (id, job_id, topic, title, mode, markdown, bibtex, front_matter, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(jobId, jobId, req.topic, outline.title, mode, assembly.markdown, assembly.bibtex, JSON.stringify({ counts: assembly.counts, plan_source: planned.source }), Date.now());
    lease.stop();
    store.release(jobId, run.owner, 'done');
    return { jobId, options, assembly, plan: planned, library, sections, frame };
  } catch (e) {
    lease.stop();
    const interrupted = run.signal?.aborted === true;
    if (lease.lost.aborted) throw lease.lost.reason;
    store.release(jobId, run.owner, interrupted ? 'cancelled' : 'failed', interrupted ? 'interrupted; resumable' : (e as Error).message);
    throw e;
  }
}

/** Tokens the packed library must leave free: the longest instruction plus the longest output. */
async function reserveTokens(engine: Engine, req: SurveyRequest, planned: PlanOutput): Promise<number> {
  const outline = planned.outline;
  const sectionInstructions = outline.sections.map((s) =>
    render('section', { title: s.title, brief: s.brief, subsections: s.subsections.map((t) => `"${t}"`).join(', ') + ' '.repeat(80), words: 9999 }),
  );
  const outlineText = outline.sections.map((s, i) => `${i + 1}. ${s.title}: ${s.brief}`).join('\n');
  const summaries = outline.sections.map((s, i) => `${i + 1}. ${s.title}: ${'x '.repeat(100)}`).join('\n');
  const frameInstructions = [
    render('introduction', { title: outline.title, outline: outlineText, words: 9999 }),
    render('conclusion', { title: outline.title, summaries, words: 9999 }),
    render('abstract', { title: outline.title, outline: outlineText, words: 9999 }),
  ];
  let longest = 0;
  for (const text of [...sectionInstructions, ...frameInstructions]) longest = Math.max(longest, await engine.countTokens(text));
  return longest + Math.max(req.sectionTokens, 400) + 16;
}

async function frontMatter(env: SurveyEnv, jobId: string, options: SurveyJobOptions, planned: PlanOutput, library: LibraryOutput, sections: SectionOutput[], frame: FrameOutput): Promise<Record<string, unknown>> {
  const req = options.request;
  const meta = env.index.meta;
  const engineStats = options.engine
    ? {
        library_tokens: library.packing?.libraries.map((l) => l.tokens),
        library_papers_packed: library.packing?.libraries.map((l) => l.paperIds.length),
        section_prompt_tokens: sections.map((s) => s.promptTokens ?? null),
        section_cached_tokens: sections.map((s) => s.cachedTokens ?? null),
        frame_prompt_tokens: frame.promptTokens ?? null,
        frame_cached_tokens: frame.cachedTokens ?? null,
      }
    : undefined;
  return {
    topic: req.topic,
    date: new Date().toISOString(),
    generator: `litsurvey ${version()}`,
    job: jobId,
    plan_source: planned.source,
    model: modelRecord(options.engine),
    sampler: options.engine ? { temperature: req.temperature, seed: req.seed, section_tokens: req.sectionTokens, ...(req.ignoreEos ? { ignore_eos: true } : {}), rerank: library.reranked } : { seed: req.seed },
    request: { sections: req.sections, since: req.filters.since ?? null, until: req.filters.until ?? null, max_papers: req.maxPapers },
    templates: templateVersions(SURVEY_TEMPLATES),
    index: { revision: meta?.revision ?? null, papers: await env.index.count(), embedder: env.embedder.info.name, embedder_version: env.embedder.info.version },
    engine_stats: engineStats,
  };
}

