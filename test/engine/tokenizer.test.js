// Native tokenizer conformance: llama.cpp's own test vectors (.inp/.out beside the vocab GGUFs)
// and, for pre-tokenizers without vectors (Qwen2, Llama 3), agreement with node-llama-cpp —
// the llama.cpp this engine must match — on the same strings and on generated ones.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { getLlama } from 'node-llama-cpp';

import { Tokenizer } from '../../dist/engine/tokenizer.js';
import { GGUF_TYPE, readGgufMetadata, readVocabTests, rewriteVocabGguf, writeVocabGguf } from './tokenizer-gguf.js';

const VOCAB_DIR = '/work/shared/vocab';
const vocabPath = (name) => join(VOCAB_DIR, `ggml-vocab-${name}.gguf`);
const WITH_VECTORS = ['llama-spm', 'phi-3', 'gpt-2', 'mpt', 'falcon', 'deepseek-llm', 'deepseek-coder'];

const tmp = mkdtempSync(join(tmpdir(), 'litsurvey-tokenizer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Every distinct string of llama.cpp's test inputs.
const allTestStrings = [...new Set(WITH_VECTORS.flatMap((n) => readVocabTests(vocabPath(n)).map((t) => t.text)))];

// Deterministic strings that stress the pre-tokenizers: contractions in both cases, digit runs,
// \r\n and whitespace runs, punctuation, accents, CJK, emoji, combining marks, odd spaces.
function generatedStrings(count, seed) {
  let state = seed;
  const rand = (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const atoms = [' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', 'a', 'Z', 'the', ' world', 'Hello', "'s", "'S", "'re",
    "'LL", "'d", "'ve", '7', '42', '1234567', '3.14', '.', ',', '!?', '...', '$', '+=', '<|', '|>', '`', '"', '#',
    'é', 'Äpfel', 'ß', 'µ', '中文', '한국어', '日本語', '٣٤', '²', 'Ⅻ', 'ΑΩ', 'Жя', '\u0300', '\u200b', '\u3000',
    '\u00a0', '\u2028', '\u0085', '‘', '’', '“', '…', '—', '！', '，', '。', '🦙', '🚀', 'ﬀ',
    '<s>', '</s>', '<unk>', '<|endoftext|>', '<|assistant|>', '<|end|>', '>>TITLE<<'];
  const out = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = 1 + rand(24);
    for (let j = 0; j < n; j++) s += atoms[rand(atoms.length)];
    out.push(s);
  }
  return out;
}

let llama;
before(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
});

describe('llama.cpp tokenizer test vectors', () => {
  for (const name of WITH_VECTORS) {
    test(`${name}: every .inp string gives the .out ids (no BOS, special tokens as text)`, () => {
      const tok = Tokenizer.load(vocabPath(name));
      const cases = readVocabTests(vocabPath(name));
      assert.equal(cases.length, 46);
      for (const { text, ids } of cases) {
        assert.deepEqual(Array.from(tok.tokenize(text)), ids, `tokenize(${JSON.stringify(text)})`);
      }
    });
  }
});

// Compares tokenize (both parseSpecial settings) and detokenize with node-llama-cpp.
async function assertMatchesOracle(ggufPath, strings) {
  const model = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
  try {
    const tok = Tokenizer.load(ggufPath);
    for (const text of strings) {
      for (const parseSpecial of [false, true]) {
        const expected = Array.from(model.tokenize(text, parseSpecial));
        const ids = tok.tokenize(text, { parseSpecial });
        assert.deepEqual(Array.from(ids), expected, `tokenize(${JSON.stringify(text)}, parseSpecial=${parseSpecial})`);
        for (const unparseSpecial of [false, true]) {
          assert.equal(tok.detokenize(ids, { unparseSpecial }), model.detokenize(expected, unparseSpecial),
            `detokenize of ${JSON.stringify(text)}`);
        }
      }
    }
    const { info } = tok;
    assert.equal(info.bos, model.tokens.bos ?? null);
    assert.equal(info.eos, model.tokens.eos ?? null);
    assert.equal(info.eot, model.tokens.eot ?? null);
    assert.equal(info.nl, model.tokens.nl ?? null);
    for (let id = 0; id < info.nTokens; id++) {
      if (model.isEogToken(id) !== tok.isEog(id)) assert.fail(`isEog(${id}) differs from llama.cpp`);
    }
    return tok;
  } finally {
    await model.dispose();
  }
}

describe('agreement with node-llama-cpp', () => {
  const strings = [...allTestStrings, ...generatedStrings(300, 7)];

  for (const name of [...WITH_VECTORS, 'gpt-neox', 'baichuan']) {
    test(`${name}`, async () => {
      await assertMatchesOracle(vocabPath(name), strings);
    });
  }

  // No Qwen2 / Llama 3 vocabulary is at hand: the GPT-2 one relabelled exercises their
  // pre-tokenizers (and Llama 3's ignore_merges / add-BOS defaults) on a real merge table.
  for (const pre of ['qwen2', 'llama-bpe', 'default', 'starcoder']) {
    test(`gpt-2 vocab with pre-tokenizer ${pre}`, async () => {
      const path = join(tmp, `gpt2-${pre}.gguf`);
      rewriteVocabGguf(vocabPath('gpt-2'), path, { 'tokenizer.ggml.pre': pre });
      const tok = await assertMatchesOracle(path, strings);
      assert.equal(tok.info.pre, pre);
      if (pre === 'qwen2') {
        // Qwen2 keeps spaces as they are when decoding, so every text comes back unchanged.
        for (const text of strings) {
          const ids = tok.tokenize(text);
          assert.equal(tok.detokenize(ids), text);
          assert.deepEqual(tok.tokenize(tok.detokenize(ids)), ids);
        }
      }
    });
  }
});

describe('special tokens, BOS/EOS and round trips', () => {
  test('SentencePiece: add-BOS, leading-space rule, round trip', () => {
    const tok = Tokenizer.load(vocabPath('llama-spm'));
    assert.equal(tok.info.model, 'llama');
    assert.equal(tok.info.addBos, true);
    assert.equal(tok.info.addSpacePrefix, true);
    const plain = tok.tokenize('Hello world');
    assert.equal(Buffer.from(tok.tokenToPiece(plain[0])).toString(), ' Hello', 'a space is put before the text');
    const withBos = tok.tokenize('Hello world', { addSpecial: true });
    assert.deepEqual(Array.from(withBos), [tok.info.bos, ...plain]);
    assert.deepEqual(Array.from(tok.tokenize('', { addSpecial: true })), [tok.info.bos]);
    assert.equal(tok.tokenize('').length, 0);
    for (const text of ['Hello world', ' two  spaces', 'Äpfel und Birnen\n\tnew line', '中文 🦙 emoji', 'trailing ']) {
      // The added space is dropped again when the text starts the output...
      const ids = tok.tokenize(text);
      assert.equal(tok.detokenize(ids), text);
      assert.deepEqual(tok.tokenize(tok.detokenize(ids)), ids);
      // ...but kept after a BOS, even one removed by removeSpecial (as in llama.cpp).
      assert.equal(tok.detokenize(tok.tokenize(text, { addSpecial: true }), { removeSpecial: true }), ` ${text}`);
    }
    // Byte-fallback tokens stand for their bytes.
    const emoji = tok.tokenize('🦙');
    assert.ok(emoji.length >= 4, 'a character outside the vocabulary falls back to byte tokens');
    assert.deepEqual(Buffer.concat(Array.from(emoji.slice(1), (id) => tok.tokenToPiece(id))), Buffer.from('🦙'));
  });

  test('control tokens are parsed only with parseSpecial, and render only with unparseSpecial', () => {
    const tok = Tokenizer.load(vocabPath('llama-spm'));
    const bos = tok.info.bos;
    const eos = tok.info.eos;
    const parsed = Array.from(tok.tokenize('<s>Hi</s>', { parseSpecial: true }));
    assert.deepEqual(parsed, [bos, ...tok.tokenize('Hi'), eos]);
    assert.ok(!tok.tokenize('<s>Hi</s>').includes(bos), 'without parseSpecial, <s> is text');
    assert.equal(tok.detokenize(parsed), ' Hi');
    assert.equal(tok.detokenize(parsed, { unparseSpecial: true }), '<s> Hi</s>');
    assert.ok(tok.isEog(eos) && !tok.isEog(bos));
    assert.equal(Buffer.from(tok.tokenToPiece(eos, false)).length, 0);
    assert.equal(Buffer.from(tok.tokenToPiece(eos)).toString(), '</s>');
  });

  test('byte-level BPE: add-BOS follows the vocabulary, pieces are raw bytes', () => {
    const gpt2 = Tokenizer.load(vocabPath('gpt-2'));
    assert.equal(gpt2.info.addBos, false);
    assert.deepEqual(Array.from(gpt2.tokenize('Hi', { addSpecial: true })), Array.from(gpt2.tokenize('Hi')));
    const coder = Tokenizer.load(vocabPath('deepseek-coder'));
    assert.equal(coder.info.addBos, true);
    assert.equal(coder.tokenize('Hi', { addSpecial: true })[0], coder.info.bos);
    const ids = gpt2.tokenize('naïve café');
    assert.deepEqual(Buffer.concat(Array.from(ids, (id) => gpt2.tokenToPiece(id))), Buffer.from('naïve café'));
    assert.equal(gpt2.detokenize(ids), 'naïve café');
  });

  test('phi-3: special tokens swallow the whitespace after them', () => {
    const tok = Tokenizer.load(vocabPath('phi-3'));
    const [assistant] = tok.tokenize('<|assistant|>', { parseSpecial: true });
    assert.deepEqual(Array.from(tok.tokenize('<|assistant|> \n Hi', { parseSpecial: true })), [assistant, ...tok.tokenize('Hi')]);
    assert.ok(!tok.tokenize('<|assistant|> Hi').includes(assistant));
  });

  test('user-defined tokens are matched even without parseSpecial, as llama.cpp does', async () => {
    const [ing] = Tokenizer.load(vocabPath('gpt-2')).tokenize('ing');
    const meta = readGgufMetadata(vocabPath('gpt-2'));
    const kv = meta.kv.map((e) => (e.key === 'tokenizer.ggml.token_type'
      ? { ...e, value: { ...e.value, values: e.value.values.map((t, i) => (i === ing ? 4 : t)) } }
      : e));
    const path = join(tmp, 'gpt2-user-defined.gguf');
    writeVocabGguf(path, kv);
    const tok = await assertMatchesOracle(path, ['singing', 'a bringing ing ings']);
    const ids = Array.from(tok.tokenize('singing'));
    assert.deepEqual(ids.filter((id) => id === ing).length, 2);
    assert.equal(tok.detokenize(ids), 'singing');
  });
});

describe('tokens recognised by their text', () => {
  test('with several end-of-turn candidates, the one llama.cpp picks is the end-of-turn token', async () => {
    const candidates = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<EOT>'];
    const ids = [1000, 1007, 1014, 1021, 1028];
    const meta = readGgufMetadata(vocabPath('gpt-2'));
    const kv = meta.kv.map((e) => (e.key === 'tokenizer.ggml.tokens'
      ? { ...e, value: { ...e.value, values: e.value.values.map((t, i) => candidates[ids.indexOf(i)] ?? t) } }
      : e));
    const path = join(tmp, 'gpt2-eot.gguf');
    writeVocabGguf(path, kv);
    const tok = await assertMatchesOracle(path, ['a<|im_end|>b<|end|>', '<EOT><|eot_id|>']);
    assert.ok([...ids, 50256].includes(tok.info.eot), 'one of the candidates (or GPT-2\'s own <|endoftext|>)');
    for (const id of ids) assert.ok(tok.isEog(id));
  });
});

describe('errors', () => {
  test('a missing file, a foreign tokenizer model and an unknown pre-tokenizer are clear errors', () => {
    assert.throws(() => Tokenizer.load(join(tmp, 'nope.gguf')), /nope\.gguf/);
    const bert = join(tmp, 'bert.gguf');
    rewriteVocabGguf(vocabPath('gpt-2'), bert, { 'tokenizer.ggml.model': 'bert' });
    assert.throws(() => Tokenizer.load(bert), /unsupported tokenizer 'bert'/);
    const odd = join(tmp, 'odd-pre.gguf');
    rewriteVocabGguf(vocabPath('gpt-2'), odd, { 'tokenizer.ggml.pre': 'no-such-pre' });
    assert.throws(() => Tokenizer.load(odd), /unsupported pre-tokenizer 'no-such-pre'/);
    const garbage = join(tmp, 'garbage.gguf');
    writeFileSync(garbage, 'not a gguf file at all');
    assert.throws(() => Tokenizer.load(garbage), /garbage\.gguf/);
  });

  test('vocabularies that contradict themselves are refused', () => {
    const meta = readGgufMetadata(vocabPath('llama-spm'));
    const tokens = meta.kv.find((e) => e.key === 'tokenizer.ggml.tokens');
    const withDuplicate = meta.kv.map((e) =>
      e === tokens ? { ...e, value: { ...e.value, values: e.value.values.map((t, i) => (i === 500 ? e.value.values[400] : t)) } } : e);
    const dup = join(tmp, 'dup.gguf');
    writeVocabGguf(dup, withDuplicate);
    assert.throws(() => Tokenizer.load(dup), /token 500 repeats the text of token 400/);
    const fewScores = meta.kv.map((e) =>
      e.key === 'tokenizer.ggml.scores' ? { ...e, value: { elemType: GGUF_TYPE.F32, values: e.value.values.slice(0, 10) } } : e);
    const short = join(tmp, 'short.gguf');
    writeVocabGguf(short, fewScores);
    assert.throws(() => Tokenizer.load(short), /fewer scores than tokens/);
  });

  test('bad arguments are TypeErrors/RangeErrors, not crashes', () => {
    const tok = Tokenizer.load(vocabPath('gpt-2'));
    assert.throws(() => tok.detokenize([tok.info.nTokens]), RangeError);
    assert.throws(() => tok.detokenize([-1]), RangeError);
    assert.throws(() => tok.detokenize([1.5]), RangeError);
    assert.throws(() => tok.tokenToPiece(1e9), RangeError);
    assert.throws(() => tok.tokenize(42), TypeError);
    assert.throws(() => tok.tokenize('x', { parseSpecial: 'yes' }), TypeError);
  });

  test('a long input tokenizes quickly (no quadratic pre-tokenizer paths)', () => {
    for (const name of ['deepseek-llm', 'llama-spm', 'falcon']) {
      const tok = Tokenizer.load(vocabPath(name));
      const text = `${' '.repeat(20000)}中${'\n'.repeat(5000)}x${'word '.repeat(5000)}`;
      const started = performance.now();
      const ids = tok.tokenize(text);
      assert.ok(ids.length > 0);
      assert.ok(performance.now() - started < 2000, `${name}: ${performance.now() - started} ms`);
    }
  });
});

test('the vocab files this suite reads are present', () => {
  for (const name of WITH_VECTORS) assert.ok(existsSync(`${vocabPath(name)}.inp`), name);
});
