// The parity test body shared by the per-architecture test files.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { compare, engineRun, oracleRun, prompts, synth, tempDir } from './parity-support.js';

export const TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'];
const GREEDY_TOKENS = 32;

// How close is close enough. F32 must agree to float rounding (measured: ~5e-7 relative).
// For the other types llama.cpp rounds the activations before each matmul (to F16/BF16, or to
// 8-bit Q8_0/Q8_K blocks) and so do we, and most positions agree to ~1e-7; but float sums
// taken in a different order (SIMD lanes, tiling) now and then land an activation on the other
// side of a rounding boundary, and that position's logits then move by one rounding step's
// worth: up to ~5e-4 relative for F16, ~5e-3 for BF16, ~1.5e-2 for the 8-bit paths. The
// bounds below sit above those steps; matching them bit for bit would mean copying ggml's
// exact kernel summation orders.
const MAX_REL_DIFF = { f32: 1e-4, f16: 1e-3, bf16: 1e-2 };
const MAX_MEAN_KL = { f32: 1e-9, f16: 1e-5, bf16: 1e-4, quantized: 1e-3 };
// Argmax agreement for quantized types over all positions, and over the positions where
// llama.cpp's top two logits are at least DECISIVE_MARGIN apart (there a rounding step must
// never change the winner; near-ties may go either way).
const QUANT_MIN_DECISIVE_ARGMAX = 0.995;
const QUANT_MIN_ARGMAX = 0.99;
const DECISIVE_MARGIN = 0.05;

/** Tests for one architecture: every weight type for the plain model; the extra variants
 * (e.g. LongRoPE factors, tied embeddings) in F32 and one quantized type. */
export function parityTests(arch, variants = [{}]) {
  const tmp = tempDir();
  after(tmp.cleanup);
  for (const extra of variants) {
    const plain = Object.keys(extra).length === 0;
    for (const type of plain ? TYPES : ['f32', 'q8_0']) {
      const label = `${arch} ${type}${extra.tied ? ' tied' : ''}${extra.ropeFactors ? ' rope_freqs' : ''}`;
      test(`${label}: logits match llama.cpp at every position`, async (t) => {
        const model = synth(tmp.dir, arch, type, extra);
        const tokens = prompts(model.shape.vocab);
        const greedy = type === 'f32' ? GREEDY_TOKENS : 0;
        const ref = await oracleRun(model.path, tokens, greedy);
        const ours = await engineRun(model.path, tokens, greedy);
        const r = compare(ref.logits, ours.logits, DECISIVE_MARGIN);
        t.diagnostic(`${label}: rel max diff ${r.relMaxDiff.toExponential(2)}, argmax ${(r.argmaxAgreement * 100).toFixed(1)}% (decisive ${(r.decisiveArgmaxAgreement * 100).toFixed(1)}% of ${r.decisivePositions}), mean KL ${r.meanKl.toExponential(2)} over ${r.positions} positions`);
        assert.equal(r.positions, tokens.length * tokens[0].length);
        if (type in MAX_REL_DIFF) {
          assert.ok(r.relMaxDiff <= MAX_REL_DIFF[type], `max |diff| / max |logit| = ${r.relMaxDiff}`);
        } else {
          assert.ok(r.decisiveArgmaxAgreement >= QUANT_MIN_DECISIVE_ARGMAX, `decisive argmax agreement ${r.decisiveArgmaxAgreement}`);
          assert.ok(r.argmaxAgreement >= QUANT_MIN_ARGMAX, `argmax agreement ${r.argmaxAgreement}`);
        }
        assert.ok(r.meanKl <= (MAX_MEAN_KL[type] ?? MAX_MEAN_KL.quantized), `mean KL ${r.meanKl}`);
        if (greedy) assert.deepEqual(ours.greedy, ref.greedy);
      });
    }
  }
}
