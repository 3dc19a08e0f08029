// Prompt, phrasing and judging templates: files in templates/, each starting with a `version: N`
// line. Placeholders are {{name}}; a placeholder without a value is an error, so a template and the
// code that fills it cannot drift apart silently.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './config.js';

export interface Template {
  name: string;
  version: string;
  body: string;
}

const templateDir = join(packageRoot, 'templates');
const cache = new Map<string, Template>();

export function loadTemplate(name: string): Template {
  const cached = cache.get(name);
  if (cached) return cached;
  const path = join(templateDir, `${name}.md`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`template ${name}: cannot read ${path} (${(e as Error).message})`);
  }
  const m = /^version:\s*(\S+)\s*\r?\n\r?\n?/.exec(text);
  if (!m) throw new Error(`template ${path}: the first line must be "version: N"`);
  const template = { name, version: m[1]!, body: text.slice(m[0].length) };
  cache.set(name, template);
  return template;
}

/** Fills {{name}} placeholders; every placeholder must have a value. */
export function fill(text: string, vars: Record<string, string | number>, what = 'template'): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`${what}: no value for {{${key}}}`);
    return String(v);
  });
}

export function render(name: string, vars: Record<string, string | number>): string {
  return fill(loadTemplate(name).body, vars, `template ${name}`);
}

/** The `- item` lines under `## key` of a phrase template (an item may be empty). */
export function phraseList(name: string, key: string): string[] {
  const lines = loadTemplate(name).body.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim() === `## ${key}`);
  if (start < 0) throw new Error(`template ${name}: no "## ${key}" list`);
  const items: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break;
    const m = /^-(?: (.*))?$/.exec(line.trimEnd());
    if (m) items.push((m[1] ?? '').trim());
  }
  if (items.length === 0) throw new Error(`template ${name}: the "## ${key}" list is empty`);
  return items;
}

/** name → version of the given templates, for the survey's front matter. */
export function templateVersions(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, loadTemplate(n).version]));
}
