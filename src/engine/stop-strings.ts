// Stop strings for streamed generation: text arrives in decoded pieces, and a stop string may
// straddle pieces, so the tail that could still become a stop string is held back until the
// next piece decides it.

export interface StopScan {
  /** Text that is safe to emit now (never part of a stop string). */
  text: string;
  /** A stop string was completed; `text` ends right before it and generation should end. */
  stopped: boolean;
  /** The stop string that was hit. */
  stop?: string;
}

export class StopStringMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private hit = false;

  constructor(stops: readonly string[]) {
    for (const s of stops) {
      if (typeof s !== 'string' || s.length === 0) throw new Error('stop strings must be non-empty strings');
    }
    this.stops = [...stops];
  }

  /** Feeds the next decoded piece. After a stop was reported, further pieces are an error. */
  push(piece: string): StopScan {
    if (this.hit) throw new Error('a stop string was already hit; generation should have ended');
    const buffer = this.held + piece;
    // The earliest stop wins: everything before it is output, nothing after it is.
    let at = -1;
    let stop: string | undefined;
    for (const s of this.stops) {
      const i = buffer.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        stop = s;
      }
    }
    if (stop !== undefined) {
      this.hit = true;
      this.held = '';
      return { text: buffer.slice(0, at), stopped: true, stop };
    }
    const keep = this.longestPartialSuffix(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** At the end of generation (EOS, token limit): the held-back text, which is then output. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private longestPartialSuffix(buffer: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buffer.length); k > best; k--) {
        if (buffer.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
