// `litsurvey serve`: the web form, REST API and OpenAI-compatible API.
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config.js';
import { startServer } from '../../server/serve.js';
import type { Command } from '../command.js';
import { parsePositiveInt } from './search.js';

export const command: Command = {
  name: 'serve',
  summary: 'run the web service (form, REST API, OpenAI-compatible /v1)',
  help: `Usage: litsurvey serve [--host 127.0.0.1] [--port 8080] [--model FILE.gguf] [--rate N] [--trust-proxy]

Serves the search API, health and metrics, and — with a model — the OpenAI-compatible API:
  GET  /healthz                 liveness and readiness (database, index)
  GET  /metrics                 Prometheus text: jobs by state, queue, engine tokens/s, rate limits
  GET  /api/search?q=…          hybrid search (k, since, until, category, venue, mode)
  GET  /v1/models, POST /v1/chat/completions, /v1/completions, /v1/embeddings   (with --model)

Options:
  --host H       address to listen on (default 127.0.0.1; use 0.0.0.0 behind a proxy)
  --port P       port (default 8080; 0 picks a free one)
  --model FILE   GGUF model for the engine (default: LITSURVEY_MODEL)
  --rate N       requests per second per client before 429 (default 20, burst 3×)
  --trust-proxy  take the client address from X-Forwarded-For when the peer is this machine
                 (nginx in front; see wrangler-free-deploy/)

Environment: LITSURVEY_TOKEN — when set, /api and /v1 need "Authorization: Bearer <token>"
(or the session cookie a browser gets by signing in).`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' }, model: { type: 'string' }, rate: { type: 'string' }, 'trust-proxy': { type: 'boolean', default: false } },
    });
    const port = values.port === '0' ? 0 : parsePositiveInt('--port', values.port, 65535)!;
    const rate = parsePositiveInt('--rate', values.rate, 1_000_000);
    const config = loadConfig();
    const server = await startServer(config, {
      host: values.host!,
      port,
      model: values.model ?? config.model,
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
