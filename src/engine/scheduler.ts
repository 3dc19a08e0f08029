// One engine, many callers: survey jobs and API requests take turns through a priority queue.
// Engine calls are short (a section, an outline, a chat answer), so an interactive request waits
// at most for the call in progress, never behind a whole survey.
import type { ChatMessage, Engine, EngineInfo, GenerateOptions, GenerateStats, GenerateStream, ScoreResult } from './types.js';

export type Priority = 'interactive' | 'background';

interface Waiter {
  priority: Priority;
  seq: number;
  grant: () => void;
}

export interface SchedulerStats {
  busy: boolean;
  waitingInteractive: number;
  waitingBackground: number;
  calls: number;
  generatedTokens: number;
  decodeMs: number;
}

export class EngineScheduler {
  private busy = false;
  private waiters: Waiter[] = [];
  private seq = 0;
  private calls = 0;
  private generatedTokens = 0;
  private decodeMs = 0;

  constructor(readonly engine: Engine) {}

  /** Waits for the engine; interactive callers go first, then first come, first served. */
  async acquire(priority: Priority, signal?: AbortSignal): Promise<() => void> {
    if (!this.busy) {
      this.busy = true;
      return () => this.release();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { priority, seq: this.seq++, grant: () => resolve(() => this.release()) };
      this.waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            reject(signal.reason ?? new Error('aborted'));
          }
        },
        { once: true },
      );
    });
  }

  private release(): void {
    if (this.waiters.length === 0) {
      this.busy = false;
      return;
    }
    let best = 0;
    for (let i = 1; i < this.waiters.length; i++) {
      const a = this.waiters[i]!;
      const b = this.waiters[best]!;
      if ((a.priority === 'interactive' && b.priority !== 'interactive') || (a.priority === b.priority && a.seq < b.seq)) best = i;
    }
    const [next] = this.waiters.splice(best, 1);
    next!.grant();
  }

  stats(): SchedulerStats {
    return {
      busy: this.busy,
      waitingInteractive: this.waiters.filter((w) => w.priority === 'interactive').length,
      waitingBackground: this.waiters.filter((w) => w.priority === 'background').length,
      calls: this.calls,
      generatedTokens: this.generatedTokens,
      decodeMs: this.decodeMs,
    };
  }

  /** An `Engine` whose every call queues at the given priority. */
  view(priority: Priority): Engine {
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      const release = await this.acquire(priority);
      this.calls++;
      try {
        return await fn();
      } finally {
        release();
      }
    };
    const generate = (input: string | readonly ChatMessage[], opts: GenerateOptions = {}): GenerateStream => {
      let resolveStats!: (s: GenerateStats) => void;
      let rejectStats!: (e: unknown) => void;
      const stats = new Promise<GenerateStats>((res, rej) => {
        resolveStats = res;
        rejectStats = rej;
      });
      stats.catch(() => undefined);
      const self = this;
      async function* pieces(): AsyncGenerator<string> {
        const release = await self.acquire(priority, opts.signal);
        self.calls++;
        try {
          const inner = self.engine.generate(input, opts);
          for await (const p of inner) yield p;
          const s = await inner.stats;
          self.generatedTokens += s.generatedTokens;
          self.decodeMs += s.decodeMs;
          resolveStats(s);
        } catch (e) {
          rejectStats(e);
          throw e;
        } finally {
          release();
        }
      }
      const it = pieces();
      return { [Symbol.asyncIterator]: () => it, stats };
    };
    const engine = this.engine;
    return {
      generate,
      score: (prompt: string, continuation: string): Promise<ScoreResult> => run(() => engine.score(prompt, continuation)),
      embed: (texts: readonly string[]) => run(() => engine.embed(texts)),
      info: (): EngineInfo => engine.info(),
      close: () => engine.close(),
      // Tokenizing needs no compute slot.
      countTokens: (text: string) => engine.countTokens(text),
    };
  }
}
