// `litsurvey serve`: the web form, REST API and OpenAI-compatible API.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { startServer } from '../../server/serve.js';
import { UsageError, type Command } from '../command.js';
import { parsePositiveInt } from './search.js';

export const command: Command = {
  name: 'serve',
  summary: 'run the web service (form, REST API, OpenAI-compatible /v1)',
  help: `Usage: litsurvey serve [--host 127.0.0.1] [--port 8080] [--model FILE.gguf [--context N] [--sparse]] [--rate N] [--trust-proxy]

Serves the web form, the REST API, health and metrics, and — with a model — the
OpenAI-compatible API. Open the printed address in a browser: type a topic, watch the survey being
written, read it with clickable citations and fact-score marks, download .md/.bib/report.

  /                             the survey form; /jobs history; /index corpus counts and attribution
  POST /api/surveys             start a survey job ({topic, sections?, since?, until?, mode?})
  GET  /api/surveys[/:id]       job list / one job's state, progress, queue position, downloads
  GET  /api/surveys/:id/events  live progress (Server-Sent Events)
  DELETE /api/surveys/:id       cancel, at any stage
  GET  /api/surveys/:id/survey.md | survey.bib | report.html | survey.json   downloads
  POST /api/eval                score an uploaded Markdown survey
  GET  /api/search?q=…          hybrid search (k, since, until, category, venue, mode)
  GET  /api/openapi.json        the OpenAPI description of all of this
  GET  /healthz                 liveness and readiness (database, index)
  GET  /metrics                 Prometheus text: jobs by state, queue, engine tokens/s, rate limits
  GET  /v1/models, POST /v1/chat/completions, /v1/completions, /v1/embeddings   (with --model)

Survey jobs live in the SQLite database with leases: the CLI and the server can share it, queued
jobs and jobs whose worker died resume after a restart, and one job runs at a time per engine.

Options:
  --host H       address to listen on (default 127.0.0.1; use 0.0.0.0 behind a proxy)
  --port P       port (default 8080; 0 picks a free one)
  --model FILE   GGUF model for the engine (default: LITSURVEY_MODEL)
  --context N    positions the engine allocates (default: the model's training context, capped
                 at 4096); a long library needs more
  --sparse       InfLLM v2 block-sparse attention, also for models that do not declare it
                 (dense below 8192 tokens)
  --rate N       requests per second per client before 429 (default 20, burst 3×)
  --trust-proxy  take the client address from X-Forwarded-For when the peer is this machine
                 (nginx in front; see wrangler-free-deploy/)

Environment: LITSURVEY_TOKEN — when set, /api and /v1 need "Authorization: Bearer <token>"
(or the session cookie a browser gets by signing in).`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' }, model: { type: 'string' }, context: { type: 'string' }, sparse: { type: 'boolean', default: false }, rate: { type: 'string' }, 'trust-proxy': { type: 'boolean', default: false } },
    });
    const port = values.port === '0' ? 0 : parsePositiveInt('--port', values.port, 65535)!;
    const rate = parsePositiveInt('--rate', values.rate, 1_000_000);
    const contextSize = parsePositiveInt('--context', values.context, 1 << 20);
    const config = loadConfig();
    const model = values.model ?? config.model;
    if (!model && (contextSize || values.sparse)) throw new UsageError('--context and --sparse need a model (--model FILE or LITSURVEY_MODEL)');
    const server = await startServer(config, {
      host: values.host!,
      port,
      model,
      contextSize,
      sparse: values.sparse,
      token: process.env.LITSURVEY_TOKEN || undefined,
      trustProxy: values['trust-proxy'],
      limits: rate ? { rate, burst: rate * 3 } : undefined,
    });
    console.error(`litsurvey serving on ${server.url}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    console.error('shutting down…');
    await server.close();
    return 0;
  },
};
