// Optional bearer-token protection (LITSURVEY_TOKEN). Browsers sign in once with the token and get
// an HMAC-signed session cookie (HttpOnly, SameSite=Strict), so pages and EventSource streams work
// without headers. Comparisons are constant-time.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'ls_session';
export const SESSION_SECONDS = 7 * 24 * 3600;

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Auth {
  constructor(readonly token: string | undefined) {}

  get enabled(): boolean {
    return Boolean(this.token);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.token!).update(payload).digest('base64url');
  }

  newSession(now = Date.now()): string {
    const payload = `${Math.floor(now / 1000)}.${randomBytes(9).toString('base64url')}`;
    return `${payload}.${this.sign(payload)}`;
  }

  validSession(cookie: string | undefined, now = Date.now()): boolean {
    if (!this.token || !cookie) return false;
    const parts = cookie.split('.');
    if (parts.length !== 3) return false;
    const payload = `${parts[0]}.${parts[1]}`;
    const issued = Number(parts[0]);
    if (!Number.isFinite(issued) || now / 1000 - issued > SESSION_SECONDS || issued - now / 1000 > 60) return false;
    return safeEqual(parts[2]!, this.sign(payload));
  }

  validBearer(header: string | undefined): boolean {
    if (!this.token || !header) return false;
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    return Boolean(m && safeEqual(m[1]!, this.token));
  }

  /** True when the request may pass: no token configured, a valid bearer token, or a valid session. */
  allows(authorization: string | undefined, session: string | undefined): boolean {
    return !this.enabled || this.validBearer(authorization) || this.validSession(session);
  }
}
