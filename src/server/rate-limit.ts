// Per-client token buckets: `rate` requests per second with bursts up to `burst`.
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  limited = 0;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly maxClients = 10_000,
  ) {}

  /** True when the request may proceed; otherwise the seconds until it may. */
  take(client: string, now = Date.now()): true | number {
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= this.maxClients) this.evict(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(client, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    this.limited++;
    return Math.ceil((1 - b.tokens) / this.rate);
  }

  /** Drops buckets that have refilled (they carry no state worth keeping). */
  private evict(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    if (this.buckets.size >= this.maxClients) this.buckets.clear();
  }
}
