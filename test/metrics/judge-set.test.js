import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { counts } from '../../dist/bench/judge.js';
import { KINDS, MANIFEST_PATH, paperIdsOf, readCorpus, rewrite, verifiedClaims } from '../../dist/bench/judge-set.js';
import { sharedDir } from '../helpers.js';
import { lexicalJudge } from './support.js';

const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'));
const corpusDir = join(sharedDir, 'corpus');

test('the frozen manifest is balanced, split in halves, and records a hash per claim', () => {
  const items = manifest.items;
  assert.ok(items.length >= 600);
  for (const k of KINDS) assert.ok(items.filter((i) => i.kind === k).length >= 60, k);
  const supported = items.filter((i) => i.label === 1).length;
  assert.ok(Math.abs(supported - items.length / 2) <= items.length * 0.05);
  const dev = items.filter((i) => i.split === 'dev').length;
  assert.ok(dev > items.length * 0.4 && dev < items.length * 0.6);
  assert.ok(items.every((i) => /^[0-9a-f]{64}$/.test(i.sha256)));
});

test('rewrites keep the meaning-bearing words', () => {
  assert.equal(rewrite('In this paper, we propose a new parser for German.', 'voice'), 'In this paper, a new parser for German is proposed by the authors.');
  assert.equal(rewrite('We show that our model improves results.', 'we'), "The authors show that the authors' model improves results.");
  assert.equal(rewrite('Our method significantly improves results.', 'synonyms'), 'Our technique substantially enhances findings.');
});

test('held-out half: every hash verifies against the corpus and the lexical judge reaches F1 ≥ 0.90', { skip: !existsSync(corpusDir) && `no corpus at ${corpusDir}` }, async () => {
  const papers = await readCorpus(corpusDir, paperIdsOf(manifest.items));
  const texts = verifiedClaims(manifest.items, papers);
  const heldOut = manifest.items.filter((i) => i.split === 'held-out');
  const rows = heldOut.map((item) => {
    const p = papers.get(item.cited);
    const v = lexicalJudge().judgeSync(texts.get(item.id), [{ paperId: p.id, title: p.title, abstract: p.abstract }]);
    return { label: item.label, supported: v.supported };
  });
  const c = counts(rows);
  assert.ok(c.f1 >= 0.9, `held-out F1 ${c.f1}`);
  // A changed corpus is refused loudly.
  const changed = new Map(papers);
  const first = heldOut[0];
  changed.set(first.source, { ...papers.get(first.source), abstract: papers.get(first.source).abstract.toUpperCase() });
  assert.throws(() => verifiedClaims([first], changed), /does not match the corpus/);
});
