// Starts the HTTP server: opens the store and index, loads the model if one is configured,
// and shuts down cleanly on SIGINT/SIGTERM.
import { serve, type ServerType } from '@hono/node-server';
import { basename, resolve } from 'node:path';
import type { Hono } from 'hono';
import type { Config } from '../config.js';
import { openIndex } from '../corpus/default-index.js';
import { NativeEngine } from '../engine/engine.js';
import { EngineScheduler } from '../engine/scheduler.js';
import { createEmbedder, DEFAULT_EMBEDDER } from '../index/embedders.js';
import { ForegroundGate } from '../index/foreground-gate.js';
import { openDb } from '../store/db.js';
import { JobStore } from '../pipeline/jobs.js';
import { createApp, type AppContext, type ServerLimits } from './app.js';
import { mountSurveyRoutes } from './web.js';
import { SurveyWorker } from './worker.js';

export interface ServeOptions {
  host: string;
  port: number;
  model?: string;
  /** Native engine: positions to allocate (default: the model's training context, capped at 4096). */
  contextSize?: number;
  /** Native engine: force InfLLM v2 block-sparse attention on (default: as the model file declares). */
  sparse?: boolean;
  token?: string;
  trustProxy?: boolean;
  limits?: Partial<ServerLimits>;
  log?: (line: string) => void;
  mount?: (app: Hono, ctx: AppContext) => void;
  /** Run queued survey jobs in this process (default true). */
  worker?: boolean;
  /** Pause after each stored job step (tests and demos watch progress with it). */
  jobStepDelayMs?: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const db = openDb(config.dbPath);
  const embedder = createEmbedder(DEFAULT_EMBEDDER, config.cacheDir);
  const { index, built } = await openIndex(config, embedder, { onBuildStart: (c) => log(`building the paper index from ${c.join(', ')} (once)…`) });
  if (built) log(`indexed ${built.rows.toLocaleString('en-US')} papers in ${built.seconds.toFixed(1)} s`);
  // Searches read their Rocchio feedback vectors from memory (and survey threads share this copy).
  if (index.exists) await index.keepVectorsResident();
  let engine: NativeEngine | undefined;
  if (opts.model) {
    log(`loading ${opts.model}…`);
    engine = await NativeEngine.load(opts.model, { contextSize: opts.contextSize, ...(opts.sparse ? { sparse: true } : {}) });
  }
  const scheduler = engine ? new EngineScheduler(engine) : undefined;
  const gate = new ForegroundGate();
  const worker = new SurveyWorker({ store: new JobStore(db), dbPath: config.dbPath, index, embedder, cacheDir: config.cacheDir, scheduler, log, stepDelayMs: opts.jobStepDelayMs, gate });
  const mount = (app: Hono, ctx: AppContext) => {
    mountSurveyRoutes(app, ctx, { worker, index, cacheDir: config.cacheDir, modelPath: opts.model ? resolve(opts.model) : undefined, trustProxy: opts.trustProxy });
    opts.mount?.(app, ctx);
  };
  const app = createApp({ db, index, embedder, gate, scheduler, modelId: opts.model ? basename(opts.model) : undefined, token: opts.token, trustProxy: opts.trustProxy, limits: opts.limits, mount });
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  if (opts.worker !== false) worker.start();
  return {
    url,
    close: async () => {
      await worker.stop();
      await new Promise<void>((res) => server.close(() => res()));
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await engine?.close();
      db.close();
    },
  };
}
