// Sampling chain (native/src/sampler.cpp) through the test bindings, and the stop-string matcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../dist/engine/native.js';
import { StopStringMatcher } from '../../dist/engine/stop-strings.js';

const { samplerSample, Sampler } = native;
const plain = { topK: 0, topP: 1, minP: 0, temperature: 1 }; // every filter off

const logitsOf = (probs) => new Float32Array(probs.map((p) => Math.log(p)));

/** Ids drawn over many seeds (a fresh sampler each time). */
function support(logits, params, draws = 400) {
  const seen = new Set();
  for (let seed = 0; seed < draws; seed++) seen.add(samplerSample(logits, { ...params, seed }));
  return [...seen].sort((a, b) => a - b);
}

test('greedy picks the argmax, lowest id on ties, never a masked token', () => {
  assert.equal(samplerSample(new Float32Array([0.1, 3, -2, 2.9]), { temperature: 0 }), 1);
  assert.equal(samplerSample(new Float32Array([1, 5, 5, 2]), { temperature: 0 }), 1);
  assert.equal(samplerSample(new Float32Array([-Infinity, -5, -Infinity]), { temperature: -1 }), 1);
  // Over more than 16 logits (the max is found 16 lanes at a time): ties in different lanes
  // still give the lowest id, a max in the tail is found, penalties move the max.
  const wide = Float32Array.from({ length: 45 }, (_, i) => (i % 7) / 10);
  wide[29] = 5;
  wide[19] = 5;
  assert.equal(samplerSample(wide, { temperature: 0 }), 19);
  wide[43] = 6;
  assert.equal(samplerSample(wide, { temperature: 0 }), 43);
  assert.equal(samplerSample(wide, { temperature: 0, repeatPenalty: 2 }, [43]), 19);
  // greedy ignores the seed and the filters
  for (let seed = 0; seed < 20; seed++) assert.equal(samplerSample(new Float32Array([1, 2, 7, 3]), { temperature: 0, seed }), 2);
});

test('top-k keeps exactly the k best tokens', () => {
  const logits = logitsOf([0.3, 0.05, 0.25, 0.2, 0.15, 0.05]);
  assert.deepEqual(support(logits, { ...plain, topK: 3 }), [0, 2, 3]);
  assert.deepEqual(support(logits, { ...plain, topK: 1 }), [0]);
  assert.deepEqual(support(logits, plain), [0, 1, 2, 3, 4, 5]);
});

test('top-p keeps the smallest prefix reaching the mass', () => {
  const logits = logitsOf([0.15, 0.5, 0.05, 0.3]); // sorted: 1 (.5), 3 (.3), 0 (.15), 2 (.05)
  assert.deepEqual(support(logits, { ...plain, topP: 0.75 }), [1, 3]);
  assert.deepEqual(support(logits, { ...plain, topP: 0.85 }), [0, 1, 3]);
  assert.deepEqual(support(logits, { ...plain, topP: 0.4 }), [1]);
  assert.deepEqual(support(logits, { ...plain, topK: 3, topP: 0.75 }), [1, 3]); // after top-k
  // a larger vocabulary: ten tokens at logit 5 hold 60% of the mass; 0.5 needs nine of them,
  // and among equal logits the lower ids come first
  const wide = new Float32Array(1000).fill(0);
  wide.fill(5, 0, 10);
  assert.deepEqual(support(wide, { ...plain, topP: 0.5 }), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('min-p drops tokens below min_p times the best probability', () => {
  const logits = logitsOf([0.15, 0.5, 0.05, 0.3]);
  assert.deepEqual(support(logits, { ...plain, minP: 0.2 }), [0, 1, 3]); // threshold 0.1
  assert.deepEqual(support(logits, { ...plain, minP: 0.5 }), [1, 3]); // threshold 0.25
  // top-k runs before min-p: with k = 2 the 0.15 token is gone whatever min-p says
  assert.deepEqual(support(logits, { ...plain, topK: 2, minP: 0.01 }), [1, 3]);
});

test('temperature: draws follow softmax(logits / T)', () => {
  const logits = new Float32Array([0, 1, 2, 0.5, -1]);
  for (const T of [0.7, 1.6]) {
    const expected = [...logits].map((l) => Math.exp(l / T));
    const z = expected.reduce((a, b) => a + b);
    const sampler = new Sampler({ ...plain, temperature: T, seed: 12345 });
    const n = 20000;
    const counts = new Array(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampler.sample(logits)]++;
    let chi2 = 0;
    counts.forEach((c, i) => {
      const e = (n * expected[i]) / z;
      chi2 += ((c - e) * (c - e)) / e;
    });
    // 4 degrees of freedom: P(chi2 > 18.5) ≈ 0.001
    assert.ok(chi2 < 18.5, `T=${T}: chi-square ${chi2.toFixed(2)} for counts ${counts}`);
  }
});

test('same seed gives the same sequence; reset() replays it; another seed differs', () => {
  const logits = new Float32Array(Array.from({ length: 50 }, (_, i) => Math.sin(i)));
  const params = { temperature: 1.2, topK: 0, topP: 1, minP: 0, seed: 99 };
  const run = (s) => Array.from({ length: 200 }, () => s.sample(logits));
  const a = new Sampler(params);
  const first = run(a);
  assert.deepEqual(run(new Sampler(params)), first);
  a.reset();
  assert.deepEqual(run(a), first);
  assert.notDeepEqual(run(new Sampler({ ...params, seed: 100 })), first);
  // BigInt seeds use all 64 bits
  assert.notDeepEqual(run(new Sampler({ ...params, seed: 2n ** 64n - 1n })), run(new Sampler({ ...params, seed: 2n ** 63n - 1n })));
});

test('repetition, frequency and presence penalties', () => {
  const greedy = { temperature: 0 };
  // positive logits are divided: 2.0 / 1.5 = 1.33 < 1.9
  assert.equal(samplerSample(new Float32Array([2.0, 1.9]), greedy), 0);
  assert.equal(samplerSample(new Float32Array([2.0, 1.9]), { ...greedy, repeatPenalty: 1.5 }, [0]), 1);
  // negative logits are multiplied: -1 * 1.5 = -1.5 < -1.2
  assert.equal(samplerSample(new Float32Array([-1, -1.2]), { ...greedy, repeatPenalty: 1.5 }, [0]), 1);
  // frequency counts occurrences: 1 - 2 * 0.1 = 0.8 < 0.9; presence once: 1 - 0.05 > 0.9
  assert.equal(samplerSample(new Float32Array([1, 0.9]), { ...greedy, frequencyPenalty: 0.1 }, [0, 0]), 1);
  assert.equal(samplerSample(new Float32Array([1, 0.9]), { ...greedy, presencePenalty: 0.05 }, [0, 0]), 0);
  assert.equal(samplerSample(new Float32Array([1, 0.9]), { ...greedy, presencePenalty: 0.2 }, [0, 0]), 1);
  // only the last repeatLastN tokens count
  assert.equal(samplerSample(new Float32Array([2.0, 1.9]), { ...greedy, repeatPenalty: 1.5, repeatLastN: 2 }, [0, 1, 1]), 0);
  assert.equal(samplerSample(new Float32Array([2.0, 1.9]), { ...greedy, repeatPenalty: 1.5, repeatLastN: 0 }, [0]), 0);
  // overflowing penalties leave a drawable (improbable) token, not NaN
  assert.equal(samplerSample(new Float32Array([3e38, 1]), { ...greedy, repeatPenalty: 1e-3 }, [0]), 0);
  assert.equal(samplerSample(new Float32Array([3e38, 1]), { temperature: 1, frequencyPenalty: 3e38 }, [0, 0, 0]), 1);
  // the stateful sampler remembers accepted tokens
  const s = new Sampler({ ...greedy, repeatPenalty: 1.5 });
  assert.equal(s.sample(new Float32Array([2.0, 1.9])), 0);
  s.accept(0);
  assert.equal(s.sample(new Float32Array([2.0, 1.9])), 1);
});

test('invalid parameters and logits are errors naming the problem', () => {
  const l = new Float32Array([1, 2]);
  const cases = [
    [{ temperature: NaN }, /temperature/],
    [{ topK: -1 }, /top_k/],
    [{ topK: 1.5 }, /topK/],
    [{ topP: 0 }, /top_p/],
    [{ topP: Infinity }, /top_p/],
    [{ minP: 2 }, /min_p/],
    [{ repeatPenalty: 0 }, /repeat_penalty/],
    [{ repeatLastN: -1 }, /repeat_last_n/],
    [{ frequencyPenalty: NaN }, /frequency_penalty/],
    [{ presencePenalty: Infinity }, /presence_penalty/],
    [{ seed: -1 }, /seed/],
    [{ seed: 0.5 }, /seed/],
    [{ temperature: 'hot' }, /temperature/],
  ];
  for (const [params, message] of cases) {
    assert.throws(() => samplerSample(l, params), message, JSON.stringify(params));
    assert.throws(() => new Sampler(params), message);
  }
  assert.throws(() => samplerSample(new Float32Array([-Infinity, -Infinity])), /masked/);
  assert.throws(() => samplerSample(new Float32Array([0, NaN])), /token 1 .*NaN/);
  // Past the first 16 (the check runs 16 lanes at a time): the first bad token is named.
  const wide = new Float32Array(40).fill(1);
  wide[37] = NaN;
  wide[21] = Infinity;
  assert.throws(() => samplerSample(wide), /token 21 /);
  assert.throws(() => samplerSample(wide, { temperature: 0.8, seed: 1 }), /token 21 /);
  assert.throws(() => samplerSample(new Float32Array([0, Infinity])), /\+inf/);
  assert.throws(() => samplerSample(new Float32Array(0)), /logits/);
  assert.throws(() => samplerSample([1, 2]), /Float32Array/);
  assert.throws(() => samplerSample(l, {}, [0, -3]), /history/);
});

test('stop strings: held back across pieces, removed from the output', () => {
  const m = new StopStringMatcher(['</answer>', '\n\n']);
  const out = [];
  const feed = (p) => {
    const r = m.push(p);
    out.push(r.text);
    return r;
  };
  assert.equal(feed('Hello <').stopped, false);
  assert.equal(out.join(''), 'Hello '); // '<' might start '</answer>'
  assert.equal(feed('/ans').text, '');
  const r = feed('wer> tail');
  assert.equal(r.stopped, true);
  assert.equal(r.stop, '</answer>');
  assert.equal(out.join(''), 'Hello ');
  assert.throws(() => m.push('more'), /already hit/);

  // a partial match that does not complete is released
  const m2 = new StopStringMatcher(['</answer>']);
  assert.deepEqual(m2.push('a </ans'), { text: 'a ', stopped: false });
  assert.deepEqual(m2.push('x'), { text: '</ansx', stopped: false });
  assert.deepEqual(m2.push(' </a'), { text: ' ', stopped: false });
  assert.equal(m2.flush(), '</a');

  // the earliest stop wins, even when another completes in the same piece
  const m3 = new StopStringMatcher(['END', 'D!']);
  assert.deepEqual(m3.push('xEND!'), { text: 'x', stopped: true, stop: 'END' });
  // stop inside one piece, and overlapping prefixes ('aab' after 'aa')
  const m4 = new StopStringMatcher(['aab']);
  assert.deepEqual(m4.push('caa'), { text: 'c', stopped: false });
  assert.deepEqual(m4.push('a'), { text: 'a', stopped: false });
  assert.deepEqual(m4.push('b'), { text: '', stopped: true, stop: 'aab' });
  assert.throws(() => new StopStringMatcher(['']), /non-empty/);
});
