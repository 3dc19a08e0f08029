// Helpers shared by the benchmark scripts: percentiles, tables, the shared data paths.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../config.js';

export const sharedDir = resolve(packageRoot, '..', 'shared');

export function requireShared(sub: string): string {
  const p = resolve(sharedDir, sub);
  if (!existsSync(p)) throw new Error(`benchmark data not found: ${p} (the benchmarks read ../shared beside the repo)`);
  return p;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** A Markdown table, so the output pastes straight into the README. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
