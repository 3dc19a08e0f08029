import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LexicalJudge } from '../../dist/metrics/judge-lexical.js';
import { lexicalJudge, papers } from './support.js';

const evidence = (id) => {
  const p = papers.find((x) => x.id === id);
  return [{ paperId: p.id, title: p.title, abstract: p.abstract }];
};

test('a reworded claim (voice, synonyms, "the authors") is supported, with its evidence sentence', async () => {
  const v = await lexicalJudge().judge('Memory use is reduced by 75% on sequences of 16k tokens by BlockSparse [1].', evidence('fx:sparse'));
  assert.equal(v.supported, true);
  assert.equal(v.span.paperId, 'fx:sparse');
  assert.equal(v.span.text, 'BlockSparse reduces memory use by 75% on sequences of 16k tokens.');
  const w = await lexicalJudge().judge('The authors introduce RAG-QA, which retrieves passages from Wikipedia before producing answers.', evidence('fx:rag'));
  assert.equal(w.supported, true, `score ${w.score}`);
});

test('a claim drawn from two sentences of the abstract is supported by a two-sentence span', async () => {
  const v = await lexicalJudge().judge(
    'RAG-QA retrieves passages from Wikipedia before generating answers, and it improves exact match on Natural Questions by 4.2 points.',
    evidence('fx:rag'),
  );
  assert.equal(v.supported, true, `score ${v.score}`);
  assert.match(v.span.text, /Wikipedia.*Natural Questions/);
});

test('changed numbers, flipped negation, swapped names and the wrong paper are unsupported', async () => {
  const cases = [
    ['BlockSparse reduces memory use by 57% on sequences of 16k tokens.', 'fx:sparse'],
    ['Retrieval helps on arithmetic questions.', 'fx:rag'],
    ['BlockSparse does not reduce memory use on sequences of 16k tokens.', 'fx:sparse'],
    ['RAG-QA improves exact match on TriviaQA by 4.2 points over a closed-book reader.', 'fx:rag'],
    ['BlockSparse reduces memory use by 75% on sequences of 16k tokens.', 'fx:prefix'],
  ];
  for (const [claim, id] of cases) {
    const v = await lexicalJudge().judge(claim, evidence(id));
    assert.equal(v.supported, false, `${claim} → ${v.score}`);
    assert.ok(v.score >= 0 && v.score < 1);
  }
});

test('no evidence or no content words: unsupported with score 0; without word vectors only equal stems match', async () => {
  assert.deepEqual(await lexicalJudge().judge('A claim [1].', []), { supported: false, score: 0, span: null });
  const plain = new LexicalJudge();
  const exact = await plain.judge('BlockSparse reduces memory use by 75% on sequences of 16k tokens.', evidence('fx:sparse'));
  assert.equal(exact.supported, true);
  const synonym = plain.judgeSync('BlockSparse lowers memory consumption by 75% on sequences of 16k tokens.', evidence('fx:sparse'));
  const withVectors = lexicalJudge().judgeSync('BlockSparse lowers memory consumption by 75% on sequences of 16k tokens.', evidence('fx:sparse'));
  assert.ok(withVectors.score > synonym.score, `${withVectors.score} > ${synonym.score}`);
});

test('author names in a claim ("Hopper et al. show …") are the citation, not content to find in the abstract', async () => {
  const claim = "Building on this, Hopper et al.'s RAG-QA improves exact match on Natural Questions by 4.2 points.";
  const withAuthors = [{ ...evidence('fx:rag')[0], authors: ['Grace Hopper'] }];
  assert.equal((await lexicalJudge().judge(claim, withAuthors)).supported, true);
  assert.equal((await lexicalJudge().judge(claim.replace('Hopper', 'Turing'), withAuthors)).supported, false);
});
