// Background searches wait for foreground ones (across threads, through shared memory), but never forever.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ForegroundGate } from '../../dist/index/foreground-gate.js';

test('a background wait lasts while a foreground task runs in another thread, and is capped', async () => {
  const gate = new ForegroundGate();
  let release;
  const running = gate.foreground(() => new Promise((r) => (release = r)));
  // The other thread sees the shared counter: it waits until the foreground task ends.
  const waiter = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.url).then(async ({ ForegroundGate }) => {
       parentPort.postMessage('waiting');
       const t0 = Date.now(); await new ForegroundGate(workerData.inFlight).yield(5000); parentPort.postMessage(Date.now() - t0);
     });`,
    { eval: true, workerData: { inFlight: gate.inFlight, url: new URL('../../dist/index/foreground-gate.js', import.meta.url).href } },
  );
  const next = () => new Promise((r) => waiter.once('message', r));
  // Release only once the worker waits: starting a worker can take longer than any fixed delay under load.
  assert.equal(await next(), 'waiting');
  const waited = next();
  await new Promise((r) => setTimeout(r, 150));
  release();
  await running;
  assert.ok((await waited) >= 100, 'waited for the foreground task');
  await waiter.terminate();
  assert.equal(Atomics.load(gate.inFlight, 0), 0);

  const stuck = gate.foreground(() => new Promise(() => {}));
  const t0 = Date.now();
  await gate.yield(60);
  assert.ok(Date.now() - t0 >= 55 && Date.now() - t0 < 1000, 'gives up after the cap');
  void stuck;
});
