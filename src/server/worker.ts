// The server's survey worker: takes queued jobs (and jobs whose lease expired, e.g. after a
// restart or a killed CLI) from SQLite one at a time, runs them, and scores each finished survey
// with the lexical judge. The CLI and the server share the database; leases keep them from taking
// each other's running jobs. Extractive jobs are CPU-bound and run in a worker thread (the event
// loop keeps answering requests); engine jobs run here and write through the scheduler's
// background view, so /v1 requests (interactive) are served between a survey's engine calls.
import { Worker } from 'node:worker_threads';
import type { EngineScheduler } from '../engine/scheduler.js';
import type { Engine } from '../engine/types.js';
import type { Embedder } from '../index/embedder.js';
import type { ForegroundGate } from '../index/foreground-gate.js';
import type { PaperIndex } from '../index/paper-index.js';
import { scoreJobSurvey, type SurveyEvaluation } from '../metrics/evaluate.js';
import { indexSource } from '../metrics/papers.js';
import { JobStore, workerId, type JobRow } from '../pipeline/jobs.js';
import { JobBusyError, runSurvey, type SurveyJobOptions } from '../pipeline/run-survey.js';
import { stageRecorder } from './stage-events.js';
import type { ThreadJob, ThreadResult } from './survey-thread.js';

export interface WorkerDeps {
  store: JobStore;
  /** The store's file: worker threads open their own connection to it. */
  dbPath: string;
  index: PaperIndex;
  embedder: Embedder;
  cacheDir: string;
  scheduler?: EngineScheduler;
  /** API searches in flight: the survey thread's searches wait for them. */
  gate?: ForegroundGate;
  pollMs?: number;
  /** Pause after each stored step (tests watch progress and cancel mid-job with it). */
  stepDelayMs?: number;
  log?: (line: string) => void;
}

/** Terminal job states: the event stream ends on these. */
export const FINAL_STATES = new Set(['done', 'failed', 'cancelled']);

/** Evaluations kept in memory for survey pages and reports (recomputed on a miss). */
const EVALUATION_CACHE = 32;
const STATS_EVERY_MS = 2000;

export class SurveyWorker {
  readonly owner = workerId();
  private readonly engine: Engine | null;
  private timer: NodeJS.Timeout | null = null;
  private current: { id: string; controller: AbortController; cancelled: boolean } | null = null;
  private running: Promise<void> | null = null;
  private started = false;
  private stopping = false;
  private readonly evaluations = new Map<string, Promise<SurveyEvaluation>>();
  /** Aborted on shutdown: open event streams end. */
  readonly closing = new AbortController();

  constructor(private readonly deps: WorkerDeps) {
    this.engine = deps.scheduler?.view('background') ?? null;
  }

  get store(): JobStore {
    return this.deps.store;
  }

  get hasEngine(): boolean {
    return this.engine !== null;
  }

  start(): void {
    this.started = true;
    this.timer = setInterval(() => this.tick(), this.deps.pollMs ?? 500);
    this.timer.unref();
    this.tick();
  }

  /** Wakes the worker now (a job was just queued). */
  tick(): void {
    if (!this.started || this.running || this.stopping) return;
    const job = this.nextJob();
    if (!job) return;
    this.running = this.run(job).finally(() => {
      this.running = null;
      this.current = null;
      if (!this.stopping) setImmediate(() => this.tick());
    });
  }

  /** Queued jobs and running jobs whose lease expired, oldest first; engine jobs only with an engine. */
  private nextJob(): JobRow | undefined {
    const rows = this.store.db
      .prepare(
        `SELECT * FROM jobs WHERE kind = 'survey' AND (state = 'queued' OR (state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= ?)))
         ORDER BY created_at, rowid LIMIT 50`,
      )
      .all(Date.now()) as JobRow[];
    return rows.find((r) => {
      try {
        const o = JSON.parse(r.options) as SurveyJobOptions;
        return Boolean(o.request?.topic) && (o.engine === null || this.engine !== null);
      } catch {
        return false;
      }
    });
  }

  private async run(job: JobRow): Promise<void> {
    const controller = new AbortController();
    this.current = { id: job.id, controller, cancelled: false };
    const log = this.deps.log ?? (() => {});
    try {
      const engineJob = (JSON.parse(job.options) as SurveyJobOptions).engine !== null;
      const cited = engineJob ? await this.runWithEngine(job.id, controller.signal) : await this.runInThread(job.id, controller.signal);
      log(`job ${job.id} done: ${cited} papers cited`);
    } catch (e) {
      if (e instanceof JobBusyError || this.current?.cancelled) return;
      if (this.stopping) {
        // Shut down mid-job: queue it again, so the next start resumes it from its last step.
        this.store.db.prepare("UPDATE jobs SET state = 'queued', error = NULL WHERE id = ? AND state = 'cancelled'").run(job.id);
        this.store.event(job.id, 'requeued', { reason: 'server shutdown' });
      } else log(`job ${job.id} failed: ${(e as Error).message}`);
    }
  }

  /**
   * Engine jobs run on this thread: engine calls are asynchronous (native threads), and they go
   * through the scheduler's background view, so /v1 requests are served between them.
   */
  private async runWithEngine(jobId: string, signal: AbortSignal): Promise<number> {
    const scheduler = this.deps.scheduler;
    let tokens = scheduler?.stats().generatedTokens ?? 0;
    let decodeMs = scheduler?.stats().decodeMs ?? 0;
    const stats = scheduler
      ? setInterval(() => {
          const s = scheduler.stats();
          const dt = s.decodeMs - decodeMs;
          if (dt > 0) this.store.event(jobId, 'stats', { tokensPerSecond: Math.round(((s.generatedTokens - tokens) / dt) * 10000) / 10 });
          tokens = s.generatedTokens;
          decodeMs = s.decodeMs;
        }, STATS_EVERY_MS)
      : null;
    stats?.unref();
    try {
      const result = await runSurvey({ store: this.store, index: this.deps.index, embedder: this.deps.embedder, engine: this.engine }, jobId, { owner: this.owner, signal, onStage: stageRecorder(this.store, jobId), stepDelayMs: this.deps.stepDelayMs });
      await this.evaluation(jobId).catch((e: Error) => this.deps.log?.(`job ${jobId}: scoring failed: ${e.message}`));
      return result.assembly.counts.cited;
    } finally {
      if (stats) clearInterval(stats);
    }
  }

  /** Extractive jobs are CPU-bound from start to end: they run (and are scored) in a worker thread. */
  private async runInThread(jobId: string, signal: AbortSignal): Promise<number> {
    const vectors = this.deps.index.exists ? (await this.deps.index.keepVectorsResident()).shared : undefined;
    const job: ThreadJob = { dbPath: this.deps.dbPath, indexUri: this.deps.index.uri, cacheDir: this.deps.cacheDir, jobId, owner: this.owner, stepDelayMs: this.deps.stepDelayMs, vectors, foreground: this.deps.gate?.inFlight };
    const thread = new Worker(new URL('./survey-thread.js', import.meta.url), { workerData: job });
    const onAbort = () => thread.postMessage({ abort: (signal.reason as Error | undefined)?.message ?? 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await new Promise<ThreadResult>((resolve, reject) => {
        thread.once('message', resolve);
        thread.once('error', reject);
        thread.once('exit', (code) => reject(new Error(`the survey thread exited (code ${code}) before answering`)));
      });
      if (!result.ok) throw result.busy ? new JobBusyError(result.message) : new Error(result.message);
      if (result.evaluation) this.remember(jobId, Promise.resolve(result.evaluation));
      else this.deps.log?.(`job ${jobId}: scoring failed: ${result.scoreError ?? 'no result'}`);
      return result.cited;
    } catch (e) {
      // A thread that died mid-job leaves our lease behind: give the job up as failed, never retry it forever.
      if (!(e instanceof JobBusyError)) this.store.release(jobId, this.owner, signal.aborted ? 'cancelled' : 'failed', (e as Error).message);
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await thread.terminate();
    }
  }

  /**
   * Cancels a job at any stage: it is marked cancelled without an owner at once (so the state, its
   * error and the event stream's last event say so before the job stops), and whoever runs it stops:
   * here by an abort, another process when its next lease renewal fails.
   * Returns the job's state afterwards, or undefined when there is no such job.
   */
  cancel(id: string): string | undefined {
    const row = this.store.get(id);
    if (!row) return undefined;
    if (FINAL_STATES.has(row.state)) return row.state;
    const changed = this.store.db
      .prepare("UPDATE jobs SET state = 'cancelled', error = 'cancelled by the user', lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state IN ('queued', 'running')")
      .run(Date.now(), id).changes;
    if (changed === 1) this.store.event(id, 'cancelled', { error: 'cancelled by the user' });
    if (this.current?.id === id) {
      this.current.cancelled = true;
      this.current.controller.abort(new Error('cancelled by the user'));
    }
    return this.store.get(id)?.state;
  }

  /** 1-based place in the queue of a queued job (the running job is not counted), else null. */
  position(id: string): number | null {
    const row = this.store.db.prepare("SELECT created_at FROM jobs WHERE id = ? AND state = 'queued'").get(id) as { created_at: number } | undefined;
    if (!row) return null;
    const ahead = this.store.db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'queued' AND kind = 'survey' AND (created_at < ? OR (created_at = ? AND id < ?))").get(row.created_at, row.created_at, id) as { n: number };
    return ahead.n + 1;
  }

  /** The lexical-judge evaluation of a finished job's survey (computed once, kept for a while). */
  evaluation(jobId: string): Promise<SurveyEvaluation> {
    const hit = this.evaluations.get(jobId);
    if (hit) return hit;
    const row = this.store.db.prepare('SELECT markdown FROM surveys WHERE job_id = ? ORDER BY created_at DESC LIMIT 1').get(jobId) as { markdown: string } | undefined;
    if (!row) return Promise.reject(new Error(`job ${jobId} has no survey yet`));
    return this.remember(jobId, scoreJobSurvey(this.store.db, jobId, row.markdown, { source: indexSource(this.deps.index), cacheDir: this.deps.cacheDir, judge: 'lexical' }));
  }

  private remember(jobId: string, p: Promise<SurveyEvaluation>): Promise<SurveyEvaluation> {
    p.catch(() => this.evaluations.delete(jobId));
    this.evaluations.set(jobId, p);
    if (this.evaluations.size > EVALUATION_CACHE) this.evaluations.delete(this.evaluations.keys().next().value!);
    return p;
  }

  /** Stops taking jobs; a running job is interrupted and queued again for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.closing.abort();
    if (this.timer) clearInterval(this.timer);
    this.current?.controller.abort(new Error('server shutdown'));
    await this.running?.catch(() => {});
  }
}
