// Engine mode end to end with a tiny random-weight GGUF (real native engine, gibberish output):
// the outline JSON fails validation and falls back, sections are written from packed libraries,
// the survey assembles; a context too small for any library fails with a clear message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parse as parseBibtex } from '@retorquere/bibtex-parser';
import { synthModel } from '../../dist/engine/modelfile/synth.js';
import { runCli } from '../helpers.js';
import { firstUseOrder, parseSurvey, sampleHome } from './support.js';

async function setup(t) {
  const s = await sampleHome(t);
  const model = join(s.home, 'tiny.gguf');
  synthModel({ out: model, arch: 'llama', type: 'f32', seed: 3 });
  return { ...s, model };
}

test('engine mode survives a gibberish model: outline falls back, sections and frame are written, citations stay valid', async (t) => {
  const { home, env, model } = await setup(t);
  const out = join(home, 'engine.md');
  const r = await runCli(
    ['generate', 'large language models', '--model', model, '--context', '4096', '--sections', '2', '--section-tokens', '24', '--outline-tokens', '24', '--seed', '3', '--out', out],
    env,
    { timeoutMs: 240_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const s = parseSurvey(readFileSync(out, 'utf8'));
  assert.equal(s.front.mode, 'engine');
  assert.equal(s.front.plan_source, 'extractive-fallback');
  assert.match(s.frontText, /^model:\n {2}backend: "native"\n {2}file: "tiny\.gguf"\n {2}bytes: \d+\n {2}sha256: "[0-9a-f]{64}"/m);
  assert.match(s.frontText, /^sampler:\n {2}temperature: 0\.7\n {2}seed: 3\n {2}section_tokens: 24/m);
  assert.match(s.frontText, /^engine_stats:\n {2}library_tokens: \[\d+/m);
  assert.match(s.frontText, /section_prompt_tokens: \[\d+, \d+\]/);
  assert.doesNotMatch(s.body, /extractive mode/);
  assert.equal(s.headings.filter((h) => h.level === 2).length, 2 + 4);
  assert.deepEqual(firstUseOrder(s.citations), s.references.map((r) => r.n));
  assert.deepEqual(parseBibtex(readFileSync(out.replace(/\.md$/, '.bib'), 'utf8')).errors, []);

  const db = new Database(join(home, 'litsurvey.sqlite'), { readonly: true });
  const planned = JSON.parse(db.prepare("SELECT output FROM job_steps WHERE step = 'plan'").get().output);
  const library = JSON.parse(db.prepare("SELECT output FROM job_steps WHERE step = 'library'").get().output);
  const section = JSON.parse(db.prepare("SELECT output FROM job_steps WHERE step = 'section:0'").get().output);
  db.close();
  assert.equal(planned.rejected.length, 2, 'first answer and the constrained retry were both rejected');
  assert.match(planned.rejected[0], /not valid JSON|must be/);
  const used = library.packing.libraries[library.packing.sectionLibrary[0]];
  assert.ok(used.paperIds.length >= 1 && used.tokens <= library.packing.budgetTokens);
  assert.ok(section.promptTokens > used.tokens, 'the prompt holds the library');
  assert.ok(section.generatedTokens >= 1 && section.generatedTokens <= 24);
  // Sections written from the same library share its prefix: the engine's prefix cache serves it.
  assert.deepEqual(library.packing.sectionLibrary, [0, 0], 'a 4096-token context holds one shared library for both sections');
  assert.match(s.frontText, /section_cached_tokens: \[0, [1-9]\d*\]/);
});

test('a context too small for even one paper fails with a clear message', async (t) => {
  const { home, env, model } = await setup(t);
  const r = await runCli(['generate', 'retrieval', '--model', model, '--context', '700', '--sections', '2', '--section-tokens', '16', '--outline-tokens', '8', '--out', join(home, 'x.md')], env, { timeoutMs: 120_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no room for a library|not even one paper of section/);
  assert.match(r.stderr, /--resume/);
});
