// The evaluator's prompt templates (templates/judge.md, templates/rubric.md): files that start with
// a `version: N` line and use {{name}} placeholders, like the pipeline's. A placeholder without a
// value is an error, so a template and the code that fills it cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config.js';

export function readTemplate(name: string): string {
  const path = join(packageRoot, 'templates', name);
  const text = readFileSync(path, 'utf8');
  const m = /^version:\s*\S+\s*\r?\n\r?\n?/.exec(text);
  if (!m) throw new Error(`template ${path}: the first line must be "version: N"`);
  return text.slice(m[0].length).trimEnd();
}

export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`template: no value for {{${k}}}`);
    return v;
  });
}
