import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractClaims, resolveReferences } from '../../dist/metrics/claims.js';
import { evaluateSurvey } from '../../dist/metrics/evaluate.js';
import { parseSurvey } from '../../dist/metrics/parse.js';
import { lexicalJudge, source, survey } from './support.js';

test('known answers: fact score, AutoSurvey citation precision and recall, unresolved and uncited counts', async () => {
  const e = await evaluateSurvey(survey('known-answers.md'), { source: source(), judge: lexicalJudge() });
  const f = e.facts;
  assert.equal(f.claims.length, 6);
  assert.deepEqual(
    f.claims.map((c) => c.supported),
    [true, true, true, false, false, false],
  );
  assert.equal(f.factScore, 0.5);
  assert.equal(f.citationRecall, 0.5);
  // 7 citations: [1] ✓, [1] ✗ + [3] ✓, [2] ✓, [2] ✗, [3] ✗, [7] unresolved.
  assert.equal(f.citations, 7);
  assert.equal(f.citationPrecision, 3 / 7);
  const both = f.claims[1];
  assert.deepEqual(
    both.citations.map((c) => [c.paperId, c.alone, c.needed, c.relevant]),
    [
      ['fx:sparse', false, false, false],
      ['fx:prefix', true, true, true],
    ],
  );
  assert.equal(f.unresolvedCitations, 1);
  assert.deepEqual(f.claims[5].unresolved, ['7']);
  assert.equal(f.claims[5].span, null);
  assert.equal(f.uncitedSentences, 3);
  assert.equal(f.sentences, 9);
  assert.equal(e.mode, 'engine');
  assert.equal(e.verbatimDerived, false);
  assert.equal(e.papers['fx:rag'].title, 'Retrieval-Augmented Generation for Open-Domain Question Answering');
});

test('references resolve by URL, explicit id and title; unknown ones are reported, not fatal', async () => {
  const parsed = parseSurvey(survey('malformed.md'));
  const r = await resolveReferences(parsed, source());
  assert.equal(r.byLabel.get('^a'), 'fx:prefix'); // by title
  assert.equal(r.byLabel.get('2'), 'fx:rag'); // by title
  assert.equal(r.byLabel.get('3'), null);
  assert.deepEqual(
    r.unknown.map((u) => u.label),
    ['3', '4'],
  );
  const claims = extractClaims(parsed, r);
  const direct = claims.find((c) => c.labels.includes('@fx:rag'));
  assert.deepEqual(direct.paperIds, ['fx:rag']);
  assert.deepEqual(direct.unresolved, []);
  const footnote = claims.find((c) => c.labels.includes('^a'));
  assert.deepEqual(footnote.paperIds, ['fx:prefix', 'fx:rag']);
  assert.deepEqual(footnote.unresolved, ['3']);
});

test('citations to missing references: every claim unsupported, every citation unresolved', async () => {
  const md = '# T\n\n## A\n\nRAG-QA retrieves passages from Wikipedia [4]. BlockSparse reduces memory use by 75% [9, 10].\n';
  const e = await evaluateSurvey(md, { source: source(), judge: lexicalJudge() });
  assert.equal(e.facts.factScore, 0);
  assert.equal(e.facts.unresolvedCitations, 3);
  assert.equal(e.facts.citationPrecision, 0);
});

test('a survey without citations and an empty survey: no claims, fact score null', async () => {
  const none = await evaluateSurvey(survey('no-citations.md'), { source: source(), judge: lexicalJudge() });
  assert.equal(none.facts.claims.length, 0);
  assert.equal(none.facts.factScore, null);
  assert.equal(none.facts.citationPrecision, null);
  assert.equal(none.facts.uncitedSentences, 3);
  const empty = await evaluateSurvey(survey('empty.md'), { source: source(), judge: lexicalJudge() });
  assert.equal(empty.facts.claims.length, 0);
  assert.equal(empty.facts.sentences, 0);
  assert.equal(empty.quality.length.words, 0);
});

test('without citation analysis each claim is judged once and precision is not reported', async () => {
  let calls = 0;
  const judge = lexicalJudge();
  const counting = { name: 'lexical', judge: (c, e) => (calls++, judge.judge(c, e)) };
  const e = await evaluateSurvey(survey('known-answers.md'), { source: source(), judge: counting, citationAnalysis: false });
  assert.equal(calls, 5); // the claim with only an unresolved citation needs no judge
  assert.equal(e.facts.citationPrecision, null);
  assert.equal(e.facts.factScore, 0.5);
});
