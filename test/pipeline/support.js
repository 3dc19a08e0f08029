// Helpers for the pipeline tests: a temp home whose index holds corpus/sample.jsonl, and a parser
// for the survey Markdown format (docs/survey-format.md).
import { join } from 'node:path';
import { ingest } from '../../dist/corpus/ingest.js';
import { PaperIndex } from '../../dist/index/paper-index.js';
import { SifEmbedder } from '../../dist/index/sif-embedder.js';
import { cacheDir, cliEnv, root, tempDir } from '../helpers.js';

export const sample = join(root, 'corpus', 'sample.jsonl');

/** A temp LITSURVEY_HOME with the sample corpus ingested; `env` runs the CLI against it. */
export async function sampleHome(t, extraEnv = {}) {
  const home = tempDir(t, 'litsurvey-pipeline-');
  const embedder = new SifEmbedder(cacheDir);
  const index = await PaperIndex.open(join(home, 'index'));
  await ingest([sample], index, embedder);
  return { home, index, embedder, env: cliEnv(home, { LITSURVEY_CORPUS: sample, ...extraEnv }) };
}

/** Splits a survey into front matter (top-level scalars and flow lists only), body, citations and references. */
export function parseSurvey(md) {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(md);
  if (!m) throw new Error('no front matter');
  const front = {};
  for (const line of m[1].split('\n')) {
    const kv = /^([A-Za-z_][\w-]*): (.+)$/.exec(line);
    if (kv) front[kv[1]] = JSON.parse(kv[2]);
  }
  const body = m[2];
  const [text, refs = ''] = body.split(/^## References$/m);
  const citations = [...text.matchAll(/\[(\d+(?:, \d+)*)\]/g)].map((g) => g[1].split(', ').map(Number));
  const references = refs
    .split('\n')
    .map((l) => /^(\d+)\. (.*) `([^`]+)`$/.exec(l))
    .filter(Boolean)
    .map((r) => ({ n: Number(r[1]), text: r[2], id: r[3] }));
  const headings = [...body.matchAll(/^(#{1,3}) (.+)$/gm)].map((h) => ({ level: h[1].length, text: h[2] }));
  return { front, frontText: m[1], body, text, citations, references, headings };
}

/** Citation numbers in order of first appearance must be 1, 2, 3, … */
export function firstUseOrder(citations) {
  const seen = [];
  for (const group of citations) for (const n of group) if (!seen.includes(n)) seen.push(n);
  return seen;
}
