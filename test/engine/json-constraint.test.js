// JSON-constrained masking (native/src/json_constraint.cpp) driven from JS without a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../dist/engine/native.js';
import { seededRandom } from '../../dist/pipeline/extractive/text.js';

const { JsonConstraint } = native;

// Toy vocabulary: every JSON-relevant single byte, multi-byte pieces that cross token boundaries,
// pieces of UTF-8 split across tokens, an empty (control) piece and EOS last.
const singles = [...'{}[],:"\\/ \n\t0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+_'];
const multis = ['{"', '":', '": "', '",', '","', '"}', ']}', '"]', '[{"', '}]', '},{"', 'true', 'false', 'null', 'nu', 'll',
  '"title"', '"sections"', '"brief"', '"queries"', '"count"', 'title', 'sections', '\\u00e9', '\\n', '12', '.5', 'e-3',
  '  ', '\n  ', '"a', 'é', '日本', ', ', ': ', '"]}', '"}]}'];
const toy = [...singles, ...multis].map((s) => Buffer.from(s, 'utf8'));
toy.push(Buffer.from([0xc3]), Buffer.from([0xa9]), Buffer.from([0xe6, 0x97]), Buffer.from([0xa5]), Buffer.from([0xff]));
toy.push(Buffer.alloc(0)); // a control token: never allowed
const EOS = toy.length;
toy.push(Buffer.from('</s>'));
const idOf = (s) => toy.findIndex((b) => b.equals(Buffer.from(s, 'utf8')));

/** Accepts toy pieces (given as text, or EOS) one by one. */
function feed(c, ...pieces) {
  for (const p of pieces) {
    const id = p === EOS ? EOS : idOf(p);
    assert.ok(id >= 0, `no toy piece ${JSON.stringify(p)}`);
    c.accept(id);
  }
}

// Once a walk is long enough it prefers tokens that close things, in this order.
// Declared keys come first, then single closing bytes: a multi-byte closer like ']}' would only
// lengthen a string or key it is allowed in.
const closers = ['"title"', '"brief"', '"queries"', '"count"', '"sections"', '"', '}', ']', ':', '0', 'null', ',', '{', '[']
  .map(idOf);

/**
 * Random walk over allowed tokens until EOS; asserts at every step that some token is allowed
 * (no dead ends) and returns the decoded text.
 */
function walk(schema, seed, limits) {
  const c = new JsonConstraint(toy, [EOS], schema, limits);
  const rand = seededRandom(seed);
  const bytes = [];
  for (let step = 0; step < 5000; step++) {
    const allowed = c.allowedIds();
    assert.ok(allowed.length > 0, `dead end after ${JSON.stringify(Buffer.concat(bytes).toString('latin1'))}`);
    assert.ok(!allowed.includes(EOS - 1), 'an empty piece was allowed');
    const set = new Set(allowed);
    // the trie search behind allowedIds() agrees with simulating every token on its own
    for (let id = 0; id < toy.length; id++) assert.equal(c.allowed(id), set.has(id), `token ${id} after step ${step}`);
    let pick;
    if (set.has(EOS) && (step > 40 || rand() < 0.3)) pick = EOS;
    else if (step > 40 && rand() < 0.9) pick = closers.find((id) => set.has(id));
    if (pick === undefined) pick = allowed[Math.floor(rand() * allowed.length)];
    assert.equal(c.allowed(pick), true);
    c.accept(pick);
    if (pick === EOS) {
      assert.equal(c.finished(), true);
      assert.equal(c.allowedIds().length, 0);
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(bytes));
    }
    bytes.push(toy[pick]);
  }
  assert.fail(`walk did not terminate: ${Buffer.concat(bytes).toString().slice(0, 300)}`);
}

test('random walks over allowed tokens always end in valid JSON', () => {
  const kinds = new Set();
  for (let seed = 1; seed <= 300; seed++) {
    const text = walk(undefined, seed);
    const value = JSON.parse(text); // throws on invalid JSON
    kinds.add(Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value);
  }
  // the walks explore all kinds of top-level values
  assert.deepEqual([...kinds].sort(), ['array', 'boolean', 'null', 'number', 'object', 'string']);
});

const planSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'sections'],
  properties: {
    title: { type: 'string' },
    sections: {
      type: 'array',
      minItems: 1,
      maxItems: 3,
      items: {
        type: 'object',
        required: ['title', 'brief', 'queries'],
        properties: {
          title: { type: 'string' },
          brief: { type: 'string' },
          queries: { type: 'array', items: { type: 'string' }, maxItems: 2 },
          count: { type: 'integer' },
        },
      },
    },
  },
};

test('random walks under a planner schema produce conforming objects', () => {
  for (let seed = 1; seed <= 150; seed++) {
    const text = walk(planSchema, seed);
    const plan = JSON.parse(text);
    assert.deepEqual(Object.keys(plan).sort(), ['sections', 'title'], text);
    assert.equal(typeof plan.title, 'string');
    assert.ok(Array.isArray(plan.sections) && plan.sections.length >= 1 && plan.sections.length <= 3, text);
    for (const s of plan.sections) {
      assert.equal(typeof s, 'object');
      assert.equal(typeof s.title, 'string', text);
      assert.equal(typeof s.brief, 'string', text);
      assert.ok(Array.isArray(s.queries) && s.queries.length <= 2 && s.queries.every((q) => typeof q === 'string'), text);
      if ('count' in s) assert.ok(Number.isInteger(s.count), text);
    }
  }
});

test('nesting limit never dead-ends, even when the schema needs depth', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const text = walk(undefined, seed, { maxDepth: 2, maxWhitespaceRun: 1, maxNumberBytes: 3 });
    const depth = (v) => (v && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    assert.ok(depth(JSON.parse(text)) <= 2, text);
    const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    assert.ok(!/\s\s/.test(outsideStrings), text);
  }
  // a schema needing 3 levels raises a limit of 1 instead of being unsatisfiable
  const deep = { type: 'array', minItems: 1, items: { type: 'array', minItems: 1, items: { type: 'object' } } };
  for (let seed = 1; seed <= 20; seed++) {
    const v = JSON.parse(walk(deep, seed, { maxDepth: 1 }));
    assert.equal(typeof v[0][0], 'object');
  }
});

test('byte-level grammar: what is accepted and what is refused', () => {
  const make = (schema, limits) => new JsonConstraint(toy, [EOS], schema, limits);
  const refuses = (c, piece) => assert.equal(c.allowed(idOf(piece)), false, `should refuse ${JSON.stringify(piece)}`);
  const allows = (c, piece) => assert.equal(c.allowed(idOf(piece)), true, `should allow ${JSON.stringify(piece)}`);

  let c = make();
  refuses(c, '}');
  refuses(c, ',');
  assert.equal(c.allowed(EOS), false);
  feed(c, '{');
  assert.equal(c.done(), false);
  assert.equal(c.allowed(EOS), false);
  feed(c, '}');
  assert.equal(c.done(), true);
  assert.equal(c.allowed(EOS), true);
  refuses(c, '{'); // one value only
  allows(c, '\n'); // trailing whitespace before EOS
  assert.throws(() => c.accept(idOf('0')), /token \d+ is not allowed/);

  c = make(); // numbers: no leading zeros, complete before EOS, top-level number may continue
  feed(c, '0');
  refuses(c, '1');
  allows(c, '.5');
  feed(c, '.', '5', 'e');
  assert.equal(c.allowed(EOS), false);
  feed(c, '-', '3');
  assert.equal(c.allowed(EOS), true);
  allows(c, '7');

  c = make(); // strings: escapes, \u with 4 hex digits, UTF-8 split across tokens
  feed(c, '"', '\\');
  refuses(c, 'x');
  feed(c, 'u', '0', '0');
  refuses(c, 'g');
  feed(c, 'e', '9');
  c.accept(toy.findIndex((b) => b.length === 1 && b[0] === 0xc3));
  refuses(c, 'a'); // continuation byte due
  assert.equal(c.allowed(toy.findIndex((b) => b.length === 1 && b[0] === 0xff)), false);
  c.accept(toy.findIndex((b) => b.length === 1 && b[0] === 0xa9));
  refuses(c, '\n'); // raw control byte
  feed(c, '"');
  assert.equal(c.done(), true);

  c = make(); // literals and trailing commas
  feed(c, '[', 'nu');
  refuses(c, 'true');
  feed(c, 'll', ',');
  refuses(c, ']');
  feed(c, 'f', 'a', 'l', 's', 'e', ']');
  assert.equal(c.done(), true);

  c = make(undefined, { maxWhitespaceRun: 3 }); // whitespace runs are bounded
  feed(c, ' ', '\n', ' ');
  refuses(c, ' ');
  feed(c, '[');
  allows(c, '  ');

  c = make({ type: 'object', properties: { n: { type: 'integer' }, s: { type: ['string', 'null'] } } });
  refuses(c, '[');
  feed(c, '{', '"', 'n', '"', ':');
  refuses(c, '"');
  feed(c, '1', '2');
  refuses(c, '.');
  refuses(c, 'e');
  feed(c, ',', '"', 's', '":');
  refuses(c, '0');
  allows(c, 'null');
  feed(c, '"', '"', ',', '"', 'n');
  refuses(c, '"'); // "n" again: a declared key appears once
  feed(c, 'x', '"', ':', '[', ']', '}'); // undeclared keys are free
  assert.equal(c.done(), true);

  c = make({ type: 'object', additionalProperties: false, required: ['title'], properties: { title: { type: 'string' }, tags: {} } });
  feed(c, '{');
  refuses(c, '}'); // required key missing
  refuses(c, '"a'); // no declared key starts with a
  feed(c, '"', 't');
  refuses(c, 'x');
  allows(c, 'a');
  feed(c, 'a', 'g', 's', '"', ':', '{', '}');
  refuses(c, '}');
  feed(c, ',', '"title"', ':', '"', '"');
  refuses(c, ','); // every declared key is used
  feed(c, '}', EOS);
  assert.equal(c.finished(), true);
  assert.equal(c.done(), true);

  c = make({ type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 });
  feed(c, '[');
  refuses(c, ']');
  refuses(c, '0');
  feed(c, 'true', ',', 'false');
  refuses(c, ',');
  feed(c, ']');
  assert.equal(c.done(), true);

  c = make({ type: 'array', maxItems: 0 });
  feed(c, '[');
  refuses(c, '0');
  refuses(c, '"');
  feed(c, ']');
  assert.equal(c.done(), true);
});

test('mask() sets -inf exactly on the refused ids and returns the allowed count', () => {
  const c = new JsonConstraint(toy, [EOS], planSchema);
  const logits = new Float32Array(toy.length + 3).fill(1); // ids past the vocabulary are refused
  const n = c.mask(logits);
  const allowed = [...c.allowedIds()];
  assert.equal(n, allowed.length);
  assert.deepEqual(allowed.map((id) => toy[id].toString()).sort(), ['\t', '\n', '\n  ', ' ', '  ', '{', '{"'].sort());
  for (let i = 0; i < logits.length; i++) assert.equal(logits[i] === 1, allowed.includes(i), `id ${i}`);
});

test('bad schemas, vocabularies and ids are errors naming the problem', () => {
  const bad = [
    [{ type: 'object', enum: [1] }, /enum.* not a supported keyword/],
    [{ type: 'text' }, /type "text" is not supported/],
    [{ type: 'object', required: ['a'], properties: {} }, /required names "a"/],
    [{ type: 'array', minItems: 3, maxItems: 2 }, /minItems exceeds maxItems/],
    [{ type: 'array', items: [{}] }, /tuples are not supported/],
    [{ additionalProperties: {} }, /true or false/],
    [{ minItems: -1 }, /non-negative integer/],
    ['{"type": "object",}', /json schema/],
    ['[]', /schema must be an object/],
    [42, /JSON string or an object/],
  ];
  for (const [schema, message] of bad) assert.throws(() => new JsonConstraint(toy, [EOS], schema), message, JSON.stringify(schema));
  assert.throws(() => new JsonConstraint(toy, [toy.length]), /EOS id .* outside/);
  assert.throws(() => new JsonConstraint('abc', [0]), /pieces must be an array/);
  assert.throws(() => new JsonConstraint([1, 2], [0]), /pieces\[0\]/);
  assert.throws(() => new JsonConstraint(toy, [EOS], undefined, { maxDepth: 0 }), /max_depth/);
  const c = new JsonConstraint(toy, [EOS]);
  assert.equal(c.allowed(-1), false);
  assert.equal(c.allowed(toy.length), false);
  assert.throws(() => c.accept(toy.length + 5), /not allowed/);
  assert.throws(() => c.accept('x'), /integer/);
  assert.throws(() => c.mask([1, 2]), /Float32Array/);
});

// ---- real vocabularies (pieces from the native tokenizer) ------------------------------------

const planText = JSON.stringify({
  title: 'Survey of graph neural networks',
  sections: [
    { title: 'Introduction', brief: 'Background, scope and the "why" — naïve baselines.', queries: ['graph neural network survey', 'message passing'] },
    { title: 'Scaling', brief: 'Sampling and sparse training.', queries: [], count: 12 },
  ],
}, null, 1);

for (const name of ['gpt-2', 'llama-spm']) {
  test(`real ${name} vocabulary: a tokenized plan passes, masking cost per step`, () => {
    const tokenizer = new native.Tokenizer(`/work/shared/vocab/ggml-vocab-${name}.gguf`);
    const info = tokenizer.info();
    const pieces = Array.from({ length: info.nTokens }, (_, id) => tokenizer.tokenToPiece(id, false));
    let t0 = performance.now();
    const c = new JsonConstraint(pieces, info.eog, planSchema);
    const buildMs = performance.now() - t0;

    const ids = [...tokenizer.tokenize(planText)];
    const logits = new Float32Array(info.nTokens);
    const times = [];
    ids.forEach((id, step) => {
      logits.fill(0);
      t0 = performance.now();
      c.mask(logits);
      times.push(performance.now() - t0);
      assert.equal(logits[id], 0, `token ${id} (${JSON.stringify(Buffer.from(pieces[id]).toString())}) masked at step ${step}`);
      if (step % 10 === 0) {
        for (let i = 0; i < info.nTokens; i += 13) assert.equal(c.allowed(i), logits[i] === 0, `step ${step}: token ${i}`);
      }
      c.accept(id);
    });
    assert.equal(c.allowed(info.eog[0]), true);
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b) / times.length;
    console.log(`${name} (${info.nTokens} tokens): index ${buildMs.toFixed(1)} ms; mask over ${times.length} steps: ` +
      `mean ${mean.toFixed(3)} ms, median ${times[times.length >> 1].toFixed(3)} ms, max ${times.at(-1).toFixed(3)} ms`);

    // the same document with a number for the title is refused at the number
    const bad = new JsonConstraint(pieces, info.eog, planSchema);
    const badIds = [...tokenizer.tokenize('{"title": 5')];
    badIds.slice(0, -1).forEach((id) => bad.accept(id));
    assert.equal(bad.allowed(badIds.at(-1)), false);
  });
}
