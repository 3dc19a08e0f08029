// CSRF protection for the pages' form posts, two layers:
// 1. Hono's Origin / Sec-Fetch-Site check (`hono/csrf`): a form post from another site is refused.
//    The origin is compared with the Host the browser addressed (behind a TLS proxy the request
//    URL says http while the browser says https).
// 2. A double-submit token: a random value in the cookie `ls_csrf` (SameSite=Strict, HttpOnly) that
//    every form repeats in a hidden field; a post whose field differs from its cookie is refused.
import { randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { safeEqual } from './auth.js';
import { HttpProblem } from './problem.js';

export const CSRF_COOKIE = 'ls_csrf';
export const CSRF_FIELD = '_csrf';

/** True when the browser reached us over https (directly, or through a proxy that says so). */
export function isHttps(c: Context, trustProxy: boolean): boolean {
  return new URL(c.req.url).protocol === 'https:' || (trustProxy && c.req.header('x-forwarded-proto') === 'https');
}

/** The request's CSRF token, set as a cookie when the browser has none yet. */
export function csrfToken(c: Context, trustProxy: boolean): string {
  const have = getCookie(c, CSRF_COOKIE);
  if (have && /^[A-Za-z0-9_-]{32}$/.test(have)) return have;
  const token = randomBytes(24).toString('base64url');
  setCookie(c, CSRF_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(c, trustProxy) });
  return token;
}

const originCheck = csrf({
  origin: (origin, c) => {
    try {
      return new URL(origin).host === c.req.header('host');
    } catch {
      return false;
    }
  },
});

/** Hono's origin check, answering a refused request with a 403 problem. */
export const sameOrigin: MiddlewareHandler = async (c, next) => {
  try {
    await originCheck(c, next);
  } catch (e) {
    if (e instanceof HTTPException && e.status === 403) throw new HttpProblem(403, 'Forbidden', 'cross-site form posts are refused (the Origin does not match this site)');
    throw e;
  }
};

/** Refuses a form whose hidden token does not equal the `ls_csrf` cookie. */
export function checkCsrfToken(c: Context, field: unknown): void {
  const cookie = getCookie(c, CSRF_COOKIE);
  if (!cookie || typeof field !== 'string' || !safeEqual(cookie, field)) {
    throw new HttpProblem(403, 'Forbidden', 'the form is missing its CSRF token or the token does not match (reload the page and try again)');
  }
}
