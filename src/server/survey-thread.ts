// A worker thread that runs one extractive survey job and scores it, so the CPU-bound writing
// (clustering, MMR) and the lexical judge never stall the server's event loop. It opens its own
// database connection and index; progress reaches browsers through job_events rows, as from a CLI.
// The parent sends { abort: reason } to cancel; the thread answers with one ThreadResult.
// On Linux the thread runs at a lower CPU priority than the request handlers: a survey is
// background work of seconds, a search is a request someone waits for.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createEmbedder, DEFAULT_EMBEDDER } from '../index/embedders.js';
import { ForegroundGate } from '../index/foreground-gate.js';
import { PaperIndex } from '../index/paper-index.js';
import type { SharedVectors } from '../index/resident-vectors.js';
import { scoreJobSurvey, type SurveyEvaluation } from '../metrics/evaluate.js';
import { indexSource } from '../metrics/papers.js';
import { JobStore } from '../pipeline/jobs.js';
import { JobBusyError, runSurvey } from '../pipeline/run-survey.js';
import { openDb } from '../store/db.js';
import { stageRecorder } from './stage-events.js';

export interface ThreadJob {
  dbPath: string;
  indexUri: string;
  cacheDir: string;
  jobId: string;
  owner: string;
  stepDelayMs?: number;
  /** The server's resident vectors (SharedArrayBuffers: shared, not copied). */
  vectors?: SharedVectors;
  /** The server's count of API searches in flight (shared): this thread's searches wait for them. */
  foreground?: Int32Array;
}

/** Nice value of survey threads (Linux: per thread; elsewhere it would apply to the whole process, so it is not set). */
export const SURVEY_THREAD_NICE = 10;

export type ThreadResult =
  | { ok: true; cited: number; evaluation: SurveyEvaluation | null; scoreError?: string }
  | { ok: false; busy: boolean; message: string };

async function main(port: NonNullable<typeof parentPort>, job: ThreadJob): Promise<void> {
  if (process.platform === 'linux') setPriority(SURVEY_THREAD_NICE);
  const controller = new AbortController();
  port.on('message', (m: { abort?: string }) => controller.abort(new Error(m.abort ?? 'aborted')));
  const db = openDb(job.dbPath);
  try {
    const embedder = createEmbedder(DEFAULT_EMBEDDER, job.cacheDir);
    const index = await PaperIndex.open(job.indexUri);
    index.checkEmbedder(embedder.info);
    if (job.vectors && index.exists) await index.keepVectorsResident(job.vectors);
    if (job.foreground) index.yieldTo = new ForegroundGate(job.foreground);
    const store = new JobStore(db);
    const result = await runSurvey({ store, index, embedder, engine: null }, job.jobId, { owner: job.owner, signal: controller.signal, onStage: stageRecorder(store, job.jobId), stepDelayMs: job.stepDelayMs });
    let evaluation: SurveyEvaluation | null = null;
    let scoreError: string | undefined;
    try {
      evaluation = await scoreJobSurvey(db, job.jobId, result.assembly.markdown, { source: indexSource(index), cacheDir: job.cacheDir, judge: 'lexical' });
    } catch (e) {
      scoreError = (e as Error).message;
    }
    const done: ThreadResult = { ok: true, cited: result.assembly.counts.cited, evaluation, scoreError };
    try {
      port.postMessage(done);
    } catch {
      port.postMessage({ ...done, evaluation: null });
    }
  } catch (e) {
    port.postMessage({ ok: false, busy: e instanceof JobBusyError, message: (e as Error).message } satisfies ThreadResult);
  } finally {
    db.close();
  }
}

if (parentPort) await main(parentPort, workerData as ThreadJob);
