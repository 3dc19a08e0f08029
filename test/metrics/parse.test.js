import assert from 'node:assert/strict';
import { test } from 'node:test';
import { citationsIn, idsIn, parseSurvey } from '../../dist/metrics/parse.js';
import { splitSentences, stripCitations } from '../../dist/metrics/text.js';
import { survey } from './support.js';

test('our survey format: front matter, title, sections, claims and numbered references', () => {
  const p = parseSurvey(survey('known-answers.md'));
  assert.equal(p.title, 'Efficient Long-Context Language Models: A Survey');
  assert.equal(p.frontMatter.mode, 'engine');
  assert.equal(p.frontMatter.topic, 'efficient long-context language models');
  assert.deepEqual(p.frontMatter.counts, { sections: 3, library_papers: 4 });
  assert.deepEqual(p.frontMatter.reference_ids, ['fx:sparse', 'fx:rag', 'fx:prefix']);
  assert.deepEqual(
    p.sections.filter((s) => s.depth > 0).map((s) => s.title),
    ['Introduction', 'Sparse Attention', 'Retrieval and Serving', 'Conclusion'],
  );
  assert.equal(p.units.length, 9);
  const items = p.units.filter((u) => u.kind === 'item');
  assert.equal(items.length, 2);
  const two = p.units.find((u) => u.plain.startsWith('Prefix caching'));
  assert.deepEqual(two.citations, [{ kind: 'number', n: 1 }, { kind: 'number', n: 3 }]);
  assert.equal(two.plain, 'Prefix caching stores the key-value blocks of shared prompt prefixes.');
  assert.deepEqual(
    p.references.map((r) => [r.label, r.ids]),
    [['1', ['arxiv:2401.00001']], ['2', ['acl:2023.fixture-1.7']], ['3', ['fx:prefix']]],
  );
  assert.deepEqual(p.problems, []);
});

test('sentence splitting keeps abbreviations, decimals and trailing citation markers together', () => {
  assert.deepEqual(splitSentences('Smith et al. report 4.2 points, e.g. on NQ [1]. A second one. [2, 3] Third i.e. last.'), [
    'Smith et al. report 4.2 points, e.g. on NQ [1].',
    'A second one. [2, 3]',
    'Third i.e. last.',
  ]);
  assert.equal(stripCitations('A claim [1, 2] with more [@x:y] text [^n].'), 'A claim with more text.');
});

test('citation markers: numbers, lists, ranges, keys, footnotes; absurd ranges are refused', () => {
  const problems = [];
  assert.deepEqual(citationsIn('a [3] b [2, 5] c [7-9] d [@acl:2020.acl-main.1; @arxiv:2401.1] e [^x] f [1-99999]', problems), [
    { kind: 'number', n: 3 },
    { kind: 'number', n: 2 },
    { kind: 'number', n: 5 },
    { kind: 'number', n: 7 },
    { kind: 'number', n: 8 },
    { kind: 'number', n: 9 },
    { kind: 'key', key: 'acl:2020.acl-main.1' },
    { kind: 'key', key: 'arxiv:2401.1' },
    { kind: 'key', key: '^x' },
  ]);
  assert.equal(problems.length, 1);
  assert.deepEqual(citationsIn('see [the paper](http://x) and [a b]'), []);
});

test('reference ids from arXiv and ACL Anthology URLs and explicit ids', () => {
  assert.deepEqual(idsIn('https://arxiv.org/pdf/2401.01234v3 and arXiv:2402.00001'), ['arxiv:2401.01234', 'arxiv:2402.00001']);
  assert.deepEqual(idsIn('<https://aclanthology.org/2023.acl-long.5.pdf>'), ['acl:2023.acl-long.5']);
});

test('malformed Markdown: no throw; code, HTML and links are not prose; problems are reported', () => {
  const p = parseSurvey(survey('malformed.md'));
  assert.ok(p.problems.some((x) => x.includes('[1-99999]')));
  assert.ok(!p.units.some((u) => u.plain.includes('code block')));
  assert.ok(!p.units.some((u) => u.plain.includes('html')));
  const first = p.units.find((u) => u.plain.startsWith('Text with a link'));
  assert.deepEqual(first.citations, [{ kind: 'key', key: 'fx:rag' }]); // `code [1]` is not a citation
  const nested = p.units.find((u) => u.plain === 'nested item');
  assert.deepEqual(nested.citations, [{ kind: 'number', n: 3 }]);
  const row = p.units.find((u) => u.plain.startsWith('RAG-QA retrieves'));
  assert.deepEqual(row.citations, [{ kind: 'number', n: 2 }]);
  assert.deepEqual(
    p.references.map((r) => r.label),
    ['^a', '2', '3', '4'],
  );
});

test('empty input and hostile input parse to empty results', () => {
  for (const text of ['', '   \n\n', '---\n---\n', '#', '[', '\u0000\u0001 [[[[', 'x'.repeat(100_000)]) {
    const p = parseSurvey(text);
    assert.ok(Array.isArray(p.units));
  }
  assert.equal(parseSurvey('').units.length, 0);
  const many = parseSurvey(Array.from({ length: 300 }, (_, i) => `Sentence ${i} [${i}].`).join(' '));
  assert.equal(many.units.length, 300);
  assert.equal(many.units[299].citations[0].n, 299);
});
