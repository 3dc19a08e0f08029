// The survey jobs API and pages over real loopback HTTP with the sample corpus: a job from POST
// to downloads, its event stream, queue positions, cancelling at every stage, resuming after a
// restart, history, uploads to /api/eval, the OpenAPI description, and the rendered survey page.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../dist/config.js';
import { JobStore } from '../../dist/pipeline/jobs.js';
import { startServer } from '../../dist/server/serve.js';
import { openDb } from '../../dist/store/db.js';
import { cacheDir, root, tempDir } from '../helpers.js';

function configFor(home) {
  return loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
}

async function server(t, opts = {}, home = tempDir(t)) {
  const s = await startServer(configFor(home), { host: '127.0.0.1', port: 0, log: () => {}, ...opts });
  t.after(() => s.close());
  return { ...s, home };
}

const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Reads an SSE stream to its end; returns the events as {event, data, id}. */
async function readEvents(url, timeoutMs = 60_000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/event-stream/);
  const text = await r.text();
  return text
    .split('\n\n')
    .filter((b) => b.includes('data:'))
    .map((block) => {
      const get = (k) => block.split('\n').find((l) => l.startsWith(`${k}:`))?.slice(k.length + 1).trim();
      return { event: get('event'), id: get('id'), data: JSON.parse(get('data')) };
    });
}

async function waitFor(fn, what, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a survey job: 202 with links, events stream to the end, downloads by id, history', async (t) => {
  const s = await server(t);
  const r = await post(`${s.url}/api/surveys`, { topic: 'neural machine translation', sections: 3, since: 2014 });
  assert.equal(r.status, 202);
  const created = await r.json();
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers.get('location'), `/api/surveys/${created.id}`);
  assert.equal(created.links.markdown, `/api/surveys/${created.id}/survey.md`);

  const events = await readEvents(`${s.url}${created.links.events}`);
  const types = events.map((e) => e.event);
  assert.equal(types[0], 'created');
  assert.ok(types.includes('claimed'));
  assert.ok(events.some((e) => e.event === 'stage' && e.data.stage === 'sections'), 'stage progress is streamed');
  assert.ok(events.some((e) => e.event === 'step' && typeof e.data.papers === 'number'), 'papers retrieved are streamed');
  assert.equal(types.at(-2), 'done');
  assert.equal(types.at(-1), 'end');
  assert.equal(events.at(-1).data.state, 'done');

  // Last-Event-ID resumes after the given event: a replay from the middle has no 'created'.
  const mid = events.find((e) => e.event === 'claimed').id;
  const replay = await fetch(`${s.url}${created.links.events}`, { headers: { 'last-event-id': mid } });
  const replayText = await replay.text();
  assert.doesNotMatch(replayText, /event: created/);
  assert.match(replayText, /event: done/);

  const job = await (await fetch(`${s.url}/api/surveys/${created.id}`)).json();
  assert.equal(job.state, 'done');
  assert.equal(job.mode, 'extractive');
  assert.equal(job.position, null);
  assert.ok(job.timings.runMs >= 0);
  assert.ok(job.timings.steps.some((x) => x.step === 'assembly'));

  const md = await fetch(`${s.url}${created.links.markdown}`);
  assert.equal(md.status, 200);
  assert.match(md.headers.get('content-disposition'), /attachment; filename="neural-machine-translation\.md"/);
  const markdown = await md.text();
  assert.match(markdown, /## References/);
  assert.match(markdown, /\[\d+\]/);
  const bib = await (await fetch(`${s.url}${created.links.bibtex}`)).text();
  assert.match(bib, /@\w+\{/);
  const report = await fetch(`${s.url}${created.links.report}`);
  assert.equal(report.status, 200);
  assert.match(await report.text(), /<html/);
  const json = await (await fetch(`${s.url}${created.links.json}`)).json();
  assert.equal(json.id, created.id);
  assert.ok(json.metrics.fact_score >= 0 && json.metrics.fact_score <= 1);
  assert.ok(json.claims.length > 0);

  const page = await (await fetch(`${s.url}/surveys/${created.id}/survey`)).text();
  assert.match(page, /<a href="#ref-1" class="cite">1<\/a>/);
  assert.match(page, /<li id="ref-1" class="reference">/);
  assert.match(page, /<details class="abstract"><summary>Abstract<\/summary>/);
  assert.match(page, /<span class="claim (supported|unsupported)" title="[^"]*judge, score/);

  const hist = await (await fetch(`${s.url}/api/surveys?per_page=10`)).json();
  assert.equal(hist.total, 1);
  assert.equal(hist.items[0].id, created.id);
  assert.equal((await fetch(`${s.url}/api/surveys?per_page=1000`)).status, 400);
  const histPage = await (await fetch(`${s.url}/history`)).text();
  assert.match(histPage, new RegExp(`/surveys/${created.id}`));
  assert.equal((await fetch(`${s.url}/api/surveys/${created.id}`, { method: 'DELETE' })).status, 409, 'a done job cannot be cancelled');
});

test('queue positions while the worker is busy; cancel queued, running here, and running elsewhere', async (t) => {
  const s = await server(t, { jobStepDelayMs: 400 });
  const ids = [];
  for (const topic of ['attention', 'summarization', 'question answering']) ids.push((await (await post(`${s.url}/api/surveys`, { topic, sections: 2 })).json()).id);
  const [first, second, third] = ids;
  await waitFor(async () => (await (await fetch(`${s.url}/api/surveys/${first}`)).json()).state === 'running', 'the first job to run');
  assert.equal((await (await fetch(`${s.url}/api/surveys/${second}`)).json()).position, 1);
  assert.equal((await (await fetch(`${s.url}/api/surveys/${third}`)).json()).position, 2);
  const jobPage = await (await fetch(`${s.url}/surveys/${third}`)).text();
  assert.match(jobPage, /<dd id="job-position">2<\/dd>/);

  // Queued → cancelled; the next one moves up.
  const del = await fetch(`${s.url}/api/surveys/${second}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  assert.equal((await del.json()).state, 'cancelled');
  assert.equal((await (await fetch(`${s.url}/api/surveys/${third}`)).json()).position, 1);

  // Running here → aborted, its stream ends with 'cancelled'.
  const stream = readEvents(`${s.url}/api/surveys/${first}/events`);
  assert.equal((await (await fetch(`${s.url}/api/surveys/${first}`, { method: 'DELETE' })).json()).state, 'cancelled');
  const events = await stream;
  assert.equal(events.at(-1).data.state, 'cancelled');
  const firstJob = await (await fetch(`${s.url}/api/surveys/${first}`)).json();
  assert.equal(firstJob.error, 'cancelled by the user');

  // Running in another process (a CLI holding the lease) → marked cancelled; its renewal fails.
  const other = new JobStore(openDb(configFor(s.home).dbPath));
  t.after(() => other.db.close());
  const foreign = other.create('held elsewhere', { request: { topic: 'held elsewhere', sections: 2, filters: {}, maxPapers: 10, seed: 1, rerank: false, sectionTokens: 10, temperature: 0 }, engine: { backend: 'native', model: '/nonexistent.gguf' } });
  assert.ok(other.claim(foreign, 'otherhost:1:cli', 60_000));
  assert.equal((await (await fetch(`${s.url}/api/surveys/${foreign}`, { method: 'DELETE' })).json()).state, 'cancelled');
  assert.equal(other.renew(foreign, 'otherhost:1:cli'), false, 'the other worker loses its lease');
  assert.equal(other.get(foreign).state, 'cancelled');

  await waitFor(async () => (await (await fetch(`${s.url}/api/surveys/${third}`)).json()).state === 'done', 'the third job to finish');
});

test('after a restart, queued jobs and jobs whose lease expired resume and finish', async (t) => {
  const home = tempDir(t);
  const config = configFor(home);
  // A first start builds the index and the schema, then stops.
  const first = await startServer(config, { host: '127.0.0.1', port: 0, log: () => {}, worker: false });
  await first.close();
  const db = openDb(config.dbPath);
  const store = new JobStore(db);
  const request = (topic) => ({ request: { topic, sections: 2, filters: {}, maxPapers: 200, seed: 1, rerank: false, sectionTokens: 400, temperature: 0.7 }, engine: null });
  const queued = store.create('byte pair encoding', request('byte pair encoding'));
  const stale = store.create('dense retrieval', request('dense retrieval'));
  assert.ok(store.claim(stale, 'deadhost:999999:gone', 60_000));
  db.prepare('UPDATE jobs SET lease_expires_at = ? WHERE id = ?').run(Date.now() - 1000, stale);
  db.close();

  const s = await server(t, {}, home);
  for (const id of [queued, stale]) {
    const events = await readEvents(`${s.url}/api/surveys/${id}/events`);
    assert.equal(events.at(-1).data.state, 'done', `job ${id} finished after the restart`);
  }
  const md = await (await fetch(`${s.url}/api/surveys/${stale}/survey.md`)).text();
  assert.match(md, /## References/);
});

test('a server stopped mid-job queues the job again; the next start finishes it from its last step', async (t) => {
  const home = tempDir(t);
  const first = await startServer(configFor(home), { host: '127.0.0.1', port: 0, log: () => {}, jobStepDelayMs: 2000 });
  const { id } = await (await post(`${first.url}/api/surveys`, { topic: 'instruction tuning', sections: 2 })).json();
  await waitFor(async () => (await (await fetch(`${first.url}/api/surveys/${id}`)).json()).step === 'plan', 'the first step');
  await first.close();
  const db = openDb(configFor(home).dbPath);
  const row = new JobStore(db).get(id);
  db.close();
  assert.equal(row.state, 'queued');
  assert.equal(row.lease_owner, null);
  const s = await server(t, {}, home);
  const events = await readEvents(`${s.url}/api/surveys/${id}/events`);
  assert.ok(events.some((e) => e.event === 'requeued'));
  assert.ok(events.some((e) => e.event === 'stage' && e.data.stage === 'plan' && e.data.state === 'reused'), 'the stored plan is reused');
  assert.equal(events.at(-1).data.state, 'done');
});

test('/api/eval scores an uploaded survey (markdown body and multipart); OpenAPI lists the routes', async (t) => {
  const s = await server(t);
  const survey = '# A survey\n\n## Methods\n\nSubword units learned with byte pair encoding make open-vocabulary translation possible [1].\n\n## References\n\n1. Neural Machine Translation of Rare Words with Subword Units. <https://arxiv.org/abs/1508.07909>\n';
  const r = await fetch(`${s.url}/api/eval`, { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: survey });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.claims, 1);
  assert.equal(body.judge, 'lexical');
  assert.equal(typeof body.metrics.fact_score, 'number');
  const form = new FormData();
  form.set('survey', new Blob([survey], { type: 'text/markdown' }), 'survey.md');
  const m = await fetch(`${s.url}/api/eval`, { method: 'POST', body: form });
  assert.equal(m.status, 200);
  assert.equal((await m.json()).claims, 1);
  assert.equal((await fetch(`${s.url}/api/eval`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: 'x' })).status, 415);

  const spec = await (await fetch(`${s.url}/api/openapi.json`)).json();
  assert.equal(spec.openapi, '3.1.0');
  for (const path of ['/api/surveys', '/api/surveys/{id}', '/api/surveys/{id}/events', '/api/eval', '/api/search', '/healthz', '/metrics', '/v1/chat/completions']) assert.ok(spec.paths[path], path);

  const corpus = await (await fetch(`${s.url}/corpus`)).text();
  assert.match(corpus, /<dd id="index-papers">36<\/dd>/);
  assert.match(corpus, /CC BY 4\.0/);
  assert.match(corpus, /CC0 1\.0/);
  const css = await fetch(`${s.url}/assets/app.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /text\/css/);
});
