// Run by kernels-scalar.test.js in a child process with LITSURVEY_KERNELS set: the parity
// check against llama.cpp for each architecture at F32, Q8_0, Q4_0 and Q4_K, under whatever
// kernel level the environment forces. Prints one JSON line per case; exits 1 on a failure.
import { native } from '../../dist/engine/native.js';
import { compare, engineRun, oracleRun, prompts, synth, tempDir } from './parity-support.js';

// The bounds of parity-cases.js for these types.
const F32_MAX_REL_DIFF = 1e-4;
const MAX_MEAN_KL = { f32: 1e-9, quantized: 1e-3 };
const QUANT_MIN_ARGMAX = 0.99;
const QUANT_MIN_DECISIVE_ARGMAX = 0.995;
const DECISIVE_MARGIN = 0.05;

const tmp = tempDir();
let failed = false;
try {
  console.log(JSON.stringify({ kernels: native.kernelInfo() }));
  for (const arch of ['llama', 'minicpm', 'qwen2', 'qwen3']) {
    for (const type of ['f32', 'q8_0', 'q4_0', 'q4_k']) {
      const model = synth(tmp.dir, arch, type);
      const tokens = prompts(model.shape.vocab, 2);
      const r = compare((await oracleRun(model.path, tokens)).logits, (await engineRun(model.path, tokens)).logits, DECISIVE_MARGIN);
      const ok = type === 'f32'
        ? r.relMaxDiff <= F32_MAX_REL_DIFF && r.meanKl <= MAX_MEAN_KL.f32
        : r.argmaxAgreement >= QUANT_MIN_ARGMAX && r.decisiveArgmaxAgreement >= QUANT_MIN_DECISIVE_ARGMAX && r.meanKl <= MAX_MEAN_KL.quantized;
      if (!ok) failed = true;
      console.log(JSON.stringify({ arch, type, ok, relMaxDiff: r.relMaxDiff, argmax: r.argmaxAgreement, meanKl: r.meanKl }));
    }
  }
} finally {
  tmp.cleanup();
}
process.exit(failed ? 1 : 0);
