// Helpers shared by the benchmark scripts: percentiles, tables, the shared data paths.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
export { table } from '../cli/table.js';
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


/** A command-line option that must be a positive integer. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/** Deterministic ordinary token ids (past the first few, which are control tokens). */
export function randomTokens(count: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(3 + Math.floor((s / 4294967296) * (vocab - 3)));
  }
  return out;
}
