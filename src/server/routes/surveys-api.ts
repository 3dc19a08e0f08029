// The survey jobs REST API: create, inspect, stream (SSE), cancel and list jobs; download a
// finished survey as Markdown, BibTeX, HTML report or JSON; score an uploaded survey.
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EngineSpec } from '../../engine/select.js';
import type { PaperIndex } from '../../index/paper-index.js';
import { evaluateSurvey, metricRows } from '../../metrics/evaluate.js';
import { LexicalJudge } from '../../metrics/judge-lexical.js';
import { indexSource } from '../../metrics/papers.js';
import { SifEmbedder } from '../../index/sif-embedder.js';
import { loadWordVectors } from '../../index/word-vectors.js';
import type { JobRow } from '../../pipeline/jobs.js';
import { DEFAULT_REQUEST, type SurveyJobOptions } from '../../pipeline/run-survey.js';
import { renderReport } from '../../report/render.js';
import { HttpProblem } from '../problem.js';
import { bad, jsonBody, type Json } from '../validate.js';
import { FINAL_STATES, type SurveyWorker } from '../worker.js';

export interface SurveysDeps {
  worker: SurveyWorker;
  index: PaperIndex;
  cacheDir: string;
  /** The loaded model file (engine mode is offered only with one). */
  modelPath?: string;
  maxUpload: number;
}

export const MAX_TOPIC = 300;
export const MIN_YEAR = 1900;
export const MAX_YEAR = 2100;
/** Event streams poll the database this often, so jobs run by another process stream too. */
export const EVENT_POLL_MS = 250;
const KEEPALIVE_MS = 15_000;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SurveyInput {
  topic: string;
  sections?: number;
  since?: number;
  until?: number;
  mode?: string;
}

/** Checks a survey request (from JSON or the form) and turns it into job options. */
export function surveyOptions(input: SurveyInput, modelPath: string | undefined): SurveyJobOptions {
  const topic = input.topic.replace(/\s+/g, ' ').trim();
  if (!topic) throw bad('"topic" is required');
  if (topic.length > MAX_TOPIC) throw bad(`"topic" is longer than ${MAX_TOPIC} characters`);
  const int = (name: string, v: number | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min || v > max) throw bad(`"${name}" must be an integer from ${min} to ${max}`);
    return v;
  };
  const sections = int('sections', input.sections, 2, 12) ?? DEFAULT_REQUEST.sections;
  const since = int('since', input.since, MIN_YEAR, MAX_YEAR);
  const until = int('until', input.until, MIN_YEAR, MAX_YEAR);
  if (since !== undefined && until !== undefined && since > until) throw bad(`"since" (${since}) is after "until" (${until})`);
  const mode = input.mode ?? (modelPath ? 'engine' : 'extractive');
  if (mode !== 'extractive' && mode !== 'engine') throw bad('"mode" must be "extractive" or "engine"');
  if (mode === 'engine' && !modelPath) throw new HttpProblem(409, 'Conflict', 'engine mode needs a model: start the server with --model FILE.gguf');
  const engine: EngineSpec | null = mode === 'engine' ? { backend: 'native', model: modelPath! } : null;
  return { request: { ...DEFAULT_REQUEST, topic, sections, filters: { since, until } }, engine };
}

/** A job id from the URL: only the exact UUID form names a job (no prefixes, no paths). */
export function jobIdParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!JOB_ID.test(id)) throw new HttpProblem(404, 'Not Found', 'no such survey job');
  return id;
}

export function jobLinks(id: string) {
  const api = `/api/surveys/${id}`;
  return { self: api, events: `${api}/events`, page: `/surveys/${id}`, survey: `/surveys/${id}/survey`, markdown: `${api}/survey.md`, bibtex: `${api}/survey.bib`, report: `${api}/report.html`, json: `${api}/survey.json` };
}

export interface StageProgress {
  stage: string;
  state: string;
  done?: number;
  total?: number;
  detail?: string;
}

export function lastProgress(worker: SurveyWorker, id: string): StageProgress | null {
  const row = worker.store.db.prepare("SELECT data FROM job_events WHERE job_id = ? AND type = 'stage' ORDER BY id DESC LIMIT 1").get(id) as { data: string } | undefined;
  return row ? (JSON.parse(row.data) as StageProgress) : null;
}

function jobMode(row: JobRow): 'engine' | 'extractive' {
  try {
    return (JSON.parse(row.options) as SurveyJobOptions).engine ? 'engine' : 'extractive';
  } catch {
    return 'extractive';
  }
}

/** A job as the API shows it. */
export function jobView(worker: SurveyWorker, row: JobRow) {
  const events = worker.store.db.prepare("SELECT type, at FROM job_events WHERE job_id = ? AND type IN ('claimed', 'done', 'failed', 'cancelled') ORDER BY id").all(row.id) as { type: string; at: number }[];
  const started = events.find((e) => e.type === 'claimed')?.at ?? null;
  const finished = FINAL_STATES.has(row.state) ? (events.filter((e) => e.type !== 'claimed').pop()?.at ?? row.updated_at) : null;
  // Step names and times only: step outputs (the library's abstracts) are large.
  const stepRows = worker.store.db.prepare('SELECT step, finished_at FROM job_steps WHERE job_id = ? ORDER BY finished_at, rowid').all(row.id) as { step: string; finished_at: number }[];
  const steps = stepRows.map((s) => ({ step: s.step, finishedAt: new Date(s.finished_at).toISOString() }));
  return {
    id: row.id,
    topic: row.topic,
    mode: jobMode(row),
    state: row.state,
    step: row.step,
    error: row.error,
    position: worker.position(row.id),
    progress: lastProgress(worker, row.id),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    timings: { queuedMs: started !== null ? started - row.created_at : null, runMs: started !== null && finished !== null ? finished - started : null, steps },
    links: jobLinks(row.id),
  };
}

export function createJob(worker: SurveyWorker, options: SurveyJobOptions): string {
  const id = worker.store.create(options.request.topic, options);
  worker.tick();
  return id;
}

interface SurveyRow {
  topic: string;
  title: string;
  mode: string;
  markdown: string;
  bibtex: string | null;
  front_matter: string | null;
  created_at: number;
}

export function surveyOf(worker: SurveyWorker, id: string): SurveyRow {
  const row = worker.store.db.prepare('SELECT topic, title, mode, markdown, bibtex, front_matter, created_at FROM surveys WHERE job_id = ? ORDER BY created_at DESC LIMIT 1').get(id) as SurveyRow | undefined;
  if (!row) {
    if (!worker.store.get(id)) throw new HttpProblem(404, 'Not Found', 'no such survey job');
    throw new HttpProblem(409, 'Conflict', 'the survey is not written yet; wait for the job to finish', { state: worker.store.get(id)!.state });
  }
  return row;
}

/** A file name for downloads: the topic, reduced to safe characters. */
export function fileStem(topic: string): string {
  return (
    topic
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'survey'
  );
}

function download(c: Context, body: string, type: string, name: string): Response {
  return c.body(body, 200, { 'content-type': type, 'content-disposition': `attachment; filename="${name}"`, 'cache-control': 'no-store' });
}

/** The text of an uploaded survey: a text/markdown body, or the first file of a multipart form. */
async function uploadedMarkdown(c: Context, maxUpload: number): Promise<string> {
  const type = c.req.header('content-type') ?? '';
  let text: string;
  if (/^multipart\/form-data\b/i.test(type)) {
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw bad('the multipart body could not be read');
    }
    const file = form.get('survey') ?? [...form.values()].find((v) => typeof v !== 'string');
    if (file === null || file === undefined) throw bad('send the survey as a form field "survey"');
    if (typeof file !== 'string' && file.size > maxUpload) throw new HttpProblem(413, 'Payload Too Large', `surveys are limited to ${maxUpload} bytes`);
    text = typeof file === 'string' ? file : await file.text();
  } else if (/^text\/(markdown|plain)\b/i.test(type)) {
    text = await c.req.text();
  } else throw new HttpProblem(415, 'Unsupported Media Type', 'send the survey as text/markdown or as multipart/form-data with a field "survey"');
  if (Buffer.byteLength(text) > maxUpload) throw new HttpProblem(413, 'Payload Too Large', `surveys are limited to ${maxUpload} bytes`);
  if (!text.trim()) throw bad('the survey is empty');
  return text;
}

function num(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw bad(`"${name}" must be a number`);
  return v;
}

export function surveysApi(deps: SurveysDeps): Hono {
  const { worker } = deps;
  const app = new Hono();

  app.post('/surveys', async (c) => {
    const body: Json = await jsonBody(c.req);
    if (typeof body.topic !== 'string') throw bad('"topic" is required and must be a string');
    if (body.mode !== undefined && typeof body.mode !== 'string') throw bad('"mode" must be a string');
    const options = surveyOptions({ topic: body.topic, sections: num(body.sections, 'sections'), since: num(body.since, 'since'), until: num(body.until, 'until'), mode: body.mode as string | undefined }, deps.modelPath);
    const id = createJob(worker, options);
    const row = worker.store.get(id)!;
    c.header('location', `/api/surveys/${id}`);
    return c.json({ id, state: row.state, position: worker.position(id), links: jobLinks(id) }, 202);
  });

  app.get('/surveys', (c) => {
    const page = Number(c.req.query('page') ?? '1');
    const perPage = Number(c.req.query('per_page') ?? '20');
    if (!Number.isInteger(page) || page < 1 || page > 1_000_000) throw bad('"page" must be a positive integer');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) throw bad('"per_page" must be an integer from 1 to 100');
    const total = (worker.store.db.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'survey'").get() as { n: number }).n;
    const rows = worker.store.db.prepare("SELECT * FROM jobs WHERE kind = 'survey' ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?").all(perPage, (page - 1) * perPage) as JobRow[];
    return c.json({ page, perPage, total, items: rows.map((r) => jobView(worker, r)) });
  });

  app.get('/surveys/:id', (c) => {
    const id = jobIdParam(c);
    const row = worker.store.get(id);
    if (!row) throw new HttpProblem(404, 'Not Found', 'no such survey job');
    return c.json(jobView(worker, row));
  });

  app.delete('/surveys/:id', (c) => {
    const id = jobIdParam(c);
    const before = worker.store.get(id);
    if (!before) throw new HttpProblem(404, 'Not Found', 'no such survey job');
    if (before.state === 'done') throw new HttpProblem(409, 'Conflict', 'the job is already done', { state: before.state });
    const state = worker.cancel(id);
    return c.json({ id, state }, 202);
  });

  app.get('/surveys/:id/events', (c) => {
    const id = jobIdParam(c);
    if (!worker.store.get(id)) throw new HttpProblem(404, 'Not Found', 'no such survey job');
    const resumeFrom = Number(c.req.header('last-event-id') ?? '0');
    c.header('cache-control', 'no-store');
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, async (stream) => {
      let lastId = Number.isSafeInteger(resumeFrom) && resumeFrom > 0 ? resumeFrom : 0;
      let lastPosition: number | null | undefined;
      let lastWrite = Date.now();
      const closed = () => stream.aborted || stream.closed || worker.closing.signal.aborted;
      const select = worker.store.db.prepare('SELECT id, type, at, data FROM job_events WHERE job_id = ? AND id > ? ORDER BY id LIMIT 500');
      while (!closed()) {
        const rows = select.all(id, lastId) as { id: number; type: string; at: number; data: string }[];
        for (const r of rows) {
          await stream.writeSSE({ id: String(r.id), event: r.type, data: JSON.stringify({ type: r.type, at: new Date(r.at).toISOString(), ...(JSON.parse(r.data) as object) }) });
          lastId = r.id;
          lastWrite = Date.now();
        }
        if (rows.length === 500) continue;
        const row = worker.store.get(id);
        if (!row) break;
        const position = worker.position(id);
        // Queue positions only mean something before the end; a finished job's stream ends with 'done', 'end'.
        if (position !== lastPosition && !FINAL_STATES.has(row.state)) {
          await stream.writeSSE({ event: 'queue', data: JSON.stringify({ type: 'queue', state: row.state, position }) });
          lastPosition = position;
          lastWrite = Date.now();
        }
        if (FINAL_STATES.has(row.state)) {
          // A state change always comes with its event row; re-read once so none is missed.
          const tail = select.all(id, lastId) as { id: number; type: string; at: number; data: string }[];
          if (tail.length === 0) {
            await stream.writeSSE({ event: 'end', data: JSON.stringify({ type: 'end', state: row.state, error: row.error, links: jobLinks(id) }) });
            break;
          }
          continue;
        }
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          await stream.write(': keepalive\n\n');
          lastWrite = Date.now();
        }
        await stream.sleep(EVENT_POLL_MS);
      }
    });
  });

  app.get('/surveys/:id/survey.md', (c) => {
    const s = surveyOf(worker, jobIdParam(c));
    return download(c, s.markdown, 'text/markdown; charset=utf-8', `${fileStem(s.topic)}.md`);
  });

  app.get('/surveys/:id/survey.bib', (c) => {
    const s = surveyOf(worker, jobIdParam(c));
    return download(c, s.bibtex ?? '', 'application/x-bibtex; charset=utf-8', `${fileStem(s.topic)}.bib`);
  });

  app.get('/surveys/:id/report.html', async (c) => {
    const id = jobIdParam(c);
    const s = surveyOf(worker, id);
    const e = await worker.evaluation(id);
    return download(c, renderReport([e], { subtitle: `litsurvey job ${id}` }), 'text/html; charset=utf-8', `${fileStem(s.topic)}-report.html`);
  });

  app.get('/surveys/:id/survey.json', async (c) => {
    const id = jobIdParam(c);
    const s = surveyOf(worker, id);
    const e = await worker.evaluation(id);
    const body = {
      id,
      topic: s.topic,
      title: s.title,
      mode: s.mode,
      createdAt: new Date(s.created_at).toISOString(),
      frontMatter: s.front_matter ? (JSON.parse(s.front_matter) as unknown) : null,
      markdown: s.markdown,
      bibtex: s.bibtex,
      metrics: Object.fromEntries(metricRows(e).map((m) => [m.name, m.value])),
      claims: e.facts.claims.map((cl) => ({ section: cl.section, text: cl.text, paperIds: cl.paperIds, supported: cl.supported, score: cl.score })),
    };
    return download(c, JSON.stringify(body, null, 2), 'application/json; charset=utf-8', `${fileStem(s.topic)}.json`);
  });

  app.post('/eval', async (c) => {
    const markdown = await uploadedMarkdown(c, deps.maxUpload);
    const e = await evaluateSurvey(markdown, {
      source: indexSource(deps.index),
      judge: new LexicalJudge({ vectors: loadWordVectors(deps.cacheDir) }),
      embedder: new SifEmbedder(deps.cacheDir),
      name: 'upload',
      citationAnalysis: true,
    });
    return c.json({
      title: e.title,
      topic: e.topic,
      mode: e.mode,
      judge: e.facts.judge,
      factScore: e.facts.factScore,
      claims: e.facts.claims.length,
      supported: e.facts.supported,
      metrics: Object.fromEntries(metricRows(e).map((m) => [m.name, m.value])),
      problems: e.problems,
      unknownReferences: e.unknownReferences,
      verdicts: e.facts.claims.map((cl) => ({ section: cl.section, text: cl.text, supported: cl.supported, score: cl.score })),
    });
  });

  return app;
}
