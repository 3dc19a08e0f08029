// The HTTP service over real loopback HTTP: search API, problem details, security headers,
// auth with a token and a session cookie, rate limits, body limits, health and metrics.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import { test } from 'node:test';
import { loadConfig } from '../../dist/config.js';
import { startServer } from '../../dist/server/serve.js';
import { Auth } from '../../dist/server/auth.js';
import { RateLimiter } from '../../dist/server/rate-limit.js';
import { cacheDir, root, tempDir } from '../helpers.js';

async function server(t, opts = {}) {
  const home = tempDir(t);
  const config = loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
  const s = await startServer(config, { host: '127.0.0.1', port: 0, log: () => {}, ...opts });
  t.after(() => s.close());
  return s;
}

test('search API answers with hits; bad parameters are RFC 9457 problems naming the field', async (t) => {
  const s = await server(t);
  const r = await fetch(`${s.url}/api/search?q=${encodeURIComponent('subword units for rare words')}&k=3`);
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.hits[0].id, 'sample:bpe');
  assert.equal(body.hits.length, 3);
  for (const [qs, field] of [['q=', 'q'], ['q=x&k=0', 'k'], ['q=x&k=abc', 'k'], ['q=x&mode=magic', 'mode'], ['q=x&since=99999', 'since'], [`q=${'x'.repeat(600)}`, 'q']]) {
    const e = await fetch(`${s.url}/api/search?${qs}`);
    assert.equal(e.status, 400, qs);
    assert.match(e.headers.get('content-type'), /application\/problem\+json/);
    const p = await e.json();
    assert.equal(p.status, 400);
    assert.equal(p.title, 'Bad Request');
    assert.match(p.detail, new RegExp(`"${field}"`));
  }
  const nf = await fetch(`${s.url}/nope`);
  assert.equal(nf.status, 404);
  assert.equal((await nf.json()).title, 'Not Found');
});

test('secure headers on every answer', async (t) => {
  const s = await server(t);
  const r = await fetch(`${s.url}/healthz`);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).status, 'ok');
  assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('referrer-policy'), 'same-origin');
});

test('with a token, the API needs the bearer token; wrong tokens and forged cookies fail', async (t) => {
  const s = await server(t, { token: 's3cret-token' });
  const url = `${s.url}/api/search?q=attention`;
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await fetch(url, { headers: { cookie: 'ls_session=1.2.3' } })).status, 401);
  assert.equal((await fetch(url, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200);
  const auth = new Auth('s3cret-token');
  assert.equal((await fetch(url, { headers: { cookie: `ls_session=${auth.newSession()}` } })).status, 200);
  const stale = auth.newSession(Date.now() - 8 * 24 * 3600 * 1000);
  assert.equal((await fetch(url, { headers: { cookie: `ls_session=${stale}` } })).status, 401, 'expired session');
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'health stays open');
});

test('per-client rate limit answers 429 with a problem, and /metrics counts it', async (t) => {
  const s = await server(t, { limits: { rate: 2, burst: 3 } });
  const codes = [];
  for (let i = 0; i < 6; i++) codes.push((await fetch(`${s.url}/api/search?q=x${i}`)).status);
  assert.deepEqual(codes.slice(0, 3), [200, 200, 200]);
  assert.ok(codes.slice(3).includes(429));
  await new Promise((r) => setTimeout(r, 1600));
  const m = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(m, /litsurvey_rate_limited_total [1-9]/);
  assert.match(m, /litsurvey_jobs\{state="queued"\} 0/);
  const l = new RateLimiter(1, 1);
  assert.equal(l.take('a', 0), true);
  assert.equal(l.take('a', 10), 1);
  assert.equal(l.take('a', 1010), true);
});

test('without a model, /v1 says so; oversized bodies are refused with 413', async (t) => {
  const s = await server(t);
  const r = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 503);
  assert.match((await r.json()).detail, /no model is loaded/);
  // Announce a 2 MB body and send none of it: the server must refuse on the header alone.
  const big = await new Promise((resolve, reject) => {
    const req = request(`${s.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 2 << 20 } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, text });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(big.status, 413);
  assert.match(big.text, /limited to 1048576 bytes/);
});
