// Jobs in SQLite: a row per job, the output of every finished step, an event log, and a lease a
// worker holds while it runs the job. CLI and server share the database; a worker takes a job only
// when nobody holds it, its lease expired, or its holder was a process on this host that no longer
// exists (a CLI killed with SIGKILL) — each with one atomic UPDATE, so two workers never both win.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../store/db.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRow {
  id: string;
  kind: string;
  topic: string;
  options: string;
  state: JobState;
  step: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

export interface StepRow {
  step: string;
  output: string;
  finished_at: number;
}

export const LEASE_MS = 30_000;
export const RENEW_MS = 10_000;

/** A worker identity: host and process, so a dead local holder can be recognised. */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

function holderIsDeadHere(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class JobStore {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  create(topic: string, options: unknown, kind = 'survey'): string {
    const id = randomUUID();
    const t = this.now();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO jobs (id, kind, topic, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(id, kind, topic, JSON.stringify(options), 'queued', t, t);
      this.event(id, 'created', { topic });
    })();
    return id;
  }

  get(id: string): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
  }

  /** A job by its id or a unique id prefix (as printed for `--resume`). */
  find(idOrPrefix: string): JobRow | undefined {
    const exact = this.get(idOrPrefix);
    if (exact) return exact;
    if (!/^[0-9a-f-]{4,}$/i.test(idOrPrefix)) return undefined;
    const rows = this.db.prepare("SELECT * FROM jobs WHERE id LIKE ? || '%' LIMIT 2").all(idOrPrefix) as JobRow[];
    if (rows.length > 1) throw new Error(`job id prefix "${idOrPrefix}" is ambiguous`);
    return rows[0];
  }

  /**
   * Takes the job for `owner` if it is not done and nobody else holds a live lease on it.
   * Returns false when another worker holds it.
   */
  claim(id: string, owner: string, leaseMs = LEASE_MS): boolean {
    const t = this.now();
    const take = this.db.prepare(
      `UPDATE jobs SET lease_owner = @owner, lease_expires_at = @until, state = 'running', error = NULL, updated_at = @t
       WHERE id = @id AND state <> 'done'
         AND (lease_owner IS NULL OR lease_owner = @owner OR lease_expires_at IS NULL OR lease_expires_at <= @t)`,
    );
    if (take.run({ id, owner, until: t + leaseMs, t }).changes === 1) {
      this.event(id, 'claimed', { owner });
      return true;
    }
    const row = this.get(id);
    if (!row || row.state === 'done' || !row.lease_owner || !holderIsDeadHere(row.lease_owner)) return false;
    // The holder's process is gone: take over from exactly that holder (atomic against other takers).
    const takeOver = this.db.prepare(
      `UPDATE jobs SET lease_owner = @owner, lease_expires_at = @until, state = 'running', error = NULL, updated_at = @t
       WHERE id = @id AND state <> 'done' AND lease_owner = @dead`,
    );
    if (takeOver.run({ id, owner, until: t + leaseMs, t, dead: row.lease_owner }).changes !== 1) return false;
    this.event(id, 'claimed', { owner, tookOverFrom: row.lease_owner });
    return true;
  }

  /** Extends the lease; false when this owner no longer holds it. */
  renew(id: string, owner: string, leaseMs = LEASE_MS): boolean {
    const t = this.now();
    return this.db.prepare('UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE id = ? AND lease_owner = ?').run(t + leaseMs, t, id, owner).changes === 1;
  }

  /** Gives the job up: `state` says what became of it. */
  release(id: string, owner: string, state: Exclude<JobState, 'running'>, error?: string): void {
    const t = this.now();
    this.db.transaction(() => {
      const changed = this.db
        .prepare('UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, state = ?, error = ?, updated_at = ? WHERE id = ? AND lease_owner = ?')
        .run(state, error ?? null, t, id, owner).changes;
      if (changed === 1) this.event(id, state, error ? { error } : {});
    })();
  }

  stepOutput<T>(id: string, step: string): T | undefined {
    const row = this.db.prepare('SELECT output FROM job_steps WHERE job_id = ? AND step = ?').get(id, step) as { output: string } | undefined;
    return row ? (JSON.parse(row.output) as T) : undefined;
  }

  steps(id: string): StepRow[] {
    return this.db.prepare('SELECT step, output, finished_at FROM job_steps WHERE job_id = ? ORDER BY finished_at, rowid').all(id) as StepRow[];
  }

  /** Records a finished step and its event, only while `owner` holds the lease. */
  finishStep(id: string, owner: string, step: string, output: unknown, eventData: Record<string, unknown> = {}): void {
    const t = this.now();
    this.db.transaction(() => {
      const held = this.db.prepare('UPDATE jobs SET step = ?, updated_at = ? WHERE id = ? AND lease_owner = ?').run(step, t, id, owner).changes === 1;
      if (!held) throw new Error(`job ${id}: the lease was lost (another worker took the job over)`);
      this.db.prepare('INSERT INTO job_steps (job_id, step, output, finished_at) VALUES (?, ?, ?, ?)').run(id, step, JSON.stringify(output), t);
      this.event(id, 'step', { step, ...eventData });
    })();
  }

  event(id: string, type: string, data: Record<string, unknown> = {}): void {
    this.db.prepare('INSERT INTO job_events (job_id, at, type, data) VALUES (?, ?, ?, ?)').run(id, this.now(), type, JSON.stringify(data));
  }

  events(id: string): { type: string; at: number; data: Record<string, unknown> }[] {
    return (this.db.prepare('SELECT type, at, data FROM job_events WHERE job_id = ? ORDER BY id').all(id) as { type: string; at: number; data: string }[]).map((r) => ({
      ...r,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  /** The job a batch line became, if it was recorded. */
  batchJob(batch: string, itemKey: string): string | undefined {
    return (this.db.prepare('SELECT job_id FROM batch_items WHERE batch = ? AND item_key = ?').get(batch, itemKey) as { job_id: string } | undefined)?.job_id;
  }

  recordBatchJob(batch: string, itemKey: string, line: number, jobId: string): void {
    this.db.prepare('INSERT OR REPLACE INTO batch_items (batch, item_key, line, job_id) VALUES (?, ?, ?, ?)').run(batch, itemKey, line, jobId);
  }
}

/**
 * Holds a claimed job's lease: renews it on a timer and aborts `signal` if it is lost.
 * The timer does not keep the process alive.
 */
export class Lease {
  private readonly timer: NodeJS.Timeout;
  private readonly controller = new AbortController();

  constructor(
    private readonly store: JobStore,
    readonly jobId: string,
    readonly owner: string,
    leaseMs = LEASE_MS,
    renewMs = RENEW_MS,
  ) {
    this.timer = setInterval(() => {
      if (!this.store.renew(jobId, owner, leaseMs)) {
        clearInterval(this.timer);
        this.controller.abort(new Error(`job ${jobId}: the lease was lost (another worker took the job over)`));
      }
    }, renewMs);
    this.timer.unref();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
