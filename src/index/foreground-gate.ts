// Background searches (survey threads) give way to foreground ones (HTTP requests): a counter of
// foreground searches in flight, in shared memory, that background searches wait on before they
// start. LanceDB runs every query of the process on one thread pool at normal priority, so a
// survey thread's nice value alone does not keep its searches from queueing ahead of requests.
const POLL_MS = 5;
/** Longest a background search waits, so surveys still progress under unbroken request load. */
export const MAX_YIELD_MS = 250;

/**
 * Foreground tasks of one thread that run at once; the rest wait in arrival order. LanceDB's
 * thread pool does not serve queries first come, first served, so with many in flight some wait
 * far longer than others (the latency tail); a few at a time keep two cores busy.
 */
export const MAX_RUNNING = 4;

export class ForegroundGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly inFlight: Int32Array = new Int32Array(new SharedArrayBuffer(4)),
    private readonly maxRunning = MAX_RUNNING,
  ) {}

  /** Runs a foreground task once fewer than `maxRunning` run, counted as in flight while it waits and runs. */
  async foreground<T>(task: () => Promise<T>): Promise<T> {
    Atomics.add(this.inFlight, 0, 1);
    try {
      if (this.running < this.maxRunning) this.running++;
      else await new Promise<void>((start) => this.waiting.push(start));
      try {
        // One turn of the event loop first, so that requests already received on other sockets
        // join the queue before this task's CPU-bound search runs (a resident search never waits
        // on I/O): without it, under load some connections' first requests waited seconds.
        await new Promise<void>((turn) => setImmediate(turn));
        return await task();
      } finally {
        // The slot passes straight to the longest waiter.
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
    } finally {
      Atomics.sub(this.inFlight, 0, 1);
    }
  }

  /** Resolves once no foreground task is in flight, or after `maxMs`. */
  async yield(maxMs = MAX_YIELD_MS): Promise<void> {
    const until = Date.now() + maxMs;
    while (Atomics.load(this.inFlight, 0) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
