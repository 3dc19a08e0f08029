import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { evaluateSurvey } from '../../dist/metrics/evaluate.js';
import { renderReport } from '../../dist/report/render.js';
import { cliEnv, root, runCli, tempDir } from '../helpers.js';
import { lexicalJudge, source, survey, surveysDir } from '../metrics/support.js';

const hostile = `---
mode: extractive
topic: "<script>alert(1)</script>"
---
# <img src=x onerror=alert(2)> & "title"

## Introduction <b>bold</b>

RAG-QA improves exact match on Natural Questions by 4.2 points [1]. The \`<script>alert(3)</script>\` tag is shown as text [1].

## References

1. <a href="javascript:alert(4)">x</a> Retrieval-Augmented Generation for Open-Domain Question Answering. javascript:alert(5)
`;

async function evaluations() {
  const names = ['known-answers.md', 'malformed.md', 'no-citations.md', 'empty.md'];
  const out = [];
  for (const n of names) out.push(await evaluateSurvey(survey(n), { source: source(), judge: lexicalJudge(), name: n }));
  out.push(await evaluateSurvey(hostile, { source: source(), judge: lexicalJudge(), name: 'hostile<1>.md' }));
  return out;
}

test('the report is one self-contained file; survey text is escaped; extractive fact scores are marked', async () => {
  const html = renderReport(await evaluations());
  assert.ok(!/<script/i.test(html), 'no script element, escaped or ours');
  assert.ok(!/onerror=alert/.test(html.replace(/&lt;img src=x onerror=alert\(2\)&gt;/g, '')));
  assert.ok(!/href="javascript:/i.test(html));
  assert.ok(html.includes('&lt;script&gt;alert(3)&lt;/script&gt;'));
  assert.ok(html.includes('hostile&lt;1&gt;.md'));
  assert.ok(!/(?:src|href)="(?!https?:\/\/)[^"#]/.test(html.replace(/href="https?:[^"]*"/g, '')), 'no local or relative resources');
  assert.ok(!/<link|@import|url\(/.test(html), 'no external stylesheet or resource');
  assert.ok(html.includes('verbatim-derived'));
  assert.equal((html.match(/<svg/g) ?? []).length, 4);
  assert.ok(!html.includes('{{'), 'every placeholder filled');
});

const playwright = await import('playwright-core').catch(() => null);
const browserSkip = !playwright ? 'playwright-core is not installed (the lead adds it to devDependencies)' : !existsSync('/usr/bin/chromium') ? 'no /usr/bin/chromium (apt-get install -y chromium)' : false;

test('the report renders in headless Chromium: summary, charts, table and claims (screenshot in test-output/)', { skip: browserSkip }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'report.html');
  writeFileSync(file, renderReport(await evaluations(), { title: 'Fixture report' }));
  const browser = await playwright.chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  assert.equal(await page.title(), 'Fixture report');
  assert.equal(await page.locator('.card .value').first().textContent(), '5');
  assert.equal(await page.locator('figure svg').count(), 4);
  assert.ok((await page.locator('svg rect.bar').count()) > 5);
  assert.equal(await page.locator('#surveys tbody tr').count(), 5);
  assert.equal(await page.locator('ol.claims li.supported').count(), 5);
  // A batch report starts with each survey's claims folded; a click unfolds them.
  const first = page.locator('ol.claims li').first();
  assert.equal(await first.isVisible(), false);
  await page.locator('#claims details summary').first().click();
  assert.equal(await first.isVisible(), true);
  const unsupported = page.locator('ol.claims li.unsupported').first();
  assert.match(await unsupported.textContent(), /Retrieval helps on arithmetic questions/);
  assert.match(await unsupported.locator('.evidence').textContent(), /Retrieval does not help on arithmetic questions/);
  const color = await unsupported.evaluate((el) => getComputedStyle(el).borderLeftColor);
  assert.equal(color, 'rgb(198, 40, 40)');
  assert.match(await page.locator('#claims').textContent(), /<script>alert\(3\)<\/script>/); // shown as text
  assert.deepEqual(dialogs, [], 'no script ran');
  assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'no network requests');
  const outDir = join(root, 'test-output');
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'report.png'), fullPage: true });
  assert.ok(readFileSync(join(outDir, 'report.png')).length > 10_000);
});

test('litsurvey eval scores files against the index and writes the report and JSON', async (t) => {
  const home = tempDir(t);
  const report = join(home, 'r.html');
  const json = join(home, 'r.json');
  const files = ['known-answers.md', 'no-citations.md', 'empty.md'].map((n) => join(surveysDir, n));
  const refs = join(home, 'refs.json');
  writeFileSync(refs, JSON.stringify({ reference_ids: ['fx:sparse', 'fx:facts'] }));
  const env = cliEnv(home, { LITSURVEY_CORPUS: join(surveysDir, 'papers.jsonl') });
  const r = await runCli(['eval', ...files, '--report', report, '--json', json, '--store', '--references', refs], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /known-answers\.md: fact score 50\.0% \(3\/6 claims\), citation precision 42\.9%/);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.length, 3);
  assert.equal(out[0].facts.factScore, 0.5);
  assert.deepEqual(out[0].quality.coverage.reference, { ids: 2, found: 1, recall: 0.5 });
  writeFileSync(refs, '{"reference_ids": [1, 2]}');
  const badRefs = await runCli(['eval', files[0], '--references', refs], env);
  assert.equal(badRefs.code, 2);
  assert.match(badRefs.stderr, /must hold a JSON array of paper ids/);
  const badThreshold = await runCli(['eval', files[0], '--threshold', '2'], env);
  assert.equal(badThreshold.code, 2);
  assert.match(readFileSync(report, 'utf8'), /Prefix caching stores the key-value blocks/);
  const usage = await runCli(['eval', '--judge', 'magic', files[0]], cliEnv(home));
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--judge: expected lexical or engine/);
  const missing = await runCli(['eval', join(home, 'nope.md')], cliEnv(home));
  assert.equal(missing.code, 2);
});
