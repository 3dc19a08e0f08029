// Server-rendered pages: the survey form, a job's live progress, the survey itself, the job
// history, the index's contents and attribution, and sign-in. No front-end build: app.js and
// app.css are served from a fixed allow-list (nothing from the URL reaches the file system).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { packageRoot } from '../../config.js';
import { describeEmbedder } from '../../index/embedder.js';
import type { PaperIndex } from '../../index/paper-index.js';
import type { JobRow } from '../../pipeline/jobs.js';
import type { LibraryOutput } from '../../pipeline/types.js';
import { safeEqual, SESSION_COOKIE, SESSION_SECONDS, type Auth } from '../auth.js';
import { checkCsrfToken, csrfToken, CSRF_FIELD, isHttps, sameOrigin } from '../csrf.js';
import { surveyHtml, type PaperAbstract } from '../markdown.js';
import { HttpProblem } from '../problem.js';
import { html, page, raw, type RawHtml } from '../views.js';
import type { SurveyWorker } from '../worker.js';
import { createJob, jobIdParam, jobLinks, jobView, MAX_TOPIC, MAX_YEAR, MIN_YEAR, surveyOf, surveyOptions, type SurveyInput } from './surveys-api.js';

export interface PagesDeps {
  worker: SurveyWorker;
  index: PaperIndex;
  auth: Auth;
  modelPath?: string;
  trustProxy?: boolean;
}

/** The only files served under /assets/, read once. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
const assetCache = new Map<string, string>();

function asset(name: string): string {
  let body = assetCache.get(name);
  if (body === undefined) {
    body = readFileSync(join(packageRoot, 'templates', 'static', ASSETS[name]!.file), 'utf8');
    assetCache.set(name, body);
  }
  return body;
}

const HISTORY_PAGE = 25;
const STATS_TTL_MS = 60_000;

interface IndexStats {
  papers: number;
  byYear: [string, number][];
  bySource: [string, number][];
  embedder: string;
  revision: number;
  updatedAt: string | null;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const when = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** A form field as a string ('' when absent or a file). */
function field(form: Record<string, unknown>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

function optionalInt(form: Record<string, unknown>, name: string): number | undefined {
  const v = field(form, name).trim();
  if (!v) return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new HttpProblem(400, 'Bad Request', `"${name}" must be a whole number`);
  return Number(v);
}

/** Only local paths: never another site, never a scheme. */
function localPath(next: string | undefined): string {
  return next && /^\/(?![/\\])[\w\-./?=&%]*$/.test(next) ? next : '/';
}

export function pageRoutes(deps: PagesDeps): Hono {
  const { worker, auth } = deps;
  const app = new Hono();
  let stats: { at: number; value: Promise<IndexStats> } | null = null;

  const signedIn = (c: Context) => auth.allows(c.req.header('authorization'), getCookie(c, SESSION_COOKIE));
  /** With a token, pages need a session: browsers are sent to the sign-in form. */
  const pageAuth: MiddlewareHandler = async (c, next) => {
    if (signedIn(c)) return next();
    if (c.req.method === 'GET') return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
    throw new HttpProblem(401, 'Unauthorized', 'sign in at /login first');
  };
  const htmlPage = (c: Context, body: string, status: 200 | 400 | 404 | 409 = 200) => {
    c.header('cache-control', 'no-store');
    return c.html(body, status);
  };

  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    if (!Object.hasOwn(ASSETS, name)) throw new HttpProblem(404, 'Not Found', 'no such asset');
    return c.body(asset(name), 200, { 'content-type': ASSETS[name]!.type, 'cache-control': 'public, max-age=300' });
  });

  app.get('/login', (c) => {
    if (!auth.enabled) return c.redirect('/', 303);
    return htmlPage(c, page('login', { csrf: csrfToken(c, deps.trustProxy ?? false), csrfField: CSRF_FIELD, next: localPath(c.req.query('next')), error: '' }, { title: 'Sign in' }));
  });

  app.post('/login', sameOrigin, async (c) => {
    if (!auth.enabled) return c.redirect('/', 303);
    const form = await c.req.parseBody();
    checkCsrfToken(c, form[CSRF_FIELD]);
    const next = localPath(field(form, 'next'));
    if (!safeEqual(field(form, 'token'), auth.token!)) {
      const body = page('login', { csrf: csrfToken(c, deps.trustProxy ?? false), csrfField: CSRF_FIELD, next, error: raw(html`<p class="error" role="alert">That token is not right.</p>`.html) }, { title: 'Sign in' });
      return c.html(body, 401);
    }
    setCookie(c, SESSION_COOKIE, auth.newSession(), { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c, deps.trustProxy ?? false), maxAge: SESSION_SECONDS });
    return c.redirect(next, 303);
  });

  app.use('/', pageAuth);
  app.use('/surveys', pageAuth);
  app.use('/surveys/*', pageAuth);
  app.use('/history', pageAuth);
  app.use('/corpus', pageAuth);

  const formPage = (c: Context, values: Partial<Record<'topic' | 'sections' | 'since' | 'until' | 'mode', string>>, error?: string) =>
    page(
      'form',
      {
        csrf: csrfToken(c, deps.trustProxy ?? false),
        csrfField: CSRF_FIELD,
        topic: values.topic ?? '',
        maxTopic: MAX_TOPIC,
        sections: values.sections ?? '6',
        since: values.since ?? '',
        until: values.until ?? '',
        minYear: MIN_YEAR,
        maxYear: MAX_YEAR,
        error: error ? raw(html`<p class="error" role="alert" id="form-error">${error}</p>`.html) : '',
        modes: raw(
          html`<label><input type="radio" name="mode" value="extractive"${raw(deps.modelPath && values.mode !== 'extractive' ? '' : ' checked')}> Extractive (no model: sentences from the cited abstracts)</label>${
            deps.modelPath
              ? html`<label><input type="radio" name="mode" value="engine"${raw(values.mode === 'extractive' ? '' : ' checked')}> Engine (written by the loaded model)</label>`
              : html`<p class="hint">Engine mode needs a model: start the server with <code>--model FILE.gguf</code>.</p>`
          }`.html,
        ),
      },
      { title: 'New survey', nav: 'new' },
    );

  app.get('/', (c) => htmlPage(c, formPage(c, {})));

  app.post('/surveys', sameOrigin, async (c) => {
    const form = await c.req.parseBody();
    checkCsrfToken(c, form[CSRF_FIELD]);
    const values = { topic: field(form, 'topic'), sections: field(form, 'sections'), since: field(form, 'since'), until: field(form, 'until'), mode: field(form, 'mode') };
    let input: SurveyInput;
    let id: string;
    try {
      input = { topic: values.topic, sections: optionalInt(form, 'sections'), since: optionalInt(form, 'since'), until: optionalInt(form, 'until'), mode: values.mode || undefined };
      id = createJob(worker, surveyOptions(input, deps.modelPath));
    } catch (e) {
      if (e instanceof HttpProblem && e.status < 500) return htmlPage(c, formPage(c, values, e.message), 400);
      throw e;
    }
    return c.redirect(`/surveys/${id}`, 303);
  });

  const jobRow = (c: Context): JobRow => {
    const row = worker.store.get(jobIdParam(c));
    if (!row) throw new HttpProblem(404, 'Not Found', 'no such survey job');
    return row;
  };

  app.get('/surveys/:id', (c) => {
    const row = jobRow(c);
    const view = jobView(worker, row);
    const links = jobLinks(row.id);
    const p = view.progress;
    const done = row.state === 'done';
    return htmlPage(
      c,
      page(
        'job',
        {
          topic: row.topic,
          state: row.state,
          mode: view.mode,
          stage: p ? `${p.stage}${p.state === 'done' ? ' (done)' : ''}` : row.state === 'queued' ? 'waiting' : '–',
          detail: p?.detail ?? '',
          position: view.position ?? '–',
          progressValue: p?.total ? String(p.done ?? 0) : '',
          progressMax: p?.total ? String(p.total) : '1',
          error: row.error ?? '',
          created: when(row.created_at),
          surveyLink: links.survey,
          resultHidden: raw(done ? '' : ' hidden'),
          cancelHidden: raw(row.state === 'queued' || row.state === 'running' ? '' : ' hidden'),
          csrf: csrfToken(c, deps.trustProxy ?? false),
          csrfField: CSRF_FIELD,
          cancelAction: `/surveys/${row.id}/cancel`,
          downloads: raw(downloadList(row.id).html),
        },
        { title: `Job: ${row.topic}`, mainAttrs: html` data-job="${row.id}" data-events="${links.events}" data-state="${row.state}"` },
      ),
    );
  });

  app.post('/surveys/:id/cancel', sameOrigin, async (c) => {
    const row = jobRow(c);
    const form = await c.req.parseBody();
    checkCsrfToken(c, form[CSRF_FIELD]);
    worker.cancel(row.id);
    return c.redirect(`/surveys/${row.id}`, 303);
  });

  app.get('/surveys/:id/survey', async (c) => {
    const row = jobRow(c);
    if (row.state !== 'done') return c.redirect(`/surveys/${row.id}`, 303);
    const survey = surveyOf(worker, row.id);
    const evaluation = await worker.evaluation(row.id).catch(() => null);
    const library = worker.store.stepOutput<LibraryOutput>(row.id, 'library');
    const papers = new Map<string, PaperAbstract>((library?.papers ?? []).map((p) => [p.id, { title: p.title, abstract: p.abstract }]));
    const verdicts = evaluation?.facts.claims.map((cl) => ({ text: cl.text, supported: cl.supported, score: cl.score })) ?? [];
    const facts = evaluation?.facts;
    const summary = facts
      ? html`<p class="facts">Fact score <strong>${facts.factScore === null ? '–' : `${(facts.factScore * 100).toFixed(1)}%`}</strong>: ${facts.supported} of ${facts.claims.length} cited sentences are supported by their cited abstracts (${facts.judge} judge).${
          evaluation!.verbatimDerived ? ' This survey was written in extractive mode: its cited sentences are copied from the abstracts, so the score says little about a writer.' : ''
        } <span class="legend"><span class="claim supported">supported</span> <span class="claim unsupported">not supported</span></span></p>`
      : html`<p class="facts">The fact score could not be computed.</p>`;
    return htmlPage(
      c,
      page(
        'survey',
        { title: survey.title || survey.topic, topic: survey.topic, mode: survey.mode, summary: raw(summary.html), downloads: raw(downloadList(row.id).html), jobLink: `/surveys/${row.id}`, body: raw(surveyHtml(survey.markdown, { papers, verdicts, judge: facts?.judge })) },
        { title: survey.title || survey.topic },
      ),
    );
  });

  app.get('/history', (c) => {
    const n = Number(c.req.query('page') ?? '1');
    const pageNo = Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : 1;
    const total = (worker.store.db.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'survey'").get() as { n: number }).n;
    const rows = worker.store.db.prepare("SELECT * FROM jobs WHERE kind = 'survey' ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?").all(HISTORY_PAGE, (pageNo - 1) * HISTORY_PAGE) as JobRow[];
    const body = rows.length
      ? html`<table><caption class="visually-hidden">Survey jobs, newest first</caption><thead><tr><th scope="col">Topic</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Survey</th></tr></thead><tbody>${rows.map(
          (r) =>
            html`<tr><td><a href="/surveys/${r.id}">${r.topic}</a></td><td><span class="state state-${r.state}">${r.state}</span></td><td>${when(r.created_at)}</td><td>${r.state === 'done' ? html`<a href="/surveys/${r.id}/survey">read</a> · <a href="/api/surveys/${r.id}/survey.md">.md</a>` : '–'}</td></tr>`,
        )}</tbody></table>`
      : html`<p>No surveys yet. <a href="/">Write the first one.</a></p>`;
    const pages = Math.max(1, Math.ceil(total / HISTORY_PAGE));
    const nav = html`<nav class="pager" aria-label="History pages">${pageNo > 1 ? html`<a href="/history?page=${pageNo - 1}" rel="prev">Newer</a>` : ''} <span>Page ${pageNo} of ${pages}</span> ${pageNo < pages ? html`<a href="/history?page=${pageNo + 1}" rel="next">Older</a>` : ''}</nav>`;
    return htmlPage(c, page('history', { total: fmt(total), table: raw(body.html), pager: raw(nav.html) }, { title: 'History', nav: 'history' }));
  });

  app.get('/corpus', async (c) => {
    if (!stats || Date.now() - stats.at > STATS_TTL_MS) {
      stats = { at: Date.now(), value: indexStats(deps.index) };
      stats.value.catch(() => (stats = null));
    }
    const s = await stats.value;
    const rows = (list: [string, number][]) => list.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${fmt(v)}</td></tr>`);
    return htmlPage(
      c,
      page(
        'index-info',
        { papers: fmt(s.papers), embedder: s.embedder, revision: s.revision, updated: s.updatedAt && Number.isFinite(Date.parse(s.updatedAt)) ? when(Date.parse(s.updatedAt)) : '–', byYear: raw(html`${rows(s.byYear)}`.html), bySource: raw(html`${rows(s.bySource)}`.html) },
        { title: 'Index', nav: 'index' },
      ),
    );
  });

  return app;
}

function downloadList(id: string): RawHtml {
  const l = jobLinks(id);
  return html`<ul class="downloads"><li><a href="${l.markdown}" download>Markdown (.md)</a></li><li><a href="${l.bibtex}" download>BibTeX (.bib)</a></li><li><a href="${l.report}" download>Evaluation report (.html)</a></li><li><a href="${l.json}" download>Everything (.json)</a></li></ul>`;
}

/** Counts by year and source (what `litsurvey index stats` prints). */
async function indexStats(index: PaperIndex): Promise<IndexStats> {
  if (!index.exists) return { papers: 0, byYear: [], bySource: [], embedder: 'none', revision: 0, updatedAt: null };
  const { papers, byYear, bySource } = await index.counts();
  return {
    papers,
    byYear: [...byYear].sort((a, b) => b[0].localeCompare(a[0])),
    bySource: [...bySource].sort((a, b) => b[1] - a[1]).slice(0, 30),
    embedder: index.meta?.embedder ? describeEmbedder(index.meta.embedder) : 'unknown',
    revision: index.meta?.revision ?? 0,
    updatedAt: index.meta?.updatedAt ?? null,
  };
}

