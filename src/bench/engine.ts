// `npm run bench:engine [-- --runs 5] [--threads 2] [--types q8_0,q4_0] [--long 4096] [--prompt 512]`:
// the native engine against llama.cpp (node-llama-cpp, flash attention on, F16 KV, same thread
// count) on the same file: the MiniCPM4-0.5B shape with random weights, synthesised once per
// type into os.tmpdir()/litsurvey-bench. Per type: prefill tok/s of a 512-token prompt, decode
// tok/s at context 512 and ~4096, medians of alternating runs, and decode as a share of its
// memory bound (weight + KV bytes read per token ÷ the measured read bandwidth).
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { NativeEngine, type Session } from '../engine/engine.js';
import { loadNative, type GgufInspection } from '../engine/native.js';
import { synthModel } from '../engine/modelfile/synth.js';
import { median, positiveInt, randomTokens, table } from './common.js';

interface KernelBindings {
  kernelInfo(): { cpu: string; active: string };
  memoryReadBandwidth(bytes: number, threads: number, sweeps?: number): number;
}

const TYPES = ['q8_0', 'q4_0'] as const;
type BenchType = (typeof TYPES)[number];

function modelFile(type: BenchType): string {
  const dir = join(tmpdir(), 'litsurvey-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `minicpm4-0.5b-${type}.gguf`);
  if (!existsSync(path)) {
    console.error(`synthesising the MiniCPM4-0.5B shape in ${type} (random weights) into ${path}…`);
    const partial = `${path}.partial`;
    synthModel({ out: partial, arch: 'minicpm', shape: 'minicpm4-0.5b', type, seed: 1 });
    renameSync(partial, path);
  }
  return path;
}

function metaNumber(info: GgufInspection, key: string): number {
  const v = info.metadata[key];
  if (typeof v !== 'number') throw new Error(`${key} is missing from the model file`);
  return v;
}

/** Bytes one decode step reads: every weight matrix once (token_embd only when it doubles as
 * the output projection; otherwise only one row of it is gathered), plus the F16 KV cache. */
function bytesPerToken(info: GgufInspection, context: number): { weights: number; kv: number } {
  const tied = !info.tensors.some((t) => t.name === 'output.weight');
  const weights = info.tensors.filter((t) => tied || t.name !== 'token_embd.weight').reduce((s, t) => s + t.bytes, 0);
  const arch = String(info.metadata['general.architecture']);
  const layers = metaNumber(info, `${arch}.block_count`);
  const heads = metaNumber(info, `${arch}.attention.head_count`);
  const kvHeads = metaNumber(info, `${arch}.attention.head_count_kv`);
  const headDim = metaNumber(info, `${arch}.embedding_length`) / heads;
  return { weights, kv: 2 * layers * kvHeads * headDim * 2 * context };
}

/** One engine under test: a prefill of fresh tokens, and single-token decode steps. */
interface Runner {
  name: string;
  /** Evaluates `tokens` from position 0 of a fresh sequence; returns seconds. */
  prefill(tokens: number[]): Promise<number>;
  /** Continues the current sequence by tokens.length single-token steps (llama.cpp generates
   * greedily from tokens[0] instead); returns seconds per token. */
  decode(tokens: number[]): Promise<number>;
  close(): Promise<void>;
}

async function litsurveyRunner(path: string, threads: number, contextSize: number): Promise<Runner> {
  const engine = await NativeEngine.load(path, { threads, contextSize, batchSize: 512, maxSequences: 1, kvCacheType: 'f16' });
  let session: Session | null = null;
  return {
    name: 'litsurvey',
    async prefill(tokens) {
      await session?.close();
      await engine.clearPrefixCache();
      session = engine.session();
      const start = performance.now();
      await session.eval(tokens, 'last');
      return (performance.now() - start) / 1000;
    },
    async decode(tokens) {
      if (!session) throw new Error('decode before prefill');
      const start = performance.now();
      for (const t of tokens) await session.eval([t], 'last');
      return (performance.now() - start) / 1000 / tokens.length;
    },
    async close() {
      await session?.close();
      await engine.close();
    },
  };
}

async function llamaRunner(path: string, threads: number, contextSize: number): Promise<Runner> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({
    contextSize,
    batchSize: 512,
    flashAttention: true,
    threads: { ideal: threads, min: threads },
  });
  let sequence: LlamaContextSequence | null = null;
  const step = (t: number): ControlledEvaluateInputItem => [t as Token, { generateNext: { logits: true } }];
  return {
    name: 'llama.cpp',
    async prefill(tokens) {
      sequence?.dispose();
      sequence = context.getSequence();
      const start = performance.now();
      await sequence.controlledEvaluate([...tokens.slice(0, -1).map((t) => t as Token), step(tokens[tokens.length - 1]!)]);
      return (performance.now() - start) / 1000;
    },
    async decode(tokens) {
      if (!sequence) throw new Error('decode before prefill');
      // Greedy generation with llama.cpp's own sampler (logits stay native): one forward per token.
      const start = performance.now();
      let n = 0;
      for await (const _token of sequence.evaluate([tokens[0]! as Token], { temperature: 0 })) {
        if (++n >= tokens.length) break;
      }
      return (performance.now() - start) / 1000 / n;
    },
    async close() {
      sequence?.dispose();
      await context.dispose();
      await model.dispose();
    },
  };
}

interface Measured {
  prefill: number[];
  decodeShort: number[];
  decodeLong: number[];
}

async function benchType(type: BenchType, opts: { runs: number; threads: number; prompt: number; long: number; decodeSteps: number }) {
  const path = modelFile(type);
  const info = (loadNative() as unknown as { ggufInspect(p: string): GgufInspection }).ggufInspect(path);
  const vocab = info.tensors.find((t) => t.name === 'token_embd.weight')?.dims[1] ?? 0;
  if (vocab < 100) throw new Error(`${path} has no usable token_embd.weight`);
  const contextSize = opts.long + opts.runs * opts.decodeSteps + 64;
  const runners = [await litsurveyRunner(path, opts.threads, contextSize), await llamaRunner(path, opts.threads, contextSize)];
  const results = new Map<string, Measured>(runners.map((r) => [r.name, { prefill: [], decodeShort: [], decodeLong: [] }]));
  try {
    for (let run = 0; run < opts.runs; run++) {
      // Alternate which engine goes first so both see the same machine load on average.
      const order = run % 2 === 0 ? runners : [...runners].reverse();
      for (const r of order) {
        const m = results.get(r.name)!;
        const prompt = randomTokens(opts.prompt, vocab, 100 + run);
        const secs = await r.prefill(prompt);
        m.prefill.push(opts.prompt / secs);
        m.decodeShort.push(1 / (await r.decode(randomTokens(opts.decodeSteps, vocab, 200 + run))));
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
        m.decodeLong.push(1 / (await r.decode(randomTokens(opts.decodeSteps, vocab, 300 + run))));
        console.error(`${type} run ${run + 1}/${opts.runs} ${r.name}: decode@${opts.long} ${m.decodeLong.at(-1)!.toFixed(1)} tok/s`);
      }
    }
  } finally {
    for (const r of runners) await r.close();
  }
  return { path, info, results };
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
  console.error(`measuring read bandwidth (best of 5 sweeps over 1 GiB, ${opts.threads} threads)…`);
  const bandwidth = kernels.memoryReadBandwidth(2 ** 30, opts.threads, 5);

  const rows: (string | number)[][] = [];
  const fmt = (v: number) => v.toFixed(1);
  for (const type of types) {
    const { info, results } = await benchType(type, opts);
    const ours = results.get('litsurvey')!;
    const theirs = results.get('llama.cpp')!;
    const shortBytes = bytesPerToken(info, opts.prompt);
    const longBytes = bytesPerToken(info, opts.long);
    const entries: [string, number[], number[], { weights: number; kv: number } | null][] = [
      [`prefill ${opts.prompt}`, ours.prefill, theirs.prefill, null],
      [`decode @${opts.prompt}`, ours.decodeShort, theirs.decodeShort, shortBytes],
      [`decode @${opts.long}`, ours.decodeLong, theirs.decodeLong, longBytes],
    ];
    for (const [what, a, b, bytes] of entries) {
      const ma = median(a);
      const mb = median(b);
      const bound = bytes ? bandwidth / (bytes.weights + bytes.kv) : NaN;
      rows.push([
        type.toUpperCase(),
        what,
        fmt(ma),
        fmt(mb),
        `${(ma / mb).toFixed(2)}×`,
        bytes ? `${((bytes.weights + bytes.kv) / 2 ** 20).toFixed(0)} MiB` : '–',
        bytes ? fmt(bound) : '–',
        bytes ? `${((100 * ma) / bound).toFixed(0)}%` : '–',
        bytes ? `${((100 * mb) / bound).toFixed(0)}%` : '–',
      ]);
    }
  }
  const k = kernels.kernelInfo();
  console.log(`\n## Engine speed: MiniCPM4-0.5B shape (random weights), ${opts.threads} threads, medians of ${opts.runs} alternating runs\n`);
  console.log(`Kernels ${k.active} (CPU supports ${k.cpu}); read bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (best of 5 sweeps over 1 GiB). llama.cpp: node-llama-cpp, flash attention, F16 KV. 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end on ${availableParallelism()} CPUs: other processes share the machine, so absolute numbers are noisy (and engines that spin-wait suffer most); the ratios come from alternating runs.\n`);
  console.log(table(['type', 'measure', 'litsurvey tok/s', 'llama.cpp tok/s', 'ratio', 'read/token', 'bound tok/s', 'litsurvey % of bound', 'llama.cpp % of bound'], rows));
}

main().catch((e: Error) => {
  console.error(`bench:engine: ${e.message}`);
  process.exitCode = 1;
});
