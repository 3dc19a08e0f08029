// The web pages in Chromium (playwright-core): submit the form, follow live progress over SSE to
// the end, read the survey, follow a citation to its reference, open an abstract, download the
// Markdown and the report. Screenshots go to test-output/ (gitignored), including the form at
// phone width. Any script error or CSP violation on the pages fails the test.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../dist/config.js';
import { startServer } from '../../dist/server/serve.js';
import { cacheDir, root, tempDir } from '../helpers.js';

const playwright = await import('playwright-core').catch(() => null);
const skip = !playwright ? 'playwright-core is not installed' : !existsSync('/usr/bin/chromium') ? 'no /usr/bin/chromium (apt-get install -y chromium)' : false;
const shots = join(root, 'test-output');

test('browser: form → live progress → survey → citation → abstract → downloads → report', { skip, timeout: 240_000 }, async (t) => {
  mkdirSync(shots, { recursive: true });
  const home = tempDir(t);
  const config = loadConfig({ LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl'), LITSURVEY_CONFIG: join(home, 'none.json') });
  // A pause after each step, so the page has progress to show before the job is done.
  const s = await startServer(config, { host: '127.0.0.1', port: 0, log: () => {}, jobStepDelayMs: 250 });
  t.after(() => s.close());
  const browser = await playwright.chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.after(() => browser.close());
  const problems = [];
  const watch = (page) => {
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  };

  // The form at phone width: every control fits, nothing scrolls sideways.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const small = await phone.newPage();
  watch(small);
  await small.goto(`${s.url}/`);
  await small.screenshot({ path: join(shots, 'web-form-390.png'), fullPage: true });
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the form scrolls sideways by ${overflow}px at 390px`);
  await phone.close();

  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  watch(page);
  await page.goto(`${s.url}/`);
  await page.screenshot({ path: join(shots, 'web-form.png'), fullPage: true });
  // Keyboard: the topic field has a label and takes focus.
  await page.getByLabel('Topic').fill('neural machine translation');
  await page.getByLabel('Sections').fill('3');
  await page.getByLabel('From year').fill('2014');
  await Promise.all([page.waitForURL(/\/surveys\/[0-9a-f-]{36}$/), page.getByRole('button', { name: 'Write the survey' }).click()]);
  const jobUrl = page.url();

  // Live progress: the stage changes while running, then the result appears.
  const stages = new Set();
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    stages.add(await page.locator('#job-stage').textContent());
    if ((await page.locator('#job-state').textContent()) === 'done' && (await page.locator('#job-result').isVisible())) break;
    await page.waitForTimeout(100);
  }
  assert.equal(await page.locator('#job-state').textContent(), 'done');
  assert.ok(stages.size >= 3, `progress showed several stages: ${[...stages].join(' | ')}`);
  assert.ok((await page.locator('#job-events li').count()) >= 4, 'events are listed');
  assert.notEqual(await page.locator('#job-papers').textContent(), '–', 'papers retrieved are shown');
  await page.screenshot({ path: join(shots, 'web-job.png'), fullPage: true });

  await Promise.all([page.waitForURL(/\/survey$/), page.locator('#survey-link').click()]);
  await page.screenshot({ path: join(shots, 'web-survey.png'), fullPage: false });
  assert.ok((await page.locator('span.claim.supported, span.claim.unsupported').count()) > 2, 'claims carry verdicts');

  // A citation scrolls to its reference and highlights it.
  const cite = page.locator('article a.cite').nth(3);
  const href = await cite.getAttribute('href');
  await cite.click();
  const ref = page.locator(href);
  await assert.doesNotReject(ref.waitFor({ state: 'visible' }));
  assert.match(await ref.getAttribute('class'), /highlight/);
  assert.ok(await ref.isVisible());
  assert.ok(await ref.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }), 'the reference is in view');
  assert.ok(page.url().endsWith(href));

  // Its abstract opens from a disclosure.
  const abstract = ref.locator('details.abstract');
  assert.equal(await abstract.evaluate((d) => d.open), false);
  await abstract.locator('summary').click();
  assert.equal(await abstract.evaluate((d) => d.open), true);
  assert.ok((await abstract.locator('p').textContent()).length > 40);
  await page.screenshot({ path: join(shots, 'web-reference.png'), fullPage: false });

  // Downloads: the Markdown has the references; the report opens.
  const [md] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Markdown (.md)' }).click()]);
  assert.equal(md.suggestedFilename(), 'neural-machine-translation.md');
  const markdown = readFileSync(await md.path(), 'utf8');
  assert.match(markdown, /^---\n/);
  assert.match(markdown, /## References\n\n1\. /);
  const [report] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Evaluation report (.html)' }).click()]);
  assert.equal(report.suggestedFilename(), 'neural-machine-translation-report.html');
  const reportFile = join(home, 'report.html');
  await report.saveAs(reportFile);
  const reportPage = await context.newPage();
  await reportPage.goto(pathToFileURL(reportFile).href);
  assert.match(await reportPage.title(), /Evaluation/);
  await reportPage.screenshot({ path: join(shots, 'web-report.png'), fullPage: false });

  // History lists the job.
  await page.goto(`${s.url}/history`);
  assert.equal(await page.locator(`a[href="${new URL(jobUrl).pathname}"]`).count(), 1);
  await page.screenshot({ path: join(shots, 'web-history.png'), fullPage: true });
  await page.goto(`${s.url}/corpus`);
  await page.screenshot({ path: join(shots, 'web-index.png'), fullPage: true });

  assert.deepEqual(problems, []);
});
