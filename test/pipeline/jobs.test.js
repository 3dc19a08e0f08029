// Jobs: leases (claim, renew, expiry, takeover from a dead local process), step records, and crash
// recovery through the CLI — SIGKILL mid-job then --resume, and Ctrl-C (SIGINT) leaving a resumable job.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { JobStore, Lease } from '../../dist/pipeline/jobs.js';
import { openDb } from '../../dist/store/db.js';
import { cli, runCli, tempDir } from '../helpers.js';
import { firstUseOrder, parseSurvey, sampleHome } from './support.js';

function clockedStore(t) {
  const db = openDb(join(tempDir(t), 'jobs.sqlite'));
  t.after(() => db.close());
  let now = 1_000_000;
  const store = new JobStore(db, () => now);
  return { db, store, advance: (ms) => (now += ms) };
}

test('a live lease keeps other workers out; only an expired one lets them take over', (t) => {
  const { store, advance } = clockedStore(t);
  const id = store.create('topic', { request: { topic: 'topic' } });
  assert.equal(store.claim(id, 'a', 30_000), true);
  assert.equal(store.claim(id, 'b', 30_000), false, 'held by a');
  advance(20_000);
  assert.equal(store.renew(id, 'a', 30_000), true);
  advance(20_000);
  assert.equal(store.claim(id, 'b', 30_000), false, 'renewed lease still live');
  advance(10_001);
  assert.equal(store.claim(id, 'b', 30_000), true, 'expired lease');
  assert.equal(store.renew(id, 'a', 30_000), false, 'a lost it');
  assert.throws(() => store.finishStep(id, 'a', 'plan', {}), /lease was lost/);
  store.finishStep(id, 'b', 'plan', { x: 1 });
  assert.deepEqual(store.stepOutput(id, 'plan'), { x: 1 });
  store.release(id, 'b', 'done');
  assert.equal(store.claim(id, 'c'), false, 'a done job is not taken');
  assert.deepEqual(store.events(id).map((e) => e.type), ['created', 'claimed', 'claimed', 'step', 'done']);
});

test('a lease held by a process of this host that no longer exists is taken over at once', async (t) => {
  const { store } = clockedStore(t);
  const id = store.create('topic', {});
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = await new Promise((res) => child.on('exit', () => res(child.pid)));
  assert.equal(store.claim(id, `other-host:${deadPid}:x`, 30_000), true);
  assert.equal(store.claim(id, `${hostname()}:${process.pid}:y`, 30_000), false, 'a holder on another host: wait for expiry');
  store.db.prepare('UPDATE jobs SET lease_owner = ? WHERE id = ?').run(`${hostname()}:${deadPid}:x`, id);
  assert.equal(store.claim(id, `${hostname()}:${process.pid}:z`, 30_000), true, 'the local holder is dead');
  assert.equal(store.get(id).lease_owner, `${hostname()}:${process.pid}:z`);
});

test('the Lease renews on its timer and signals when the lease is lost', async (t) => {
  const { store, db } = clockedStore(t);
  const id = store.create('topic', {});
  assert.ok(store.claim(id, 'w', 1000));
  const lease = new Lease(store, id, 'w', 1000, 20);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(!lease.lost.aborted);
  db.prepare('UPDATE jobs SET lease_owner = ? WHERE id = ?').run('thief', id);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(lease.lost.aborted);
  assert.match(lease.lost.reason.message, /lease was lost/);
  lease.stop();
});

/** Spawns `litsurvey generate` and resolves once `ready(db)` holds (polling the job database). */
function spawnUntil(args, env, dbPath, ready) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
  const reached = new Promise((res, rej) => {
    const timer = setInterval(() => {
      try {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          if (ready(db)) {
            clearInterval(timer);
            res();
          }
        } finally {
          db.close();
        }
      } catch {
        /* the database does not exist yet */
      }
    }, 25);
    exited.then(() => {
      clearInterval(timer);
      rej(new Error(`the CLI exited before the awaited step:\n${stderr}`));
    });
  });
  return { child, exited, reached };
}

const stepsOf = (db) => Object.fromEntries(db.prepare('SELECT step, finished_at FROM job_steps').all().map((r) => [r.step, r.finished_at]));

test('a job killed with SIGKILL after its plan and first section resumes without redoing them', async (t) => {
  const { home, env } = await sampleHome(t, { LITSURVEY_STEP_DELAY_MS: '1500' });
  const dbPath = join(home, 'litsurvey.sqlite');
  const out = join(home, 'killed.md');
  const run = spawnUntil(['generate', 'large language models', '--sections', '4', '--out', out], env, dbPath, (db) => db.prepare("SELECT 1 FROM job_steps WHERE step = 'section:0'").get());
  await run.reached;
  run.child.kill('SIGKILL');
  assert.equal((await run.exited).signal, 'SIGKILL');

  const db = new Database(dbPath, { readonly: true });
  const job = db.prepare('SELECT id, state, lease_owner FROM jobs').get();
  const before = stepsOf(db);
  db.close();
  assert.equal(job.state, 'running', 'a killed worker cannot mark its job');
  assert.ok(job.lease_owner);
  assert.ok(before.plan && before.library && before['section:0']);
  assert.equal(before.assembly, undefined);

  const resumed = await runCli(['generate', '--resume', job.id.slice(0, 8)], { ...env, LITSURVEY_STEP_DELAY_MS: '' });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /plan +reused from the database/);
  const after = stepsOf(new Database(dbPath, { readonly: true }));
  for (const [step, at] of Object.entries(before)) assert.equal(after[step], at, `${step} was recomputed`);
  for (const step of ['section:1', 'section:2', 'section:3', 'frame', 'assembly']) assert.ok(after[step], step);
  const s = parseSurvey(readFileSync(out, 'utf8'));
  assert.equal(s.front.job, job.id);
  assert.equal(s.headings.filter((h) => h.level === 2).length, 4 + 4);
  assert.deepEqual(firstUseOrder(s.citations), s.references.map((r) => r.n));
  const again = await runCli(['generate', '--resume', job.id, '--out', join(home, 'again.md')], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already done/);
  assert.equal(readFileSync(join(home, 'again.md'), 'utf8'), readFileSync(out, 'utf8'));
  const final = new Database(dbPath, { readonly: true });
  assert.deepEqual(final.prepare('SELECT state, lease_owner FROM jobs').get(), { state: 'done', lease_owner: null });
  assert.equal(final.prepare('SELECT count(*) AS n FROM surveys WHERE job_id = ?').get(job.id).n, 1);
  final.close();
});

test('Ctrl-C stops cleanly: lease released, job resumable, resume command printed', async (t) => {
  const { home, env } = await sampleHome(t, { LITSURVEY_STEP_DELAY_MS: '3000' });
  const dbPath = join(home, 'litsurvey.sqlite');
  const run = spawnUntil(['generate', 'retrieval', '--sections', '3', '--out', join(home, 'r.md')], env, dbPath, (db) => db.prepare("SELECT 1 FROM job_steps WHERE step = 'plan'").get());
  await run.reached;
  run.child.kill('SIGINT');
  const r = await run.exited;
  assert.equal(r.code, 130, r.stderr);
  const id = /Job ([0-9a-f-]{36})/.exec(r.stderr)[1];
  assert.match(r.stderr, new RegExp(`litsurvey generate --resume ${id}`));
  const db = new Database(dbPath, { readonly: true });
  assert.deepEqual(db.prepare('SELECT state, lease_owner FROM jobs WHERE id = ?').get(id), { state: 'cancelled', lease_owner: null });
  db.close();
  const resumed = await runCli(['generate', '--resume', id], { ...env, LITSURVEY_STEP_DELAY_MS: '' });
  assert.equal(resumed.code, 0, resumed.stderr);
});
