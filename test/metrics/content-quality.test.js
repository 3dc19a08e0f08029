import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SifEmbedder } from '../../dist/index/sif-embedder.js';
import { evaluateSurvey } from '../../dist/metrics/evaluate.js';
import { cacheDir } from '../helpers.js';
import { lexicalJudge, source, survey } from './support.js';

const library = { paperIds: ['fx:sparse', 'fx:rag', 'fx:prefix', 'fx:facts'], clusters: [['fx:sparse'], ['fx:rag', 'fx:prefix'], ['fx:facts']] };

test('structure, coverage, reference recall, density and length on the known-answers survey', async () => {
  const e = await evaluateSurvey(survey('known-answers.md'), {
    source: source(),
    judge: lexicalJudge(),
    library,
    referenceIds: ['fx:sparse', 'fx:facts'],
    embedder: new SifEmbedder(cacheDir),
  });
  const q = e.quality;
  assert.equal(q.structure.sections, 4);
  assert.equal(q.structure.maxDepth, 1);
  assert.equal(q.structure.hasIntroduction, true);
  assert.equal(q.structure.hasConclusion, true);
  assert.ok(q.structure.balance > 0 && q.structure.balance < 1);
  // cited: sparse, rag, prefix — 3 of 4 library papers, 2 of 3 clusters; 1 of 2 reference ids.
  assert.deepEqual(q.coverage.library, { papers: 4, cited: 3, share: 0.75, clusters: 3, clustersCited: 2, clusterShare: 2 / 3 });
  assert.deepEqual(q.coverage.reference, { ids: 2, found: 1, recall: 0.5 });
  assert.equal(q.length.sentences, 9);
  assert.equal(q.length.references, 3);
  assert.ok(q.length.words > 80 && q.length.words < 110);
  assert.equal(q.density.distinctPapers, 3);
  assert.ok(Math.abs(q.density.citationsPer100Words - (100 * 7) / q.length.words) < 1e-9);
  assert.equal(q.density.claimShare, 6 / 9);
  assert.equal(q.redundancy.nearDuplicatePairs, 0);
  // The introduction speaks of the topic more than the retrieval section does.
  const sim = Object.fromEntries(q.relevance.sections.map((s) => [s.section.split(' › ').pop(), s.similarity]));
  assert.ok(sim.Introduction > sim['Retrieval and Serving'], JSON.stringify(sim));
  assert.equal(q.relevance.topic, 'efficient long-context language models');
});

test('redundancy: repeated sentences are near-duplicates and raise the repeated 4-gram share', async () => {
  const s = 'Sparse attention reduces the memory needed for long documents considerably.';
  const md = `# R\n\n## Introduction\n\n${s} ${s} Caching shared prompt prefixes speeds up chat serving a lot.\n\n## Conclusion\n\nSparse attention reduces the memory needed for long documents a lot.\n`;
  const e = await evaluateSurvey(md, { source: source(), judge: lexicalJudge() });
  assert.equal(e.quality.redundancy.nearDuplicatePairs, 3);
  assert.ok(e.quality.redundancy.repeatedNgramShare > 0.5);
  const clean = await evaluateSurvey(survey('known-answers.md'), { source: source(), judge: lexicalJudge() });
  assert.equal(clean.quality.redundancy.repeatedNgramShare, 0);
});

test('structure of a flat, unbalanced survey without introduction or conclusion scores low', async () => {
  const md = `# X\n\n## Methods\n\n${'Word '.repeat(300)}.\n\n## Data\n\nShort.\n`;
  const e = await evaluateSurvey(md, { source: source(), judge: lexicalJudge() });
  const st = e.quality.structure;
  assert.equal(st.hasIntroduction, false);
  assert.equal(st.hasConclusion, false);
  assert.ok(st.balance < 0.6);
  assert.ok(st.score < 0.3);
  assert.equal(e.quality.coverage.library, null);
  assert.equal(e.quality.relevance, null);
});
