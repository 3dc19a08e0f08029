// Shared by the parity tests: write a synthetic model, evaluate the same token sequences with
// node-llama-cpp (the llama.cpp oracle) and with our engine, and compare the logits.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { getLlama } from 'node-llama-cpp';

import { NativeEngine } from '../../dist/engine/engine.js';
import { readGguf, readTensorBytes } from '../../dist/engine/modelfile/gguf-reader.js';
import { writeGguf } from '../../dist/engine/modelfile/gguf-writer.js';
import { DEFAULT_VOCABS, synthModel } from '../../dist/engine/modelfile/synth.js';
import { vocabFromGguf } from '../../dist/engine/modelfile/vocab.js';

export const PROMPTS = 4;
export const PROMPT_TOKENS = 64;

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'litsurvey-parity-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// The first SMALL_VOCAB tokens of the architecture's usual vocabulary: the forward pass does
// not care about the vocabulary's size, and the oracle's per-position logits (a Map per
// position in node-llama-cpp) cost time in proportion to it.
const SMALL_VOCAB = 4096;

function smallVocab(dir, arch) {
  const path = join(dir, `vocab-${arch}.gguf`);
  const { metadata } = vocabFromGguf(DEFAULT_VOCABS[arch]);
  const kept = new Map();
  for (const [key, value] of metadata) {
    if (value.type === 'array' && key !== 'tokenizer.ggml.merges') {
      kept.set(key, { ...value, values: Array.from(value.values).slice(0, SMALL_VOCAB) });
    } else {
      kept.set(key, value);
    }
  }
  const tokens = kept.get('tokenizer.ggml.tokens').values;
  const merges = metadata.get('tokenizer.ggml.merges');
  if (merges) {
    // BPE: keep the merges whose parts and result are kept tokens; the end-of-text token
    // (past the cut) takes the last kept id.
    const known = new Set(tokens);
    kept.set('tokenizer.ggml.merges', {
      ...merges,
      values: merges.values.filter((m) => {
        const [a, b] = m.split(' ');
        return known.has(a) && known.has(b) && known.has(a + b);
      }),
    });
    const last = SMALL_VOCAB - 1;
    tokens[last] = '<|endoftext|>';
    kept.get('tokenizer.ggml.token_type').values[last] = 3;
    for (const key of ['tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id']) {
      if (kept.has(key)) kept.set(key, { type: 'u32', value: last });
    }
  }
  writeGguf(path, kept, []);
  return path;
}

export function synth(dir, arch, type, extra = {}) {
  const name = `${arch}-${type}${Object.entries(extra).map(([k, v]) => `-${k}${v}`).join('')}.gguf`;
  const vocab = join(dir, `vocab-${arch}.gguf`);
  return synthModel({ out: join(dir, name), arch, type, seed: 7, vocab: existsSync(vocab) ? vocab : smallVocab(dir, arch), ...extra });
}

/** Copies a GGUF file to `out` after `edit(metadata, tensors)` changed the metadata Map and/or
 * returned a new tensor list (entries: { name, dims, type, chunks }). */
export function rewriteGguf(path, out, edit) {
  const source = readGguf(path);
  const metadata = new Map(source.metadata);
  const tensors = source.tensors.map((t) => ({
    name: t.name, dims: t.dims, type: t.type, chunks: () => [readTensorBytes(source, t.name)],
  }));
  writeGguf(out, metadata, edit(metadata, tensors) ?? tensors);
  return out;
}

/** Deterministic prompts of ordinary (non-control) token ids. */
export function prompts(vocabSize, count = PROMPTS, length = PROMPT_TOKENS) {
  let s = 0x2545f491;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const firstOrdinary = 3; // ids 0..2 are unk/bos/eos in the SentencePiece vocab
  return Array.from({ length: count }, () =>
    Array.from({ length }, () => firstOrdinary + Math.floor(next() * (vocabSize - firstOrdinary))));
}

let llamaPromise;
export function oracle() {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  return llamaPromise;
}

function mapToArray(map) {
  const a = new Float32Array(map.size);
  map.forEach((v, k) => {
    a[k] = v;
  });
  return a;
}

/** llama.cpp's logits at every position of each prompt, plus its greedy continuation of the first. */
export async function oracleRun(path, tokenLists, greedyTokens = 0) {
  const llama = await oracle();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({
    contextSize: 256, batchSize: 256, threads: 2, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  try {
    const sequence = context.getSequence();
    const logits = [];
    for (const tokens of tokenLists) {
      await sequence.clearHistory();
      const res = await sequence.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
      logits.push(res.map((r) => mapToArray(r.next.logits)));
    }
    const greedy = [];
    if (greedyTokens > 0) {
      await sequence.clearHistory();
      const prompt = tokenLists[0];
      const res = await sequence.controlledEvaluate(
        prompt.map((t, i) => (i === prompt.length - 1 ? [t, { generateNext: { logits: true } }] : t)));
      let last = mapToArray(res.at(-1).next.logits);
      for (let i = 0; i < greedyTokens; i++) {
        greedy.push(argmax(last));
        if (i + 1 === greedyTokens) break;
        const [r] = await sequence.controlledEvaluate([[greedy.at(-1), { generateNext: { logits: true } }]]);
        last = mapToArray(r.next.logits);
      }
    }
    return { logits, greedy };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** Our engine's logits for the same prompts (F32 KV cache), and its greedy continuation. */
export async function engineRun(path, tokenLists, greedyTokens = 0) {
  const engine = await NativeEngine.load(path, { kvCacheType: 'f32', contextSize: 256 });
  try {
    const vocab = engine.info().vocabSize;
    const session = engine.session();
    const logits = [];
    for (const tokens of tokenLists) {
      await session.reset();
      const all = await session.eval(tokens, 'all');
      logits.push(tokens.map((_, i) => all.subarray(i * vocab, (i + 1) * vocab)));
    }
    const greedy = [];
    if (greedyTokens > 0) {
      await session.reset();
      let last = await session.eval(tokenLists[0], 'last');
      for (let i = 0; i < greedyTokens; i++) {
        greedy.push(argmax(last));
        if (i + 1 === greedyTokens) break;
        last = await session.eval([greedy.at(-1)], 'last');
      }
    }
    await session.close();
    return { logits, greedy };
  } finally {
    await engine.close();
  }
}

export function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function logSumExp(a) {
  let max = -Infinity;
  for (const v of a) max = Math.max(max, v);
  let sum = 0;
  for (const v of a) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

function topTwo(a) {
  let first = 0, second = -1;
  for (let i = 1; i < a.length; i++) {
    if (a[i] > a[first]) {
      second = first;
      first = i;
    } else if (second < 0 || a[i] > a[second]) {
      second = i;
    }
  }
  return { first, margin: a[first] - a[second] };
}

/** Max |diff| relative to max |logit|, argmax agreement (overall, and where the oracle's top two
 * logits are at least `decisiveMargin` apart) and mean KL(oracle || ours) over all positions. */
export function compare(ref, ours, decisiveMargin = 0) {
  let maxAbs = 0, maxDiff = 0, agree = 0, klSum = 0, positions = 0, decisive = 0, decisiveAgree = 0;
  for (let p = 0; p < ref.length; p++) {
    for (let i = 0; i < ref[p].length; i++) {
      const r = ref[p][i], o = ours[p][i];
      for (let v = 0; v < r.length; v++) {
        maxAbs = Math.max(maxAbs, Math.abs(r[v]));
        maxDiff = Math.max(maxDiff, Math.abs(r[v] - o[v]));
      }
      const top = topTwo(r);
      const same = top.first === argmax(o);
      if (same) agree++;
      if (top.margin >= decisiveMargin) {
        decisive++;
        if (same) decisiveAgree++;
      }
      const lr = logSumExp(r), lo = logSumExp(o);
      let kl = 0;
      for (let v = 0; v < r.length; v++) {
        const lp = r[v] - lr;
        kl += Math.exp(lp) * (lp - (o[v] - lo));
      }
      klSum += kl;
      positions++;
    }
  }
  return {
    relMaxDiff: maxDiff / maxAbs, maxDiff, maxAbs, positions, meanKl: klSum / positions,
    argmaxAgreement: agree / positions,
    decisivePositions: decisive,
    decisiveArgmaxAgreement: decisive ? decisiveAgree / decisive : 1,
  };
}

/** Logits of the last token after evaluating `seqTokens` in a new session of `engine`, fed in
 * `chunks` (token counts) so tests can vary how a prompt is split into evals. */
export async function lastLogits(engine, seqTokens, chunks = [seqTokens.length]) {
  const session = engine.session();
  let logits;
  let at = 0;
  for (const n of chunks) {
    logits = await session.eval(seqTokens.slice(at, at + n), 'last');
    at += n;
  }
  await session.close();
  return logits;
}
