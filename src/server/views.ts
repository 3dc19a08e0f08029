// A tiny HTML template renderer for the pages: `{{name}}` is replaced by the HTML-escaped value,
// `{{{name}}}` by the value as is (only for HTML this code built from escaped parts or sanitised
// Markdown). Templates live in templates/*.html and are read once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config.js';

export type ViewVars = Record<string, string | number | null | undefined>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** Builds HTML from a template literal, escaping every interpolated value unless it is `raw(...)`. */
export class RawHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export const raw = (html: string) => new RawHtml(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): RawHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const part = Array.isArray(v) ? v.map((x) => (x instanceof RawHtml ? x.html : escapeHtml(String(x ?? '')))).join('') : v instanceof RawHtml ? v.html : escapeHtml(String(v ?? ''));
    out += part + strings[i + 1]!;
  }
  return new RawHtml(out);
}

const cache = new Map<string, string>();

function template(name: string): string {
  let t = cache.get(name);
  if (t === undefined) {
    if (!/^[a-z-]+$/.test(name)) throw new Error(`bad template name "${name}"`);
    t = readFileSync(join(packageRoot, 'templates', `${name}.html`), 'utf8');
    cache.set(name, t);
  }
  return t;
}

/** Fills one template; unknown names become empty strings. */
export function fill(text: string, vars: ViewVars | Record<string, unknown>): string {
  return text.replace(/\{\{\{\s*([\w]+)\s*\}\}\}|\{\{\s*([\w]+)\s*\}\}/g, (_m, rawName: string | undefined, escName: string | undefined) => {
    const v = (vars as Record<string, unknown>)[(rawName ?? escName)!];
    if (v === undefined || v === null) return '';
    if (rawName) return v instanceof RawHtml ? v.html : String(v);
    return escapeHtml(String(v));
  });
}

export interface PageOptions {
  title: string;
  /** The nav entry to mark as current. */
  nav?: 'new' | 'history' | 'index';
  /** Extra data for app.js, read from data- attributes on <main>. */
  mainAttrs?: RawHtml;
}

/** A page template rendered inside the layout. */
export function page(name: string, vars: Record<string, unknown>, opts: PageOptions): string {
  const content = fill(template(name), vars);
  const current = (n: string) => (opts.nav === n ? raw(' aria-current="page"') : raw(''));
  return fill(template('layout'), {
    title: opts.title,
    content: raw(content),
    mainAttrs: opts.mainAttrs ?? raw(''),
    navNew: current('new'),
    navHistory: current('history'),
    navIndex: current('index'),
  });
}
