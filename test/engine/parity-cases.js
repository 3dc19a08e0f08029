// The parity test body shared by the per-architecture test files.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { compare, engineRun, oracleRun, prompts, synth, tempDir } from './parity-support.js';

export const TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'];
const GREEDY_TOKENS = 32;

// How close is close enough. For the float types and for Q4_0, Q4_K and Q6_K our sums follow
// llama.cpp's CPU backend (its x86 AVX2/AVX-512 kernels, including the repacked Q4_0/Q4_K
// ones) operation for operation, and the logits come out bit-identical (measured: max |diff| 0
// for every architecture); the bounds are the issue's, with room for a libm or CPU that rounds
// differently. Q8_0 still sums in another order somewhere: an activation now and then lands on
// the other side of a Q8 rounding boundary and that position's logits move by a rounding step
// (up to ~1e-2 relative). The quantized types are held to the argmax and KL bounds.
const MAX_REL_DIFF = { f32: 1e-4, f16: 1e-4, bf16: 1e-3 };
const MAX_MEAN_KL = { f32: 1e-9, f16: 1e-5, bf16: 1e-4, quantized: 1e-3 };
// Argmax agreement for quantized types over all positions, and over the positions where
// llama.cpp's top two logits are at least DECISIVE_MARGIN apart (there a rounding step must
// never change the winner). The overall bound is the issue's.
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
        const greedy = type in MAX_REL_DIFF ? GREEDY_TOKENS : 0; // the float types also decode alike
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
