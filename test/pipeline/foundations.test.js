// Foundations: the papers that introduced the names the candidates mention, read from a real
// LanceDB index built from a small corpus written here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchPapers } from '../../dist/index/search.js';
import { findFoundations, namedTitles } from '../../dist/pipeline/foundations.js';
import { corpusPaper as paper, indexPapers } from '../helpers.js';

const corpus = [
  paper('glue', 2018, 'GLUE: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding', 'A benchmark of nine language understanding tasks for evaluating sentence encoders.'),
  paper('glue-graphs', 2019, 'GLUE: Graph Learning Under Errors', 'Robust message passing for graph neural networks whose edges are noisy.'),
  paper('slm', 2020, 'SLM: Learning a Discourse Language Representation with Sentence Unshuffling', 'Sentence unshuffling as a pre-training objective for discourse.'),
  paper('novanet', 2024, 'NovaNet: Fast Evaluation of Language Models', 'A fast harness for evaluating language models.'),
  paper('rare', 2019, 'RareBench: Rare Words in Language Models', 'A benchmark of rare words for language models.'),
  ...[1, 2, 3, 4].map((i) =>
    paper(`user-${i}`, 2023, `Evaluating language models on understanding tasks, study ${i}`, `We evaluate language models on GLUE and find gains in language understanding; a small language model (SLM) trails. NovaNet runs our evaluation.${i <= 2 ? ' RareBench is harder.' : ''}`),
  ),
  paper('novanet-user', 2022, 'Harnesses for evaluating language models', 'We compare NovaNet with older harnesses for language understanding benchmarks.'),
];

test('foundations: a name mentioned by enough candidates brings its introducing paper, in the right sense', async (t) => {
  const { index, embedder } = await indexPapers(t, corpus, 'litsurvey-foundations-');

  const names = await namedTitles(index);
  assert.deepEqual([...names.get('GLUE')].sort(), ['glue', 'glue-graphs']);
  assert.ok(!names.has('Harnesses'), 'an ordinary first word is no name');

  const candidates = (await fetchPapers(index, ['user-1', 'user-2', 'user-3', 'user-4', 'novanet-user', 'slm'])).map((p) => ({ ...p }));
  const found = await findFoundations(index, embedder, candidates, 10, (ids) => fetchPapers(index, ids));
  // GLUE: four mentions, and of its two papers the language benchmark is the one like its mentioners.
  // SLM: the candidates spell it "small language models", which the titled paper never says.
  // NovaNet (2024) is younger than most of the papers naming it; RareBench has only two mentions.
  assert.deepEqual(
    found.map((f) => [f.name, f.id, [...f.mentionedBy].sort()]),
    [['GLUE', 'glue', ['user-1', 'user-2', 'user-3', 'user-4']]],
  );
  assert.deepEqual(await findFoundations(index, embedder, candidates, 0, (ids) => fetchPapers(index, ids)), []);
});
