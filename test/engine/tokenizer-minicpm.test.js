// MiniCPM4's real tokenizer (SentencePiece tokenizer.model converted to GGUF by the model
// converter) against node-llama-cpp on llama.cpp's test strings, on corpus abstracts and on a
// chat prompt from the model's own template.
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { getLlama } from 'node-llama-cpp';

import { ChatTemplate } from '../../dist/engine/chat-template.js';
import { convertTokenizer } from '../../dist/engine/modelfile/convert.js';
import { Tokenizer } from '../../dist/engine/tokenizer.js';
import { readVocabTests } from './tokenizer-gguf.js';

const MODEL_DIR = '/work/shared/models/minicpm4-0.5b';
const CORPUS = '/work/shared/corpus/papers-01.jsonl';
const VECTOR_VOCABS = ['llama-spm', 'gpt-2', 'deepseek-llm', 'falcon'];

const tmp = mkdtempSync(join(tmpdir(), 'litsurvey-minicpm-tok-'));
const vocabPath = join(tmp, 'minicpm4-vocab.gguf');
let llama;
let model;
let tok;

before(async () => {
  convertTokenizer(MODEL_DIR, vocabPath);
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  model = await llama.loadModel({ modelPath: vocabPath, vocabOnly: true });
  tok = Tokenizer.load(vocabPath);
});
after(async () => {
  await model?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function firstAbstracts(count) {
  const out = [];
  const lines = createInterface({ input: createReadStream(CORPUS, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const { abstract, title } = JSON.parse(line);
    if (abstract) out.push(`${title}\n\n${abstract}`);
    if (out.length === count) break;
  }
  lines.close();
  return out;
}

function assertSameAsOracle(texts, parseSpecial) {
  for (const text of texts) {
    const expected = Array.from(model.tokenize(text, parseSpecial));
    const ids = tok.tokenize(text, { parseSpecial });
    assert.deepEqual(Array.from(ids), expected, `tokenize(${JSON.stringify(text.slice(0, 80))}…, parseSpecial=${parseSpecial})`);
    assert.equal(tok.detokenize(ids), model.detokenize(expected), 'detokenize');
  }
}

test('MiniCPM4 vocabulary: a SentencePiece tokenizer with ChatML control tokens', () => {
  const { info } = tok;
  assert.equal(info.model, 'llama');
  assert.equal(info.nTokens, 73448);
  assert.equal(info.bos, model.tokens.bos);
  assert.equal(info.eos, model.tokens.eos);
  assert.equal(info.eot, model.tokens.eot ?? null);
  assert.equal(info.addBos, true);
  for (const id of info.eog) assert.ok(model.isEogToken(id), `${id} ends generation in llama.cpp too`);
  assert.ok(tok.isEog(tok.tokenize('<|im_end|>', { parseSpecial: true })[0]));
});

test('MiniCPM4: llama.cpp test strings tokenize as in llama.cpp', () => {
  const strings = [...new Set(VECTOR_VOCABS.flatMap((n) => readVocabTests(`/work/shared/vocab/ggml-vocab-${n}.gguf`).map((t) => t.text)))];
  assertSameAsOracle(strings, false);
  assertSameAsOracle(strings, true);
});

test('MiniCPM4: 200 corpus abstracts tokenize as in llama.cpp and round-trip', async () => {
  const abstracts = await firstAbstracts(200);
  assert.equal(abstracts.length, 200);
  assertSameAsOracle(abstracts, false);
  for (const text of abstracts) {
    assert.equal(tok.detokenize(tok.tokenize(text)), text);
  }
});

test('MiniCPM4: a chat prompt from its template keeps its control tokens', () => {
  const config = JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer_config.json'), 'utf8'));
  const prompt = new ChatTemplate(config.chat_template, { bosToken: '<s>', eosToken: '<|im_end|>' }).render([
    { role: 'system', content: 'You write literature surveys.' },
    { role: 'user', content: 'Summarise retrieval-augmented generation.' },
  ]);
  assertSameAsOracle([prompt], true);
  const ids = Array.from(tok.tokenize(prompt, { addSpecial: true, parseSpecial: true }));
  const [imStart] = tok.tokenize('<|im_start|>', { parseSpecial: true });
  const [imEnd] = tok.tokenize('<|im_end|>', { parseSpecial: true });
  assert.equal(ids[0], tok.info.bos);
  assert.equal(ids[1], imStart);
  assert.equal(ids.filter((id) => id === imStart).length, 3);
  assert.equal(ids.filter((id) => id === imEnd).length, 2);
  assert.equal(tok.detokenize(ids, { unparseSpecial: true, removeSpecial: true }), prompt);
});
