// `npm run bench:kernels [-- --rounds 5] [--threads 2] [--mib 256]`: single kernels apart from the
// engine (kernels/kernel_bench.h). 1. The decode matmul (one token) over --mib MiB of packed Q8_0 or
// Q4_0 weights, 1024 and 4096 columns wide (MiniCPM4-0.5B's widths), against a read-bandwidth
// sweep just before it: how close a decode step's weight stream comes to the machine's bandwidth.
// 2. One 64-key attention run of a decode tile (8 query rows, head dim 64, F16 keys and values),
// hot (8 blocks, in cache) and cold (4096 blocks, from memory). Medians over the rounds.
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadNative } from '../engine/native.js';
import { median, positiveInt, table } from './common.js';

interface Bindings {
  kernelInfo(): { cpu: string; active: string };
  memoryReadBandwidth(bytes: number, threads: number, sweeps?: number): number;
  benchDecodeMatmul(type: 'Q8_0' | 'Q4_0', cols: number, bytes: number, threads: number, reps: number): { seconds: number; bytes: number };
  benchFlashRun(blocks: number, reps: number): number;
}

const RUN_FLOPS = 2 * 2 * 64 * 8 * 64; // q·k and p·v for 64 keys, 8 rows, 64 dims

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      threads: { type: 'string', default: '2' },
      mib: { type: 'string', default: '256' },
    },
  });
  const rounds = positiveInt('rounds', values.rounds);
  const threads = positiveInt('threads', values.threads);
  const bytes = positiveInt('mib', values.mib) * 2 ** 20;
  const native = loadNative() as unknown as Bindings;
  const loadStart = loadavg()[0]!;
  const shapes = [
    ['Q8_0', 1024],
    ['Q8_0', 4096],
    ['Q4_0', 1024],
    ['Q4_0', 4096],
  ] as const;
  const stream = shapes.map(() => ({ gbs: [] as number[], sweep: [] as number[], share: [] as number[] }));
  const flash = { hot: [] as number[], cold: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    for (const [i, [type, cols]] of shapes.entries()) {
      const sweep = native.memoryReadBandwidth(2 ** 30, threads, 5);
      const t = native.benchDecodeMatmul(type, cols, bytes, threads, 5);
      const m = stream[i]!;
      m.gbs.push(t.bytes / t.seconds);
      m.sweep.push(sweep);
      m.share.push(t.bytes / t.seconds / sweep);
    }
    flash.hot.push(native.benchFlashRun(8, 200));
    flash.cold.push(native.benchFlashRun(4096, 5));
    console.error(`round ${round + 1}/${rounds} done (load ${loadavg()[0]!.toFixed(1)})`);
  }
  const gbs = (v: number) => (v / 1e9).toFixed(1);
  const k = native.kernelInfo();
  console.log(`\n## Kernels: ${threads} threads, medians of ${rounds} rounds\n`);
  console.log(`Kernels ${k.active} (CPU supports ${k.cpu}). 1-minute load average ${loadStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end on ${availableParallelism()} CPUs.\n`);
  console.log(`Decode matmul (one token) over ${bytes / 2 ** 20} MiB of packed weights; sweep = best of 5 read-only sweeps over 1 GiB just before it; share = the median of each round's matmul ÷ its sweep:\n`);
  console.log(table(['type', 'columns', 'matmul GB/s', 'sweep GB/s', 'share of the sweep'], shapes.map(([type, cols], i) => {
    const m = stream[i]!;
    return [type, cols, gbs(median(m.gbs)), gbs(median(m.sweep)), `${(100 * median(m.share)).toFixed(0)}%`];
  })));
  console.log(`\nOne 64-key attention run of a decode tile (8 query rows, head dim 64, F16 K/V; ${RUN_FLOPS} flops), one thread:\n`);
  const us = (v: number) => v.toFixed(2);
  console.log(table(['keys and values', 'µs per run', 'GFLOP/s'], [
    ['hot (8 blocks, in cache)', us(median(flash.hot)), (RUN_FLOPS / median(flash.hot) / 1e3).toFixed(0)],
    ['cold (4096 blocks, from memory; the next run prefetched)', us(median(flash.cold)), (RUN_FLOPS / median(flash.cold) / 1e3).toFixed(0)],
  ]));
}

main().catch((e: Error) => {
  console.error(`bench:kernels: ${e.message}`);
  process.exitCode = 1;
});
