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

test('foreground tasks beyond the limit wait and start in arrival order', async () => {
  const gate = new ForegroundGate(undefined, 2);
  const started = [];
  const releases = [];
  const tasks = [0, 1, 2, 3, 4].map((i) =>
    gate.foreground(() => {
      started.push(i);
      return new Promise((r) => releases.push(() => r(i)));
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1], 'two run, three wait');
  assert.equal(Atomics.load(gate.inFlight, 0), 5, 'waiting tasks count as in flight');
  releases[1]();
  await tasks[1];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2], 'the longest waiter takes the freed slot');
  releases[0]();
  releases[2]();
  await Promise.all([tasks[0], tasks[2]]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  releases[3]();
  releases[4]();
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
  assert.equal(Atomics.load(gate.inFlight, 0), 0);
  // A failing task frees its slot too.
  await assert.rejects(gate.foreground(() => Promise.reject(new Error('boom'))), /boom/);
  await assert.rejects(gate.foreground(() => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await gate.foreground(async () => 'ran'), 'ran');
});
