// The HTTP application: security middleware, then the API, OpenAI-compatible, ops and page routes.
import { Hono, type MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import type { Engine } from '../engine/types.js';
import type { EngineScheduler } from '../engine/scheduler.js';
import type { Embedder } from '../index/embedder.js';
import { ForegroundGate } from '../index/foreground-gate.js';
import type { PaperIndex } from '../index/paper-index.js';
import type { Db } from '../store/db.js';
import { Auth, SESSION_COOKIE } from './auth.js';
import { HttpProblem, problemResponse, toProblem } from './problem.js';
import { RateLimiter } from './rate-limit.js';
import { openAiRoutes } from './routes/openai.js';
import { opsRoutes } from './routes/ops.js';
import { searchRoutes } from './routes/search-api.js';

export interface ServerLimits {
  /** Requests per second per client, and burst. */
  rate: number;
  burst: number;
  /** Largest JSON body, bytes. */
  maxBody: number;
  /** Largest uploaded survey, bytes. */
  maxUpload: number;
  /** Longest generation an API caller may ask for, tokens. */
  maxTokens: number;
}

export const defaultLimits: ServerLimits = { rate: 20, burst: 60, maxBody: 1 << 20, maxUpload: 4 << 20, maxTokens: 2048 };

export interface ServerDeps {
  db: Db;
  index: PaperIndex;
  embedder: Embedder;
  /** Present when a model is loaded. */
  scheduler?: EngineScheduler;
  modelId?: string;
  token?: string;
  limits?: Partial<ServerLimits>;
  /** Use X-Forwarded-For from a proxy on this machine as the client address (rate limits). */
  trustProxy?: boolean;
  /** Counts API searches in flight; survey threads' searches wait for them (default: a new one). */
  gate?: ForegroundGate;
  /** Extra route groups mounted by later layers (jobs, pages), in order. */
  mount?: (app: Hono, ctx: AppContext) => void;
}

export interface AppContext {
  auth: Auth;
  limits: ServerLimits;
  limiter: RateLimiter;
  /** Marks routes that the token (when set) protects. */
  requireAuth: MiddlewareHandler;
  interactiveEngine?: Engine;
}

/** The client's address; behind a trusted local proxy (nginx), the address it forwarded. */
export function clientKey(c: Parameters<MiddlewareHandler>[0], trustProxy = false): string {
  let peer = 'unknown';
  try {
    peer = getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // not a node socket (tests calling app.fetch directly)
  }
  if (trustProxy && /^(127\.|::1$|::ffff:127\.)/.test(peer)) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  return peer;
}

/**
 * Refuses bodies over `maxSize` bytes. GET and HEAD are passed by: no route reads their bodies, and
 * looking for one makes @hono/node-server build a full fetch Request for every search.
 */
function bodyLimitUnlessGet(maxSize: number): MiddlewareHandler {
  const limit = bodyLimit({ maxSize, onError: (c) => problemResponse(c, 413, 'Payload Too Large', `bodies are limited to ${maxSize} bytes`) });
  return (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next));
}

export function createApp(deps: ServerDeps): Hono {
  const limits = { ...defaultLimits, ...deps.limits };
  const auth = new Auth(deps.token);
  const limiter = new RateLimiter(limits.rate, limits.burst);
  const startedAt = Date.now();
  const app = new Hono();

  app.onError((err, c) => toProblem(c, err));
  app.notFound((c) => problemResponse(c, 404, 'Not Found', `nothing at ${c.req.path}`));

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: 'same-origin',
      crossOriginResourcePolicy: 'same-origin',
    }),
  );
  app.use('*', async (c, next) => {
    if (c.req.path === '/healthz') return next();
    const ok = limiter.take(clientKey(c, deps.trustProxy));
    if (ok !== true) return problemResponse(c, 429, 'Too Many Requests', `rate limit of ${limits.rate} requests per second exceeded`, { retryAfter: ok });
    return next();
  });
  app.use('/v1/*', bodyLimitUnlessGet(limits.maxBody));
  app.use('*', bodyLimitUnlessGet(limits.maxUpload));

  const requireAuth: MiddlewareHandler = async (c, next) => {
    if (!auth.allows(c.req.header('authorization'), getCookie(c, SESSION_COOKIE))) {
      c.header('www-authenticate', 'Bearer realm="litsurvey"');
      throw new HttpProblem(401, 'Unauthorized', 'send "Authorization: Bearer <LITSURVEY_TOKEN>" or sign in at /login');
    }
    await next();
  };
  app.use('/api/*', requireAuth);
  app.use('/v1/*', requireAuth);

  app.route('/', opsRoutes({ db: deps.db, scheduler: deps.scheduler, limiter, papers: () => deps.index.count(), startedAt }));
  app.route('/api/search', searchRoutes(deps.index, deps.embedder, deps.gate ?? new ForegroundGate()));
  const interactiveEngine = deps.scheduler?.view('interactive');
  if (interactiveEngine) app.route('/v1', openAiRoutes({ engine: interactiveEngine, modelId: deps.modelId ?? 'litsurvey', maxTokens: limits.maxTokens }));
  else app.all('/v1/*', (c) => problemResponse(c, 503, 'Service Unavailable', 'no model is loaded: start the server with --model FILE.gguf (or LITSURVEY_MODEL)'));
  deps.mount?.(app, { auth, limits, limiter, requireAuth, interactiveEngine });
  return app;
}
