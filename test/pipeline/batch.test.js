// `litsurvey batch`: bad lines reported by number and skipped, a summary table and summary.json,
// and a killed batch resumed by running the same command again (finished work is not redone).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parseBatchFile } from '../../dist/cli/commands/batch.js';
import { cli, runCli } from '../helpers.js';
import { parseSurvey, sampleHome } from './support.js';

test('parseBatchFile keeps good lines and names bad ones by line number', () => {
  const { items, problems } = parseBatchFile('{"topic": "a"}\n\nnot json\n{"topic": "b", "sections": 3, "since": 2019}\n{"topic": ""}\n{"topic": "c", "colour": 1}\n{"topic": "d", "sections": 99}\n');
  assert.deepEqual(items, [
    { line: 1, topic: 'a', sections: undefined, since: undefined, until: undefined },
    { line: 4, topic: 'b', sections: 3, since: 2019, until: undefined },
  ]);
  assert.deepEqual(problems.map((p) => p.split(':')[0]), ['line 3', 'line 5', 'line 6', 'line 7']);
  assert.match(problems[2], /unknown field "colour"/);
});

test('a killed batch resumes where it stopped; finished surveys are not redone', async (t) => {
  const { home, env } = await sampleHome(t);
  const topics = join(home, 'topics.jsonl');
  writeFileSync(topics, ['{"topic": "neural machine translation", "sections": 2}', '{"topic": oops}', '{"topic": "retrieval for question answering", "sections": 3}', '{"topic": "large language model alignment", "sections": 2}'].join('\n') + '\n');
  const out = join(home, 'surveys');
  const dbPath = join(home, 'litsurvey.sqlite');

  // First run: slow steps; kill it once the first survey is done and the second has started.
  const child = spawn(process.execPath, [cli, 'batch', topics, '--out', out], { env: { ...env, LITSURVEY_STEP_DELAY_MS: '700' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  await new Promise((res, rej) => {
    const timer = setInterval(() => {
      if (!existsSync(dbPath)) return;
      let states;
      const db = new Database(dbPath, { readonly: true });
      try {
        states = db.prepare('SELECT j.state, b.line FROM batch_items b JOIN jobs j ON j.id = b.job_id ORDER BY b.line').all();
      } catch {
        return; // not migrated yet
      } finally {
        db.close();
      }
      if (states.length >= 2 && states[0].state === 'done') {
        clearInterval(timer);
        res();
      }
    }, 25);
    exited.then(() => (clearInterval(timer), rej(new Error(`batch exited early:\n${stderr}`))));
  });
  child.kill('SIGKILL');
  await exited;
  assert.match(stderr, /line 2: not JSON/);
  const db = new Database(dbPath, { readonly: true });
  const firstJob = db.prepare('SELECT job_id FROM batch_items WHERE line = 1').get().job_id;
  const stepsBefore = db.prepare('SELECT job_id || step AS k, finished_at FROM job_steps').all();
  db.close();

  const r = await runCli(['batch', topics, '--out', out, '--concurrency', '2'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /line 1 "neural machine translation": done \(earlier run\)/);
  assert.match(r.stdout, /^\| line \| topic \| state \| sections \| papers cited \| unresolved citations \| time \|$/m);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.surveys.map((s) => [s.line, s.state]), [[1, 'done'], [3, 'done'], [4, 'done']]);
  assert.equal(summary.surveys[0].job, firstJob);
  assert.equal(summary.surveys[0].reused, true);
  assert.deepEqual(summary.surveys.map((s) => s.sections), [2, 3, 2]);
  for (const s of summary.surveys) {
    assert.ok(s.cited > 0 && s.unresolved === 0);
    assert.equal(parseSurvey(readFileSync(s.file, 'utf8')).front.mode, 'extractive');
  }
  const after = new Database(dbPath, { readonly: true });
  const stepsAfter = new Map(after.prepare('SELECT job_id || step AS k, finished_at FROM job_steps').all().map((x) => [x.k, x.finished_at]));
  assert.equal(after.prepare('SELECT count(*) AS n FROM batch_items').get().n, 3, 'one job per valid line, none duplicated');
  after.close();
  assert.ok(stepsAfter.size > stepsBefore.length);
  for (const b of stepsBefore) assert.equal(stepsAfter.get(b.k), b.finished_at, `${b.k} was recomputed`);
});
