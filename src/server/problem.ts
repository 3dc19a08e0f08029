// Errors as RFC 9457 problem details: application/problem+json with type, title, status, detail.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly title: string,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function problemResponse(c: Context, status: ContentfulStatusCode, title: string, detail?: string, extra: Record<string, unknown> = {}): Response {
  const body = { type: `https://litsurvey.invalid/problems/${slug(title)}`, title, status, ...(detail ? { detail } : {}), instance: c.req.path, ...extra };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json; charset=utf-8' });
}

export function toProblem(c: Context, err: unknown): Response {
  if (err instanceof HttpProblem) return problemResponse(c, err.status, err.title, err.message === err.title ? undefined : err.message, err.extra);
  console.error(`litsurvey serve: ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? String(err)}`);
  return problemResponse(c, 500, 'Internal Server Error', 'the server failed to answer this request; see its log');
}
