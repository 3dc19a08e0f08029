// Background searches (survey threads) give way to foreground ones (HTTP requests): a counter of
// foreground searches in flight, in shared memory, that background searches wait on before they
// start. LanceDB runs every query of the process on one thread pool at normal priority, so a
// survey thread's nice value alone does not keep its searches from queueing ahead of requests.
const POLL_MS = 5;
/** Longest a background search waits, so surveys still progress under unbroken request load. */
export const MAX_YIELD_MS = 250;

export class ForegroundGate {
  constructor(readonly inFlight: Int32Array = new Int32Array(new SharedArrayBuffer(4))) {}

  /** Runs a foreground task, counted as in flight while it runs. */
  async foreground<T>(task: () => Promise<T>): Promise<T> {
    Atomics.add(this.inFlight, 0, 1);
    try {
      return await task();
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
