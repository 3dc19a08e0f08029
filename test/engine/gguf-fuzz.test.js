// Mutated GGUF files against the normal (non-sanitizer) addon build, in a child process so
// that a crash fails this test instead of killing the runner. The ASan/UBSan fuzzer with
// many more cases is `npm run fuzz:gguf`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const vocabDir = join(here, '..', '..', '..', 'shared', 'vocab');
const vocabSeeds = ['ggml-vocab-llama-spm.gguf', 'ggml-vocab-gpt-2.gguf']
  .map((f) => join(vocabDir, f))
  .filter((f) => existsSync(f));

test('400 mutated GGUF files: each parses or is rejected with an Error, none crashes', () => {
  const cases = 400;
  const run = spawnSync(process.execPath, [join(here, 'gguf-fuzz-worker.js'), String(cases), '20261122', ...vocabSeeds], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.signal, null, `worker killed by ${run.signal}: ${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  assert.equal(result.cases, cases);
  assert.equal(result.parsed + result.rejected, cases);
  assert.ok(result.rejected > 0, 'the mutations break some files');
  assert.ok(result.parsed > 0, 'some mutations leave a valid file');
});
