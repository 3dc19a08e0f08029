// Extractive mode end to end through the CLI, on the sample corpus: structure, citations,
// references, BibTeX, front matter; plus the assembler's and the planner's pure parts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseBibtex } from '@retorquere/bibtex-parser';
import { CitationNumberer, assemble, toBibtex, escapeBibtex, toYaml } from '../../dist/pipeline/assembler.js';
import { parseOutline, outlineSchema } from '../../dist/pipeline/planner.js';
import { kmeans } from '../../dist/pipeline/extractive/kmeans.js';
import { mmr } from '../../dist/pipeline/extractive/mmr.js';
import { sentences } from '../../dist/pipeline/extractive/text.js';
import { runCli } from '../helpers.js';
import { firstUseOrder, parseSurvey, sampleHome } from './support.js';

test('generate writes a complete extractive survey with resolvable, ordered citations and a valid .bib', async (t) => {
  const { home, env } = await sampleHome(t);
  const out = join(home, 'out', 'llm.md');
  const r = await runCli(['generate', 'large language models', '--sections', '4', '--out', out], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  assert.match(r.stderr, /Job [0-9a-f-]{36}/);
  const md = readFileSync(out, 'utf8');
  const s = parseSurvey(md);

  assert.equal(s.front.mode, 'extractive');
  assert.equal(s.front.topic, 'large language models');
  assert.equal(s.front.model, null);
  assert.match(s.frontText, /^counts:\n {2}sections: 4\n/m);
  assert.match(s.frontText, /^templates:\n {2}planner: "1"/m);
  assert.match(s.frontText, /^index:\n {2}revision: 1\n {2}papers: 36\n/m);
  assert.match(s.frontText, /^timings_ms:\n {2}plan: \d+/m);
  assert.match(s.body, /^\*This survey was written in extractive mode/m, 'visible note under the title');

  const h2 = s.headings.filter((h) => h.level === 2).map((h) => h.text);
  assert.equal(s.headings[0].level, 1);
  assert.equal(h2[0], 'Abstract');
  assert.equal(h2[1], 'Introduction');
  assert.equal(h2.at(-2), 'Conclusion');
  assert.equal(h2.at(-1), 'References');
  assert.equal(h2.length, 4 + 4, 'abstract, introduction, 4 sections, conclusion, references');

  // Every citation resolves; numbers appear in order of first use; the list is complete.
  assert.ok(s.citations.length >= 8, `only ${s.citations.length} citations`);
  const order = firstUseOrder(s.citations);
  assert.deepEqual(order, order.map((_, i) => i + 1));
  assert.equal(s.references.length, order.length);
  assert.deepEqual(s.references.map((r) => r.n), order);
  assert.deepEqual(s.front.reference_ids, s.references.map((r) => r.id));
  for (const ref of s.references) {
    assert.match(ref.id, /^sample:/);
    assert.match(ref.text, /<https?:\/\/[^>]+>/, ref.text);
    assert.match(ref.text, /\d{4}\./, 'year');
  }
  assert.doesNotMatch(s.body, /\[@/, 'no unconverted citation keys');

  const bib = parseBibtex(readFileSync(out.replace(/\.md$/, '.bib'), 'utf8'));
  assert.deepEqual(bib.errors, []);
  assert.deepEqual(bib.entries.map((e) => e.key), s.references.map((r) => r.id));
  assert.ok(bib.entries.every((e) => e.fields.title && e.fields.year && e.fields.author?.length));
});

test('the same request and seed give the same survey body', async (t) => {
  const { home, env } = await sampleHome(t);
  const a = join(home, 'a.md');
  const b = join(home, 'b.md');
  assert.equal((await runCli(['generate', 'neural machine translation', '--sections', '3', '--seed', '5', '--out', a], env)).code, 0);
  assert.equal((await runCli(['generate', 'neural machine translation', '--sections', '3', '--seed', '5', '--out', b], env)).code, 0);
  assert.equal(parseSurvey(readFileSync(a, 'utf8')).body, parseSurvey(readFileSync(b, 'utf8')).body);
});

test('generate rejects bad flags with usage errors', async (t) => {
  const { env } = await sampleHome(t);
  for (const args of [['generate'], ['generate', 'x', '--sections', '40'], ['generate', 'x', '--since', '20'], ['generate', 'x', '--backend', 'openai'], ['generate', '--resume', 'ffffffff']]) {
    const r = await runCli(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const help = await runCli(['generate', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--resume JOB/);
  assert.match(help.stdout, /--api-model NAME/);
});

const paper = (id, extra = {}) => ({ id, title: `Title of ${id}`, abstract: 'An abstract.', authors: ['Ada Lovelace', 'Alan Turing'], year: 2020, venue: 'ACL', url: `https://example.org/${id}`, section: 0, ...extra });

test('citations: unknown ids and model-written numbers are dropped and counted; groups are numbered by first use', () => {
  const n = new CitationNumberer(new Set(['a', 'b', 'c']));
  assert.equal(n.rewrite('First [@b]. Both [@a; @b]. Bad [@zzz]. Mixed [@c, @zzz]. Own [3].'), 'First [1]. Both [1, 2]. Bad. Mixed [3]. Own.');
  assert.equal(n.citations, 4);
  assert.equal(n.unresolved, 3);
  assert.deepEqual(n.order, ['b', 'a', 'c']);
});

test('assemble: references in citation order, BibTeX escaped, YAML front matter', () => {
  const lib = [paper('x:1', { title: 'Costs & {braces} 100% of $x_i$ #1' }), paper('x:2'), paper('x:3')];
  const a = assemble({
    title: 'T',
    mode: 'engine',
    abstract: 'Abstract.',
    introduction: 'Intro cites [@x:2].',
    sections: [{ title: 'S1', markdown: 'Uses [@x:1] and [@nope].' }],
    conclusion: 'End [@x:2; @x:1].',
    library: lib,
    frontMatter: { topic: 'a "quoted" topic', model: { file: 'm.gguf', bytes: 1 } },
    timings: { plan: 1.4 },
  });
  assert.equal(a.counts.unresolved, 1);
  assert.equal(a.counts.cited, 2);
  assert.deepEqual(a.referenceIds, ['x:2', 'x:1']);
  assert.match(a.markdown, /^topic: "a \\"quoted\\" topic"$/m);
  assert.match(a.markdown, /^model:\n {2}file: "m.gguf"\n {2}bytes: 1$/m);
  assert.match(a.markdown, /^1\. Ada Lovelace, Alan Turing\. Title of x:2\. ACL, 2020\. <https:\/\/example\.org\/x:2> `x:2`$/m);
  assert.doesNotMatch(a.markdown, /extractive mode/);
  const bib = parseBibtex(a.bibtex);
  assert.deepEqual(bib.errors, []);
  assert.equal(bib.entries.length, 2);
  assert.equal(escapeBibtex('50% & {x}_1'), '50\\% \\& \\{x\\}\\_1');
  assert.equal(toYaml({ a: [1, 'b'], n: null, o: {} }), 'a: [1, "b"]\nn: null\no: {}\n');
  assert.match(toBibtex([paper('weird id/with spaces')]), /^@misc\{weird_id_with_spaces,/);
});

test('outline validation accepts the schema shape and names the problem otherwise', () => {
  const good = { title: 'A survey', sections: [1, 2].map((i) => ({ title: `Section ${i}`, brief: 'What it covers.', subsections: [], queries: ['query one', 'query two'] })) };
  assert.ok('outline' in parseOutline(JSON.stringify(good), 2));
  assert.match(parseOutline('{"title": "x", "sec', 2).problem, /not valid JSON/);
  assert.match(parseOutline(JSON.stringify(good), 3).problem, /3 sections/);
  const oneQuery = structuredClone(good);
  oneQuery.sections[1].queries = ['only one'];
  assert.match(parseOutline(JSON.stringify(oneQuery), 2).problem, /sections\[1\]\.queries/);
  assert.equal(outlineSchema(5).properties.sections.minItems, 5);
});

test('k-means is deterministic for a seed and separates clear clusters; MMR avoids duplicates', () => {
  const v = (x, y) => {
    const n = Math.hypot(x, y);
    return Float32Array.from([x / n, y / n]);
  };
  const points = [v(1, 0.01), v(1, 0.02), v(1, 0.03), v(0.01, 1), v(0.02, 1), v(0.03, 1)];
  const a = kmeans(points, 2, 7);
  assert.deepEqual(a.assignment, kmeans(points, 2, 7).assignment);
  assert.equal(new Set(a.assignment.slice(0, 3)).size, 1);
  assert.equal(new Set(a.assignment.slice(3)).size, 1);
  assert.notEqual(a.assignment[0], a.assignment[3]);
  const items = [{ vector: v(1, 0) }, { vector: v(1, 0) }, { vector: v(0.6, 0.8) }];
  assert.deepEqual(mmr(items, v(1, 0.1), 2, 0.5), [0, 2]);
  assert.deepEqual(sentences('Short. This sentence is long enough to be kept as one.Another sentence glued on without a space.'), [
    'This sentence is long enough to be kept as one.',
    'Another sentence glued on without a space.',
  ]);
});
