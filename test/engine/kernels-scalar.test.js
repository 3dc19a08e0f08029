// The scalar fallback kernels (what a CPU without AVX2 runs) keep parity with llama.cpp:
// the parity subset runs in a child process with LITSURVEY_KERNELS=scalar.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const worker = fileURLToPath(new URL('./kernels-parity-worker.js', import.meta.url));

test('LITSURVEY_KERNELS=scalar: logits match llama.cpp for every architecture at F32, Q8_0, Q4_0, Q4_K', (t) => {
  const child = spawnSync(process.execPath, [worker], {
    env: { ...process.env, LITSURVEY_KERNELS: 'scalar' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  const lines = child.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const l of lines) t.diagnostic(JSON.stringify(l));
  assert.equal(child.status, 0, `worker failed (status ${child.status}, signal ${child.signal}): ${child.stderr.slice(-2000)}`);
  assert.equal(lines[0].kernels.active, 'scalar');
  const cases = lines.slice(1);
  assert.equal(cases.length, 16);
  assert.ok(cases.every((c) => c.ok));
});
