import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluateSurvey, libraryFromJob, metricRows, scoreJobSurvey, storeEvaluation, surveyIdFor } from '../../dist/metrics/evaluate.js';
import { openDb } from '../../dist/store/db.js';
import { cacheDir, tempDir } from '../helpers.js';
import { lexicalJudge, source, survey } from './support.js';

test('evaluations are stored in SQLite: survey row, claims with evidence, metrics; re-storing replaces', async (t) => {
  const db = openDb(join(tempDir(t), 'store.sqlite'));
  t.after(() => db.close());
  const markdown = survey('known-answers.md');
  const e = await evaluateSurvey(markdown, { source: source(), judge: lexicalJudge() });
  const id = surveyIdFor(markdown);
  storeEvaluation(db, e, { id, markdown });
  storeEvaluation(db, e, { id, markdown });
  const s = db.prepare('SELECT * FROM surveys WHERE id = ?').get(id);
  assert.equal(s.mode, 'engine');
  assert.equal(s.title, 'Efficient Long-Context Language Models: A Survey');
  const claims = db.prepare('SELECT * FROM claims WHERE survey_id = ? ORDER BY id').all(id);
  assert.equal(claims.length, 6);
  assert.equal(claims.filter((c) => c.supported === 1).length, 3);
  assert.equal(claims[0].judge, 'lexical');
  assert.equal(JSON.parse(claims[0].evidence).text, 'BlockSparse reduces memory use by 75% on sequences of 16k tokens.');
  assert.deepEqual(JSON.parse(claims[1].citations).paperIds, ['fx:sparse', 'fx:prefix']);
  assert.equal(claims[5].evidence, '');
  const metrics = Object.fromEntries(db.prepare('SELECT name, value FROM metrics WHERE survey_id = ?').all(id).map((r) => [r.name, r.value]));
  assert.equal(metrics.fact_score, 0.5);
  assert.equal(metrics.unresolved_citations, 1);
  assert.equal(metrics.coverage_papers, undefined); // no library: not stored rather than stored as 0
  assert.deepEqual(Object.keys(metrics).sort(), metricRows(e).map((m) => m.name).sort());
});

test('the library of a pipeline job is read from its library step', (t) => {
  const db = openDb(join(tempDir(t), 'jobs.sqlite'));
  t.after(() => db.close());
  db.prepare("INSERT INTO jobs (id, topic, created_at, updated_at) VALUES ('j1', 'x', 0, 0)").run();
  db.prepare("INSERT INTO job_steps (job_id, step, output, finished_at) VALUES ('j1', 'library', ?, 0)").run(
    JSON.stringify({ papers: [{ id: 'a', section: 0 }, { id: 'b', section: 1 }], sectionPapers: [['a'], ['b', 7]] }),
  );
  db.prepare("INSERT INTO job_steps (job_id, step, output, finished_at) VALUES ('j1', 'plan', 'not json', 0)").run();
  assert.deepEqual(libraryFromJob(db, 'j1'), { paperIds: ['a', 'b'], clusters: [['a'], ['b']] });
  assert.equal(libraryFromJob(db, 'nope'), undefined);
});

test('scoreJobSurvey, the pipeline call, scores against the job library and stores under the job id', async (t) => {
  const db = openDb(join(tempDir(t), 'pipeline.sqlite'));
  t.after(() => db.close());
  const markdown = survey('known-answers.md');
  db.prepare("INSERT INTO jobs (id, topic, created_at, updated_at) VALUES ('job-1', 'x', 0, 0)").run();
  db.prepare("INSERT INTO job_steps (job_id, step, output, finished_at) VALUES ('job-1', 'library', ?, 0)").run(
    JSON.stringify({ papers: ['fx:sparse', 'fx:rag', 'fx:prefix', 'fx:facts'].map((id) => ({ id })), sectionPapers: [['fx:sparse', 'fx:prefix'], ['fx:rag'], ['fx:facts']] }),
  );
  db.prepare("INSERT INTO surveys (id, job_id, topic, title, mode, markdown, created_at) VALUES ('job-1', 'job-1', 'x', 'T', 'engine', ?, 0)").run(markdown);
  const e = await scoreJobSurvey(db, 'job-1', markdown, { source: source(), cacheDir });
  assert.equal(e.facts.factScore, 0.5);
  const m = Object.fromEntries(db.prepare("SELECT name, value FROM metrics WHERE survey_id = 'job-1'").all().map((r) => [r.name, r.value]));
  assert.equal(m.coverage_papers, 0.75);
  assert.equal(m.coverage_clusters, 2 / 3);
  assert.ok(m.relevance > 0);
  assert.equal(db.prepare("SELECT count(*) AS n FROM claims WHERE survey_id = 'job-1'").get().n, 6);
});
