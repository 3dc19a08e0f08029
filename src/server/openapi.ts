// The OpenAPI 3.1 description of the HTTP service, served at /api/openapi.json.
const problem = { description: 'An RFC 9457 problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const download = (type: string, what: string) => ({
  get: { summary: `Download ${what}`, parameters: [jobId], responses: { '200': { description: what, content: { [type]: { schema: { type: 'string' } } } }, '404': problem, '409': problem } },
});

export const openApi = {
  openapi: '3.1.0',
  info: { title: 'litsurvey', version: '0.1.0', description: 'Offline survey generator: survey jobs, search, evaluation, and an OpenAI-compatible API served by the native engine.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'LITSURVEY_TOKEN, when the server has one' }, session: { type: 'apiKey', in: 'cookie', name: 'ls_session' } },
    schemas: {
      Problem: { type: 'object', required: ['type', 'title', 'status'], properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' } } },
      SurveyRequest: {
        type: 'object',
        required: ['topic'],
        properties: {
          topic: { type: 'string', minLength: 1, maxLength: 300 },
          sections: { type: 'integer', minimum: 2, maximum: 12, default: 6 },
          since: { type: 'integer', minimum: 1900, maximum: 2100 },
          until: { type: 'integer', minimum: 1900, maximum: 2100 },
          mode: { type: 'string', enum: ['extractive', 'engine'], description: 'engine needs a loaded model; default: engine with a model, else extractive' },
        },
      },
      Links: { type: 'object', additionalProperties: { type: 'string' } },
      Job: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          topic: { type: 'string' },
          mode: { type: 'string', enum: ['extractive', 'engine'] },
          state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
          step: { type: ['string', 'null'] },
          error: { type: ['string', 'null'] },
          position: { type: ['integer', 'null'], description: '1-based place in the queue while queued' },
          progress: { type: ['object', 'null'], properties: { stage: { type: 'string' }, state: { type: 'string' }, done: { type: 'integer' }, total: { type: 'integer' }, detail: { type: 'string' } } },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          timings: { type: 'object' },
          links: { $ref: '#/components/schemas/Links' },
        },
      },
    },
  },
  security: [{ bearer: [] }, { session: [] }, {}],
  paths: {
    '/healthz': { get: { summary: 'Liveness and readiness (database, index)', security: [], responses: { '200': { description: 'ok' }, '503': { description: 'degraded' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics: jobs by state, queue, engine, rate limits', security: [], responses: { '200': { description: 'Prometheus text', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/api/search': {
      get: {
        summary: 'Hybrid search over the paper index',
        parameters: ['q', 'k', 'since', 'until', 'category', 'venue', 'mode'].map((name) => ({ name, in: 'query', required: name === 'q', schema: { type: name === 'k' || name === 'since' || name === 'until' ? 'integer' : 'string' } })),
        responses: { '200': { description: 'hits' }, '400': problem },
      },
    },
    '/api/surveys': {
      post: {
        summary: 'Queue a survey job',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/SurveyRequest' } } } },
        responses: {
          '202': { description: 'queued', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' }, position: { type: ['integer', 'null'] }, links: { $ref: '#/components/schemas/Links' } } } } } },
          '400': problem,
          '409': problem,
          '413': problem,
          '415': problem,
        },
      },
      get: {
        summary: 'Job history, newest first',
        parameters: [
          { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
          { name: 'per_page', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        ],
        responses: { '200': { description: 'a page of jobs', content: { 'application/json': { schema: { type: 'object', properties: { page: { type: 'integer' }, perPage: { type: 'integer' }, total: { type: 'integer' }, items: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } } } } }, '400': problem },
      },
    },
    '/api/surveys/{id}': {
      get: { summary: 'A job: state, step, progress, queue position, timings, links', parameters: [jobId], responses: { '200': { description: 'the job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } }, '404': problem } },
      delete: { summary: 'Cancel a job at any stage', parameters: [jobId], responses: { '202': { description: 'cancelled (or already finished: its state)' }, '404': problem, '409': problem } },
    },
    '/api/surveys/{id}/events': {
      get: {
        summary: 'Server-Sent Events: the stored job events, then new ones; ends with an "end" event after done/failed/cancelled',
        parameters: [jobId, { name: 'Last-Event-ID', in: 'header', schema: { type: 'integer' } }],
        responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': problem },
      },
    },
    '/api/surveys/{id}/survey.md': download('text/markdown', 'the survey as Markdown'),
    '/api/surveys/{id}/survey.bib': download('application/x-bibtex', 'the survey\'s BibTeX'),
    '/api/surveys/{id}/report.html': download('text/html', 'the evaluation report'),
    '/api/surveys/{id}/survey.json': download('application/json', 'survey, metrics and claim verdicts'),
    '/api/eval': {
      post: {
        summary: 'Score an uploaded Markdown survey with the lexical fact-score judge (≤ 4 MB)',
        requestBody: { required: true, content: { 'text/markdown': { schema: { type: 'string' } }, 'multipart/form-data': { schema: { type: 'object', properties: { survey: { type: 'string', format: 'binary' } } } } } },
        responses: { '200': { description: 'metrics and verdicts' }, '400': problem, '413': problem, '415': problem },
      },
    },
    '/api/openapi.json': { get: { summary: 'This description', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    '/v1/models': { get: { summary: 'The loaded model (OpenAI-compatible)', responses: { '200': { description: 'model list' }, '503': problem } } },
    '/v1/chat/completions': { post: { summary: 'Chat completion (OpenAI-compatible; stream: true for SSE)', responses: { '200': { description: 'completion' }, '400': problem, '503': problem } } },
    '/v1/completions': { post: { summary: 'Text completion (OpenAI-compatible)', responses: { '200': { description: 'completion' }, '400': problem, '503': problem } } },
    '/v1/embeddings': { post: { summary: 'Embeddings (OpenAI-compatible)', responses: { '200': { description: 'embeddings' }, '400': problem, '503': problem } } },
  },
} as const;
