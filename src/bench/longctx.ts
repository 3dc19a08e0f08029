// `npm run bench:longctx [-- --threads 2] [--lengths 4096,8192,16384] [--long 32768,65536] [--steps 8] [--batch 1024]`:
// long-context speed of InfLLM v2 block-sparse attention on the MiniCPM4-0.5B shape in Q8_0
// (random weights, see runners.ts), one run each:
// 1. prefill and decode tok/s after prompts of --lengths tokens: litsurvey with sparse attention
//    (MiniCPM4 defaults), litsurvey dense, and llama.cpp (flash attention, F16 KV), with ratios;
// 2. decode tok/s at --long contexts, sparse against dense, with the KV cache filled by
//    Session.fillSynthetic (pseudo-random keys and values instead of a prefill that would take
//    hours): the bytes a decode step reads do not depend on the KV values. Each is also shown as
//    a share of its bandwidth bound: weights + the KV positions attention read (from the engine's
//    attendedKeys counter) + the compressed keys selection scored, ÷ the read bandwidth measured
//    just before that decode.
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadNative, type GgufInspection } from '../engine/native.js';
import { positiveInt, randomTokens, table } from './common.js';
import { attentionShape, benchModelFile, litsurveyRunner, llamaRunner, PHASE_COLUMNS, phaseCells, weightBytesPerToken, type Runner } from './runners.js';

interface Bindings {
  kernelInfo(): { cpu: string; active: string };
  memoryReadBandwidth(bytes: number, threads: number, sweeps?: number): number;
  ggufInspect(path: string): GgufInspection;
}

const SPARSE_DEFAULTS = { kernelSize: 32, kernelStride: 16 };

function positiveList(name: string, value: string): number[] {
  return value.split(',').map((v) => positiveInt(name, v));
}

/** F16 bytes of the compressed keys one decode step scores at `context` positions (the visible
 * fine and coarse keys of every layer and KV head). */
function compressedKeyBytes(info: GgufInspection, context: number): number {
  const s = attentionShape(info);
  const visible = (kernel: number, stride: number) => (context >= kernel ? Math.floor((context - kernel) / stride) + 1 : 0);
  const { kernelSize: k, kernelStride: st } = SPARSE_DEFAULTS;
  return (visible(k, st) + visible(4 * k, 4 * st)) * s.layers * s.kvHeads * s.headDim * 2;
}

interface PrefillDecode {
  prefill: number;
  decode: number;
}

async function measure(runner: Runner, length: number, vocab: number, steps: number): Promise<PrefillDecode> {
  const secs = await runner.prefill(randomTokens(length, vocab, length));
  const decode = 1 / (await runner.decode(randomTokens(steps, vocab, length + 1)));
  console.error(`${runner.name} @${length}: prefill ${(length / secs).toFixed(1)} tok/s, decode ${decode.toFixed(2)} tok/s (load ${loadavg()[0]!.toFixed(1)})`);
  return { prefill: length / secs, decode };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '2' },
      lengths: { type: 'string', default: '4096,8192,16384' },
      long: { type: 'string', default: '32768,65536' },
      steps: { type: 'string', default: '8' },
      batch: { type: 'string', default: '1024' },
    },
  });
  const threads = positiveInt('threads', values.threads);
  const lengths = positiveList('lengths', values.lengths);
  const longs = positiveList('long', values.long);
  const steps = positiveInt('steps', values.steps);
  const batchSize = positiveInt('batch', values.batch);
  const native = loadNative() as unknown as Bindings;
  const path = benchModelFile('q8_0');
  const info = native.ggufInspect(path);
  const vocab = info.tensors.find((t) => t.name === 'token_embd.weight')?.dims[1] ?? 0;
  if (vocab < 100) throw new Error(`${path} has no usable token_embd.weight`);
  const shape = attentionShape(info);
  const loadStart = loadavg()[0]!;
  // This VM's read bandwidth drifts by a quarter within minutes: each long decode's bound comes
  // from sweeps just before it.
  const sweeps: number[] = [];
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

  // 1. Prefill and decode after real prompts; one engine at a time keeps memory low.
  const contextSize = Math.max(...lengths) + steps + 64;
  const results = new Map<string, Map<number, PrefillDecode>>();
  const makers: [string, () => Promise<Runner>][] = [
    ['litsurvey-sparse', () => litsurveyRunner(path, { name: 'litsurvey-sparse', threads, contextSize, batchSize, sparse: true })],
    ['litsurvey-dense', () => litsurveyRunner(path, { name: 'litsurvey-dense', threads, contextSize, batchSize, sparse: false })],
    ['llama.cpp', () => llamaRunner(path, threads, contextSize, batchSize)],
  ];
  for (const [name, make] of makers) {
    const runner = await make();
    const byLength = new Map<number, PrefillDecode>();
    try {
      for (const length of lengths) byLength.set(length, await measure(runner, length, vocab, steps));
    } finally {
      await runner.close();
    }
    results.set(name, byLength);
  }
  const rows: (string | number)[][] = [];
  for (const length of lengths) {
    const [s, d, l] = ['litsurvey-sparse', 'litsurvey-dense', 'llama.cpp'].map((n) => results.get(n)!.get(length)!);
    for (const what of ['prefill', 'decode'] as const)
      rows.push([length, what, fmt(s![what]), fmt(d![what]), fmt(l![what]), ratio(s![what], l![what]), ratio(d![what], l![what]), ratio(s![what], d![what])]);
  }

  // 2. Decode at long contexts over a synthetic KV cache.
  const longRows: (string | number)[][] = [];
  const phaseRows: (string | number)[][] = [];
  const weights = weightBytesPerToken(info);
  const kvPerPosition = 2 * shape.layers * shape.kvHeads * shape.headDim * 2;
  for (const context of longs) {
    const measured: { name: string; tokS: number; bytes: number; fraction: number; bandwidth: number }[] = [];
    for (const sparse of [true, false]) {
      const name = sparse ? 'sparse' : 'dense';
      const runner = await litsurveyRunner(path, { name, threads, contextSize: context + steps + 64, batchSize, sparse });
      try {
        const session = await runner.freshSession();
        console.error(`${name}: filling ${context} positions with synthetic keys and values…`);
        await session.fillSynthetic(context, 1);
        sweeps.push(native.memoryReadBandwidth(2 ** 30, threads, 5));
        const before = runner.engine.stats();
        const secs = await runner.decode(randomTokens(steps, vocab, 9));
        const after = runner.engine.stats();
        // Per decode step: KV positions read summed over layers and KV heads (each K and V row once).
        const attended = (after.attendedKeys - before.attendedKeys) / steps;
        const causal = (after.causalKeys - before.causalKeys) / steps;
        const bytes = weights + (attended * kvPerPosition) / (shape.layers * shape.kvHeads) + (sparse ? compressedKeyBytes(info, context) : 0);
        measured.push({ name, tokS: 1 / secs, bytes, fraction: attended / causal, bandwidth: sweeps.at(-1)! });
        phaseRows.push([context, name, ...phaseCells(runner.lastDecodePhases(), 1 / secs)]);
        console.error(`${name} @${context}: decode ${(1 / secs).toFixed(2)} tok/s, attended ${((100 * attended) / causal).toFixed(1)}% (load ${loadavg()[0]!.toFixed(1)})`);
      } finally {
        await runner.close();
      }
    }
    const [s, d] = measured;
    for (const m of measured) {
      const bound = m.bandwidth / m.bytes;
      longRows.push([context, m.name, fmt(m.tokS), `${(100 * m.fraction).toFixed(1)}%`, `${(m.bytes / 2 ** 20).toFixed(0)} MiB`, fmt(bound), `${((100 * m.tokS) / bound).toFixed(0)}%`, m === s ? ratio(s!.tokS, d!.tokS) : '–', m === s ? ratio(d!.bytes, s!.bytes) : '–']);
    }
  }

  const k = native.kernelInfo();
  console.log(`\n## Long-context speed: MiniCPM4-0.5B shape in Q8_0 (random weights), ${threads} threads, one run\n`);
  const gbs = (v: number) => (v / 1e9).toFixed(1);
  console.log(`Kernels ${k.active} (CPU supports ${k.cpu}). Sparse: InfLLM v2 with MiniCPM4's defaults (top-k 64 blocks of 64 tokens, window 2048, dense below 8192 keys). llama.cpp: node-llama-cpp, flash attention, F16 KV. Prefill in batches of ${batchSize}; decode over ${steps} steps. 1-minute load average ${loadStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end on ${availableParallelism()} CPUs: other processes share the machine, so numbers are noisy.\n`);
  console.log(table(['context', 'measure', 'sparse tok/s', 'dense tok/s', 'llama.cpp tok/s', 'sparse / llama.cpp', 'dense / llama.cpp', 'sparse / dense'], rows));
  console.log(`\nDecode at long contexts with the KV cache filled synthetically (pseudo-random keys and values; decode cost does not depend on the KV values: attention reads the same number of positions, and sparse selection always picks top-k blocks). Read/token: weights + KV positions attended + compressed keys scored (sparse); bound = read bandwidth ÷ read/token, the bandwidth measured just before each decode (best of 5 sweeps over 1 GiB: ${sweeps.map(gbs).join(', ')} GB/s in the order of the rows).\n`);
  console.log(table(['context', 'attention', 'decode tok/s', 'attended', 'read/token', 'bound tok/s', '% of bound', 'sparse / dense', 'dense / sparse read'], longRows));
  console.log(`
The last column is the sparse / dense speed ratio two decodes running at their bounds would have: both read the weights, so it is the most sparse attention can gain here unless dense runs below its bound.`);
  console.log(`\nWhere a decode token's time goes at these contexts (the engine's own phase timers, \`stats().phaseMs\`; selection = compressed keys and choice of blocks):\n`);
  console.log(table(['context', 'attention', ...PHASE_COLUMNS], phaseRows));
}

main().catch((e: Error) => {
  console.error(`bench:longctx: ${e.message}`);
  process.exitCode = 1;
});
