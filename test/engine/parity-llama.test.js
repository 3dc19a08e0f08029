// Logits parity with llama.cpp (node-llama-cpp) for the llama architecture in every weight type.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parityTests } from './parity-cases.js';
import { compare, engineRun, oracleRun, prompts, rewriteGguf, synth, tempDir } from './parity-support.js';

parityTests('llama');

// LongRoPE with separate factor sets: llama.cpp loads rope_factors_long/short for a llama file
// whose rope.scaling.type is "longrope" and uses the long set only when the context exceeds
// the original training context. Both engines run with a 256-token context here, below the
// file's original context (4096): the short factors apply.
test('llama f32 with rope_factors_long/short: logits match llama.cpp', async (t) => {
  const tmp = tempDir();
  try {
    const base = synth(tmp.dir, 'llama', 'f32', { ropeFactors: true });
    const path = rewriteGguf(base.path, `${tmp.dir}/llama-longrope.gguf`, (metadata, tensors) => {
      metadata.set('llama.rope.scaling.type', { type: 'string', value: 'longrope' });
      const freqs = tensors.find((x) => x.name === 'rope_freqs.weight');
      const short = { ...freqs, name: 'rope_factors_short.weight' };
      // Long factors: all 1, so choosing the wrong set changes every rotated position.
      const ones = new Float32Array(freqs.dims[0]).fill(1);
      const long = { ...freqs, name: 'rope_factors_long.weight', chunks: () => [new Uint8Array(ones.buffer)] };
      return [...tensors.filter((x) => x !== freqs), short, long];
    });
    const tokens = prompts(base.shape.vocab);
    const ref = await oracleRun(path, tokens);
    const ours = await engineRun(path, tokens);
    const r = compare(ref.logits, ours.logits);
    t.diagnostic(`llama longrope: rel max diff ${r.relMaxDiff.toExponential(2)}`);
    assert.ok(r.relMaxDiff <= 1e-4, `max |diff| / max |logit| = ${r.relMaxDiff}`);
    // The file with the factors as rope_freqs gives the same logits: the short set was used.
    const viaFreqs = await engineRun(base.path, tokens);
    assert.ok(compare(viaFreqs.logits, ours.logits).relMaxDiff <= 1e-6);
  } finally {
    tmp.cleanup();
  }
});
