// Stage progress as job_events rows, so event streams (which read the database) show it whichever
// thread or process runs the job.
import type { JobStore } from '../pipeline/jobs.js';
import type { StageEvent } from '../pipeline/run-survey.js';

/** Progress inside a stage can be fast (extractive sections): one stored event per this many ms. */
const PROGRESS_EVERY_MS = 100;

export function stageRecorder(store: JobStore, jobId: string): (e: StageEvent) => void {
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (e.state === 'progress' && now - last < PROGRESS_EVERY_MS && e.done !== e.total) return;
    last = now;
    store.event(jobId, 'stage', { ...e });
  };
}
