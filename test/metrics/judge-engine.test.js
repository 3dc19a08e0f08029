// The engine judge and the rubric with the real native engine on a tiny random-weight model:
// the verdicts mean nothing, but the plumbing does — prompt layout, yes/no log-probabilities,
// the score's definition, evidence spans, rubric distributions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NativeEngine } from '../../dist/engine/engine.js';
import { rubricScores } from '../../dist/metrics/content-quality.js';
import { evaluateSurvey } from '../../dist/metrics/evaluate.js';
import { EngineJudge, judgePrompt } from '../../dist/metrics/judge-engine.js';
import { loadTemplate } from '../../dist/templates.js';
import { synth, tempDir } from '../engine/parity-support.js';
import { papers, source, survey } from './support.js';

const tmp = tempDir();
let engine;

before(async () => {
  const model = synth(tmp.dir, 'llama', 'f32');
  engine = await NativeEngine.load(model.path, { kvCacheType: 'f32', contextSize: 1024 });
});

after(async () => {
  await engine?.close();
  tmp.cleanup();
});

const evidence = (id) => {
  const p = papers.find((x) => x.id === id);
  return [{ paperId: p.id, title: p.title, abstract: p.abstract }];
};

test('the prompt puts the evidence first, so claims citing the same paper share a prefix', () => {
  const template = loadTemplate('judge').body.trimEnd();
  const a = judgePrompt(template, 'RAG-QA improves exact match [1].', evidence('fx:rag'));
  const b = judgePrompt(template, 'Retrieval helps on arithmetic [1].', evidence('fx:rag'));
  const shared = a.slice(0, [...a].findIndex((ch, i) => ch !== b[i]));
  assert.ok(shared.includes('Retrieval does not help on arithmetic questions.'));
  assert.ok(a.endsWith('Answer:'));
  assert.ok(!a.includes('[1].'), 'citation markers are removed from the claim');
});

test('the verdict is the yes-vs-no log-probability comparison, with the lexical evidence span', async () => {
  const judge = new EngineJudge(engine);
  const claim = 'RAG-QA improves exact match on Natural Questions by 4.2 points [2].';
  const v = await judge.judge(claim, evidence('fx:rag'));
  const prompt = judgePrompt(loadTemplate('judge').body.trimEnd(), claim, evidence('fx:rag'));
  const yes = (await engine.score(prompt, ' yes')).total;
  const no = (await engine.score(prompt, ' no')).total;
  assert.ok(Number.isFinite(yes) && Number.isFinite(no) && yes < 0 && no < 0);
  assert.ok(Math.abs(v.score - 1 / (1 + Math.exp(no - yes))) < 1e-9);
  assert.equal(v.supported, yes >= no);
  assert.match(v.span.text, /Natural Questions by 4\.2 points/);
  assert.deepEqual(await judge.judge(claim, []), { supported: false, score: 0, span: null });
});

test('a whole survey with the engine judge and the rubric', async () => {
  const e = await evaluateSurvey(survey('known-answers.md'), { source: source(), judge: new EngineJudge(engine), rubricEngine: engine, citationAnalysis: false });
  assert.equal(e.facts.judge, 'engine');
  assert.equal(e.facts.claims.length, 6);
  for (const c of e.facts.claims) assert.ok(c.score >= 0 && c.score <= 1);
  assert.deepEqual(Object.keys(e.quality.rubric).sort(), ['coverage', 'depth', 'novelty', 'relevance']);
  for (const r of Object.values(e.quality.rubric)) {
    assert.ok(r.expected >= 1 && r.expected <= 5);
    assert.ok([1, 2, 3, 4, 5].includes(r.best));
  }
  const direct = await rubricScores(engine, 'x', '# T\n\nShort.');
  assert.equal(Object.keys(direct).length, 4);
});
