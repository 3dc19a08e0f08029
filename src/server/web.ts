// Mounts the survey layer on the core app: the jobs API, the OpenAPI description and the pages.
// API routes sit under /api (the core's requireAuth covers them); form posts and cookie-carrying
// API posts are checked for a same-site Origin.
import type { Hono } from 'hono';
import type { PaperIndex } from '../index/paper-index.js';
import type { AppContext } from './app.js';
import { sameOrigin } from './csrf.js';
import { openApi } from './openapi.js';
import { pageRoutes } from './routes/pages.js';
import { surveysApi } from './routes/surveys-api.js';
import type { SurveyWorker } from './worker.js';

export interface WebDeps {
  worker: SurveyWorker;
  index: PaperIndex;
  cacheDir: string;
  modelPath?: string;
  trustProxy?: boolean;
}

export function mountSurveyRoutes(app: Hono, ctx: AppContext, deps: WebDeps): void {
  // A browser's cross-site form post to the API (multipart /api/eval) is refused; API clients
  // without cookies (curl, SDKs) send no Origin and are not affected.
  app.use('/api/*', async (c, next) => (c.req.header('origin') || c.req.header('cookie') ? sameOrigin(c, next) : next()));
  app.get('/api/openapi.json', (c) => c.json(openApi));
  app.route('/api', surveysApi({ worker: deps.worker, index: deps.index, cacheDir: deps.cacheDir, modelPath: deps.modelPath, maxUpload: ctx.limits.maxUpload }));
  app.route('/', pageRoutes({ worker: deps.worker, index: deps.index, auth: ctx.auth, modelPath: deps.modelPath, trustProxy: deps.trustProxy }));
}
