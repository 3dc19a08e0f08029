// `npm run bench:engine [-- --runs 5] [--threads 2] [--types q8_0,q4_0] [--long 4096] [--prompt 512]`:
// the native engine against llama.cpp (node-llama-cpp, flash attention on, F16 KV, same thread
// count) on the same file: the MiniCPM4-0.5B shape with random weights, synthesised once per
// type into os.tmpdir()/litsurvey-bench. Per type: prefill tok/s of a 512-token prompt, decode
// tok/s at context 512 and ~4096, medians of alternating runs, and decode as a share of its
// memory bound (weight + KV bytes read per token ÷ the read bandwidth, measured just before each run).
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadNative, type GgufInspection } from '../engine/native.js';
import { median, positiveInt, randomTokens, table } from './common.js';
import { BENCH_TYPES as TYPES, benchModelFile as modelFile, kvBytes, litsurveyRunner, llamaRunner, PHASE_COLUMNS, phaseCells, phasesFrom, weightBytesPerToken, type BenchType } from './runners.js';
import type { PhaseMs } from '../engine/engine.js';

interface KernelBindings {
  kernelInfo(): { cpu: string; active: string };
  memoryReadBandwidth(bytes: number, threads: number, sweeps?: number): number;
}

/** Bytes one decode step reads: the weights plus the F16 KV cache of `context` positions. */
function bytesPerToken(info: GgufInspection, context: number): { weights: number; kv: number } {
  return { weights: weightBytesPerToken(info), kv: kvBytes(info, context) };
}

interface Measured {
  prefill: number[];
  decodeShort: number[];
  decodeLong: number[];
  /** The read bandwidth measured just before each decode run (bytes/s). */
  bandwidthShort: number[];
  bandwidthLong: number[];
}

/** litsurvey's per-token phase times of each decode run. */
interface Phases {
  short: PhaseMs[];
  long: PhaseMs[];
}

async function benchType(type: BenchType, opts: { runs: number; threads: number; prompt: number; long: number; decodeSteps: number }, sweep: () => number) {
  const path = modelFile(type);
  const info = (loadNative() as unknown as { ggufInspect(p: string): GgufInspection }).ggufInspect(path);
  const vocab = info.tensors.find((t) => t.name === 'token_embd.weight')?.dims[1] ?? 0;
  if (vocab < 100) throw new Error(`${path} has no usable token_embd.weight`);
  const contextSize = opts.long + opts.runs * opts.decodeSteps + 64;
  const ours = await litsurveyRunner(path, { threads: opts.threads, contextSize });
  const runners = [ours, await llamaRunner(path, opts.threads, contextSize)];
  const phases: Phases = { short: [], long: [] };
  const results = new Map<string, Measured>(runners.map((r) => [r.name, { prefill: [], decodeShort: [], decodeLong: [], bandwidthShort: [], bandwidthLong: [] }]));
  try {
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which engine goes first so both see the same machine load on average.
      const order = run % 2 === 0 ? runners : [...runners].reverse();
      for (const r of order) {
        const m = results.get(r.name)!;
        const prompt = randomTokens(opts.prompt, vocab, 100 + run);
        const secs = await r.prefill(prompt);
        m.prefill.push(opts.prompt / secs);
        m.bandwidthShort.push(sweep());
        m.decodeShort.push(1 / (await r.decode(randomTokens(opts.decodeSteps, vocab, 200 + run))));
        if (r === ours) phases.short.push(ours.lastDecodePhases());
        console.error(`${type} run ${run + 1}/${opts.runs} ${r.name}: prefill ${(opts.prompt / secs).toFixed(1)} tok/s, decode@${opts.prompt} ${m.decodeShort.at(-1)!.toFixed(1)} tok/s`);
      }
    }
    // The long context is filled once per engine; each run then decodes a few more tokens at ~`long`.
    for (const r of runners) {
      console.error(`${type} ${r.name}: filling ${opts.long} positions…`);
      await r.prefill(randomTokens(opts.long, vocab, 7));
    }
    for (let run = 0; run < opts.runs; run++) {
      const order = run % 2 === 0 ? runners : [...runners].reverse();
      for (const r of order) {
        const m = results.get(r.name)!;
        m.bandwidthLong.push(sweep());
        m.decodeLong.push(1 / (await r.decode(randomTokens(opts.decodeSteps, vocab, 300 + run))));
        if (r === ours) phases.long.push(ours.lastDecodePhases());
        console.error(`${type} run ${run + 1}/${opts.runs} ${r.name}: decode@${opts.long} ${m.decodeLong.at(-1)!.toFixed(1)} tok/s`);
      }
    }
  } finally {
    for (const r of runners) await r.close();
  }
  return { path, info, results, phases };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      threads: { type: 'string', default: '2' },
      types: { type: 'string', default: TYPES.join(',') },
      prompt: { type: 'string', default: '512' },
      long: { type: 'string', default: '4096' },
      steps: { type: 'string', default: '16' },
    },
  });
  const types = values.types.split(',').map((t) => {
    if (!(TYPES as readonly string[]).includes(t)) throw new Error(`--types: ${t} is not one of ${TYPES.join(', ')}`);
    return t as BenchType;
  });
  const opts = {
    runs: positiveInt('runs', values.runs),
    threads: positiveInt('threads', values.threads),
    prompt: positiveInt('prompt', values.prompt),
    long: positiveInt('long', values.long),
    decodeSteps: positiveInt('steps', values.steps),
  };
  const kernels = loadNative() as unknown as KernelBindings;
  const loadBefore = loadavg()[0]!;
  // This VM's read bandwidth drifts by a quarter within minutes, so the bound of each decode run
  // comes from sweeps just before it, not from one measurement at the start.
  const sweeps: number[] = [];
  const sweep = () => {
    sweeps.push(kernels.memoryReadBandwidth(2 ** 30, opts.threads, 5));
    return sweeps.at(-1)!;
  };

  const rows: (string | number)[][] = [];
  const phaseRows: (string | number)[][] = [];
  const fmt = (v: number) => v.toFixed(1);
  for (const type of types) {
    const { info, results, phases } = await benchType(type, opts, sweep);
    const ours = results.get('litsurvey')!;
    phaseRows.push([type.toUpperCase(), opts.prompt, ...phaseCells(phasesFrom((k) => median(phases.short.map((p) => p[k]))), median(ours.decodeShort))]);
    phaseRows.push([type.toUpperCase(), opts.long, ...phaseCells(phasesFrom((k) => median(phases.long.map((p) => p[k]))), median(ours.decodeLong))]);
    const theirs = results.get('llama.cpp')!;
    const shortBytes = bytesPerToken(info, opts.prompt);
    const longBytes = bytesPerToken(info, opts.long);
    // A decode run's share of its bound: its tok/s ÷ (the bandwidth measured just before it ÷ bytes per token).
    const shares = (tokS: number[], bandwidths: number[], bytes: number) => tokS.map((t, i) => t / (bandwidths[i]! / bytes));
    const entries: [string, number[], number[], { weights: number; kv: number } | null, number[], number[]][] = [
      [`prefill ${opts.prompt}`, ours.prefill, theirs.prefill, null, [], []],
      [`decode @${opts.prompt}`, ours.decodeShort, theirs.decodeShort, shortBytes, ours.bandwidthShort, theirs.bandwidthShort],
      [`decode @${opts.long}`, ours.decodeLong, theirs.decodeLong, longBytes, ours.bandwidthLong, theirs.bandwidthLong],
    ];
    for (const [what, a, b, bytes, bwA, bwB] of entries) {
      const ma = median(a);
      const mb = median(b);
      const perToken = bytes ? bytes.weights + bytes.kv : NaN;
      rows.push([
        type.toUpperCase(),
        what,
        fmt(ma),
        fmt(mb),
        `${(ma / mb).toFixed(2)}×`,
        bytes ? `${(perToken / 2 ** 20).toFixed(0)} MiB` : '–',
        bytes ? fmt(median([...bwA, ...bwB]) / perToken) : '–',
        bytes ? `${(100 * median(shares(a, bwA, perToken))).toFixed(0)}%` : '–',
        bytes ? `${(100 * median(shares(b, bwB, perToken))).toFixed(0)}%` : '–',
      ]);
    }
  }
  const k = kernels.kernelInfo();
  console.log(`\n## Engine speed: MiniCPM4-0.5B shape (random weights), ${opts.threads} threads, medians of ${opts.runs} alternating runs\n`);
  const gbs = (v: number) => (v / 1e9).toFixed(1);
  console.log(`Kernels ${k.active} (CPU supports ${k.cpu}). Read bandwidth: best of 5 sweeps over 1 GiB just before each decode run, ${gbs(Math.min(...sweeps))}–${gbs(Math.max(...sweeps))} GB/s (median ${gbs(median(sweeps))}); bound tok/s = the median sweep ÷ read/token; % of bound = the median over runs of each run's tok/s ÷ its own bound. llama.cpp: node-llama-cpp, flash attention, F16 KV. 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end on ${availableParallelism()} CPUs: other processes share the machine, so absolute numbers are noisy (and engines that spin-wait suffer most); the ratios come from alternating runs.\n`);
  console.log(table(['type', 'measure', 'litsurvey tok/s', 'llama.cpp tok/s', 'ratio', 'read/token', 'bound tok/s', 'litsurvey % of bound', 'llama.cpp % of bound'], rows));
  console.log(`\nWhere a litsurvey decode token's time goes (the engine's own phase timers, \`stats().phaseMs\`, medians of the runs):\n`);
  console.log(table(['type', 'context', ...PHASE_COLUMNS], phaseRows));
}

main().catch((e: Error) => {
  console.error(`bench:engine: ${e.message}`);
  process.exitCode = 1;
});
