// `npm run bench:prefix [-- --model FILE] [--prefix 4096] [--suffix 256] [--prompts 8] [--threads 2]`:
// time to first token of prompts that share a long prefix (the writer's library), served
// from the KV prefix cache, against a cold run of the same prompt. Without --model it
// synthesises the MiniCPM4-0.5B shape in Q8_0 (random weights) into the cache directory.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { EngineLoadOptions, NativeEngineHandle } from '../engine/engine.js';
import { loadNative } from '../engine/native.js';
import { synthModel } from '../engine/modelfile/synth.js';
import { median, positiveInt, randomTokens, table } from './common.js';

interface Addon {
  loadEngine(path: string, options: EngineLoadOptions): Promise<NativeEngineHandle>;
}

/** Milliseconds from the call to the first generated token (greedy, one token). */
async function timeToFirstToken(engine: NativeEngineHandle, prompt: number[]): Promise<number> {
  const start = performance.now();
  let first = NaN;
  const run = engine.generate(prompt, { maxTokens: 1, temperature: 0 }, () => {
    first = performance.now() - start;
    return false;
  });
  await run.done;
  if (Number.isNaN(first)) throw new Error('the model ended generation before its first token');
  return first;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      prefix: { type: 'string', default: '4096' },
      suffix: { type: 'string', default: '256' },
      prompts: { type: 'string', default: '8' },
      threads: { type: 'string', default: '2' },
    },
  });
  const prefixLength = positiveInt('prefix', values.prefix);
  const suffixLength = positiveInt('suffix', values.suffix);
  const promptCount = positiveInt('prompts', values.prompts);
  const threads = positiveInt('threads', values.threads);

  let modelPath = values.model;
  if (!modelPath) {
    const dir = join(loadConfig().cacheDir, 'bench');
    mkdirSync(dir, { recursive: true });
    modelPath = join(dir, 'minicpm4-0.5b-q8_0.gguf');
    if (!existsSync(modelPath)) {
      console.error(`synthesising the MiniCPM4-0.5B shape in Q8_0 (random weights) into ${modelPath}…`);
      const tmpPath = `${modelPath}.partial`;
      synthModel({ out: tmpPath, arch: 'minicpm', shape: 'minicpm4-0.5b', type: 'q8_0', seed: 1, log: (l) => console.error(l) });
      renameSync(tmpPath, modelPath);
    }
  }

  const addon = loadNative() as unknown as Addon;
  const options: EngineLoadOptions = { threads, contextSize: prefixLength + suffixLength + 64 };
  // One engine keeps its cache (warm); the other clears it before every prompt (cold).
  const warm = await addon.loadEngine(modelPath, options);
  const cold = await addon.loadEngine(modelPath, options);
  try {
    const vocab = Number(warm.info().vocabSize);
    const prefix = randomTokens(prefixLength, vocab, 1);
    console.error(`priming the warm engine with the ${prefixLength}-token prefix…`);
    const primeMs = await timeToFirstToken(warm, prefix);
    const rows: (string | number)[][] = [];
    const ratios: number[] = [];
    let warmTotal = 0;
    let coldTotal = 0;
    for (let i = 0; i < promptCount; i++) {
      const prompt = [...prefix, ...randomTokens(suffixLength, vocab, 1000 + i)];
      // Alternating warm and cold keeps both under the same machine load.
      const warmMs = await timeToFirstToken(warm, prompt);
      const hit = warm.stats().lastPrompt;
      await cold.clearPrefixCache();
      const coldMs = await timeToFirstToken(cold, prompt);
      if (cold.stats().lastPrompt.hitTokens !== 0) throw new Error('the cold run hit the cache');
      ratios.push(warmMs / coldMs);
      warmTotal += warmMs;
      coldTotal += coldMs;
      rows.push([i + 1, prompt.length, warmMs.toFixed(0), coldMs.toFixed(0), `${((100 * warmMs) / coldMs).toFixed(1)}%`, hit.hitTokens, hit.computedTokens]);
      console.error(`prompt ${i + 1}/${promptCount}: warm ${warmMs.toFixed(0)} ms, cold ${coldMs.toFixed(0)} ms`);
    }
    const s = warm.stats();
    console.log(`\n## Prefix cache: TTFT of ${promptCount} prompts sharing a ${prefixLength}-token prefix (+${suffixLength} tokens each)\n`);
    console.log(`Model ${modelPath} (${warm.info().architecture}), ${threads} threads, KV ${warm.info().kvCacheType}; priming the prefix took ${primeMs.toFixed(0)} ms.\n`);
    console.log(table(['prompt', 'tokens', 'TTFT warm (ms)', 'TTFT cold (ms)', 'warm / cold', 'hit tokens', 'computed tokens'], rows));
    console.log(`\nMedian warm/cold ${(100 * median(ratios)).toFixed(1)}%, total ${((100 * warmTotal) / coldTotal).toFixed(1)}% (target ≤ 10%). Warm engine: ${s.hitTokens} hit / ${s.computedTokens} computed tokens, ${s.blocksInUse} blocks in use, ${s.blocksCached} cached, ${s.evictions} evictions of ${s.blocksTotal} blocks.`);
  } finally {
    warm.close();
    cold.close();
  }
}

main().catch((e: Error) => {
  console.error(`bench:prefix: ${e.message}`);
  process.exitCode = 1;
});
