// Progress bars on stderr: redrawn in place on a terminal, a line every few seconds otherwise (logs, CI).
const isTty = Boolean(process.stderr.isTTY);

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly quiet = false,
  ) {}

  /** done/total drive the bar and ETA; `rate` is shown as given (e.g. "2,345 papers/s"). */
  update(done: number, detail = '', force = false): void {
    if (this.quiet) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < (isTty ? 100 : 0)) return;
    if (!isTty && !force && now - this.lastLine < 5000) return;
    this.lastDraw = now;
    this.lastLine = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const elapsed = (now - this.started) / 1000;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : Infinity;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const line = `${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${detail} ${formatDuration(elapsed)} elapsed${frac < 1 ? `, ETA ${formatDuration(eta)}` : ''}`;
    if (isTty) process.stderr.write(`\r\x1b[2K${line}`);
    else process.stderr.write(`${line}\n`);
    this.drawn = true;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  /** Leaves the bar's last state on its own line. */
  finish(done: number, detail = ''): void {
    this.update(done, detail, true);
    if (isTty && this.drawn) process.stderr.write('\n');
  }

  /** Prints a message above the bar without garbling it. */
  log(message: string): void {
    if (isTty && this.drawn) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${message}\n`);
  }
}

/** Callbacks that show a (first-time) index build as a progress bar with papers/s. */
export function indexBuildProgress(indexUri: string, quiet = false): {
  onBuildStart: (corpus: string[]) => void;
  onProgress: (p: { bytesDone: number; bytesTotal: number; records: number }) => void;
  onStep: (step: string) => void;
} {
  const bar = new ProgressBar('building the index', 1, quiet);
  const started = Date.now();
  return {
    onBuildStart: (corpus) => bar.log(`No index yet at ${indexUri}; building it from ${corpus.join(', ')} (once).`),
    onProgress: (p) => {
      bar.setTotal(p.bytesTotal);
      bar.update(p.bytesDone, `${p.records.toLocaleString('en-US')} records, ${Math.round(p.records / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en-US')} papers/s`);
    },
    onStep: (s) => bar.log(`building ${s}…`),
  };
}
