// Hostile input against the pages and the jobs API: XSS in topics, model output and Markdown,
// CSRF without a token or from another origin, path traversal on assets and downloads,
// oversized and out-of-range input, and the sign-in flow with LITSURVEY_TOKEN.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../dist/config.js';
import { JobStore } from '../../dist/pipeline/jobs.js';
import { surveyHtml } from '../../dist/server/markdown.js';
import { startServer } from '../../dist/server/serve.js';
import { openDb } from '../../dist/store/db.js';
import { cacheDir, root, tempDir } from '../helpers.js';

async function server(t, opts = {}) {
  const home = tempDir(t);
  const config = loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
  const s = await startServer(config, { host: '127.0.0.1', port: 0, log: () => {}, ...opts });
  t.after(() => s.close());
  return { ...s, config, host: new URL(s.url).host };
}

/** A request with the path exactly as given (fetch would normalise `..`). */
function rawGet(url, path, headers = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A POST that resolves with the answer even when the server stops reading the body early. */
function rawPost(url, path, headers, body) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body), connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text, headers: res.headers }));
    });
    req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(body);
  });
}

/** The form page's CSRF cookie and hidden token. */
async function formToken(s, headers = {}) {
  const r = await fetch(`${s.url}/`, { headers });
  const cookie = r.headers.getSetCookie().find((c) => c.startsWith('ls_csrf='));
  assert.ok(cookie, 'the form sets ls_csrf');
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  const token = /name="_csrf" value="([^"]+)"/.exec(await r.text())[1];
  return { cookie: cookie.split(';')[0], token };
}

const formPost = (s, path, fields, headers) =>
  fetch(`${s.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });

const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';

test('Markdown is sanitised: raw HTML, javascript: links and event handlers never reach the page', () => {
  const out = surveyHtml(`---\ntopic: x\n---\n# T ${XSS}\n\nText <script>alert(3)</script> [link](javascript:alert(4)) <a href="javascript:alert(5)">a</a> <div onclick="alert(6)">d</div> [1]\n\n![i](javascript:alert(7))\n\n## References\n\n1. A paper. <https://example.org/p> \`p:1\`\n`, {
    papers: new Map([['p:1', { title: 'A paper', abstract: `An abstract with ${XSS}` }]]),
    verdicts: [{ text: 'Text', supported: true, score: 0.9 }],
  });
  assert.doesNotMatch(out, /<script/i);
  assert.doesNotMatch(out, /javascript:/i);
  assert.doesNotMatch(out, /<[^>]*\son\w+=/i, 'no event-handler attributes');
  assert.doesNotMatch(out, /<img[^>]*src="x"/i);
  assert.doesNotMatch(out, /topic: x/, 'front matter is dropped');
  assert.match(out, /&#x3C;script>alert\(1\)&#x3C;\/script>|&lt;script&gt;alert\(1\)/, 'the abstract is shown as text');
  assert.match(out, /<a href="#ref-1" class="cite">1<\/a>/);
  assert.match(out, /<li id="ref-1" class="reference">/);
});

test('XSS in topics and in model output is escaped on every page', async (t) => {
  const s = await server(t, { worker: false });
  const r = await fetch(`${s.url}/api/surveys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: XSS }) });
  assert.equal(r.status, 202);
  const { id } = await r.json();
  // A finished job whose "model output" carries scripts and javascript: links.
  const db = openDb(s.config.dbPath);
  t.after(() => db.close());
  db.prepare("UPDATE jobs SET state = 'done' WHERE id = ?").run(id);
  db.prepare('INSERT INTO surveys (id, job_id, topic, title, mode, markdown, bibtex, front_matter, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    id,
    id,
    XSS,
    XSS,
    'engine',
    `# Title ${XSS}\n\nA claim [1]. [click](javascript:alert(1)) <iframe src="https://evil.example"></iframe>\n\n## References\n\n1. Paper ${XSS}\n`,
    '',
    '{}',
    Date.now(),
  );
  for (const path of [`/surveys/${id}`, `/surveys/${id}/survey`, '/history']) {
    const page = await (await fetch(`${s.url}${path}`)).text();
    assert.doesNotMatch(page, /<script>alert|<img src=x|<iframe|javascript:/i, path);
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;|&#x3C;script>alert\(1\)/, `${path} shows the topic as text`);
  }
  const csp = (await fetch(`${s.url}/`)).headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
});

test('CSRF: form posts need the double-submit token and a same-site Origin', async (t) => {
  const s = await server(t, { worker: false });
  const { cookie, token } = await formToken(s);
  const fields = { topic: 'attention', sections: '3' };
  const origin = `http://${s.host}`;
  const noToken = await formPost(s, '/surveys', fields, { cookie, origin });
  assert.equal(noToken.status, 403);
  assert.equal((await noToken.json()).title, 'Forbidden');
  assert.equal((await formPost(s, '/surveys', { ...fields, _csrf: 'x'.repeat(32) }, { cookie, origin })).status, 403, 'wrong token');
  assert.equal((await formPost(s, '/surveys', { ...fields, _csrf: token }, { origin })).status, 403, 'token without its cookie');
  assert.equal((await formPost(s, '/surveys', { ...fields, _csrf: token }, { cookie, origin: 'https://evil.example' })).status, 403, 'cross-site origin');
  assert.equal((await formPost(s, '/surveys', { ...fields, _csrf: token }, { cookie })).status, 403, 'no Origin at all');
  const ok = await formPost(s, '/surveys', { ...fields, _csrf: token }, { cookie, origin });
  assert.equal(ok.status, 303);
  assert.match(ok.headers.get('location'), /^\/surveys\/[0-9a-f-]{36}$/);
  // A cross-site multipart post to the API (what a hostile page's form can send) is refused too.
  const form = new FormData();
  form.set('survey', '# x\n\nA [1].\n');
  assert.equal((await fetch(`${s.url}/api/eval`, { method: 'POST', body: form, headers: { origin: 'https://evil.example' } })).status, 403);
  // Invalid form input re-renders the form with the message, escaped.
  const bad = await formPost(s, '/surveys', { topic: XSS + 'x'.repeat(300), _csrf: token }, { cookie, origin });
  assert.equal(bad.status, 400);
  const body = await bad.text();
  assert.match(body, /longer than 300 characters/);
  assert.doesNotMatch(body, /<script>alert/);
});

test('path traversal: assets come from an allow-list and downloads take job ids only', async (t) => {
  const s = await server(t, { worker: false });
  for (const path of [
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/assets/..%2fpackage.json',
    '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/assets/app.js/../../package.json',
    '/assets/layout.html',
    '/assets/static%2fapp.js',
    '/api/surveys/..%2f..%2fetc%2fpasswd/survey.md',
    '/api/surveys/../../etc/passwd',
    '/api/surveys/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/surveys/..%2f..%2fetc%2fpasswd/survey',
    '/api/surveys/00000000-0000-0000-0000-000000000000/survey.md',
  ]) {
    const r = await rawGet(s.url, path);
    assert.ok(r.status === 404, `${path} → ${r.status}`);
    assert.doesNotMatch(r.body, /"name": "litsurvey"|root:x:0/, path);
  }
  assert.equal((await rawGet(s.url, '/assets/app.js')).status, 200);
});

test('limits: topic length, sections, years, modes, body and upload sizes', async (t) => {
  const s = await server(t, { worker: false });
  const post = (body) => fetch(`${s.url}/api/surveys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  for (const [body, field] of [
    [{ topic: 'x'.repeat(301) }, 'topic'],
    [{ topic: '   ' }, 'topic'],
    [{ topic: 42 }, 'topic'],
    [{ topic: 'ok', sections: 1 }, 'sections'],
    [{ topic: 'ok', sections: 13 }, 'sections'],
    [{ topic: 'ok', sections: 2.5 }, 'sections'],
    [{ topic: 'ok', since: 1800 }, 'since'],
    [{ topic: 'ok', until: 99999 }, 'until'],
    [{ topic: 'ok', since: 2020, until: 2010 }, 'since'],
    [{ topic: 'ok', mode: 'magic' }, 'mode'],
  ]) {
    const r = await post(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match((await r.json()).detail, new RegExp(`"${field}"`));
  }
  assert.equal((await post({ topic: 'ok', mode: 'engine' })).status, 409, 'engine mode without a model');
  assert.equal((await fetch(`${s.url}/api/surveys`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"topic":"x"}' })).status, 415);
  // Oversized bodies are refused before they are read (node:http: the server answers mid-upload).
  const huge = 'x'.repeat((4 << 20) + 10);
  const big = await rawPost(s.url, '/api/surveys', { 'content-type': 'application/json' }, JSON.stringify({ topic: huge }));
  assert.equal(big.status, 413);
  const up = await rawPost(s.url, '/api/eval', { 'content-type': 'text/markdown' }, huge);
  assert.equal(up.status, 413);
  assert.match(up.headers['content-type'], /application\/problem\+json/);
});

test('with a token: pages send browsers to /login; the session cookie opens pages, API and event streams', async (t) => {
  const s = await server(t, { token: 'web-s3cret', worker: false, trustProxy: true });
  const home = await fetch(`${s.url}/`, { redirect: 'manual' });
  assert.equal(home.status, 303);
  assert.equal(home.headers.get('location'), '/login?next=%2F');
  assert.equal((await fetch(`${s.url}/api/surveys`)).status, 401);
  const login = await fetch(`${s.url}/login?next=/history`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('ls_csrf=')).split(';')[0];
  const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())[1];
  const origin = `http://${s.host}`;
  const wrong = await formPost(s, '/login', { token: 'nope', _csrf: token, next: '/history' }, { cookie, origin });
  assert.equal(wrong.status, 401);
  const evil = await formPost(s, '/login', { token: 'web-s3cret', _csrf: token, next: '//evil.example/' }, { cookie, origin });
  assert.equal(evil.status, 303);
  assert.equal(evil.headers.get('location'), '/', 'only local redirects');
  const ok = await formPost(s, '/login', { token: 'web-s3cret', _csrf: token, next: '/history' }, { cookie, origin, 'x-forwarded-proto': 'https' });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/history');
  const session = ok.headers.getSetCookie().find((c) => c.startsWith('ls_session='));
  assert.match(session, /HttpOnly/i);
  assert.match(session, /SameSite=Strict/i);
  assert.match(session, /Secure/i, 'Secure behind an https proxy');
  const headers = { cookie: session.split(';')[0] };
  assert.equal((await fetch(`${s.url}/history`, { headers })).status, 200);
  const created = await fetch(`${s.url}/api/surveys`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'attention' }) });
  assert.equal(created.status, 202);
  const { id } = await created.json();
  assert.equal((await fetch(`${s.url}/api/surveys/${id}/events`)).status, 401);
  const events = await fetch(`${s.url}/api/surveys/${id}/events`, { headers, signal: AbortSignal.timeout(5000) });
  assert.equal(events.status, 200);
  const reader = events.body.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /event: created/);
  await reader.cancel();
  // Queued jobs from another server may be cancelled by DELETE with the bearer token.
  assert.equal((await fetch(`${s.url}/api/surveys/${id}`, { method: 'DELETE', headers: { authorization: 'Bearer web-s3cret' } })).status, 202);
  const store = new JobStore(openDb(s.config.dbPath));
  t.after(() => store.db.close());
  assert.equal(store.get(id).state, 'cancelled');
});
