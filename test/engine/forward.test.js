// Properties of the forward pass and the block KV cache that hold for any weights: batching
// does not change the result, sequences sharing the block pool do not disturb each other,
// the F16 cache stays close to the F32 one, and the pool's limits are errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { NativeEngine } from '../../dist/engine/engine.js';
import { argmax, prompts, rewriteGguf, synth, tempDir } from './parity-support.js';

const tmp = tempDir();
let model;
let tokens; // 150 tokens: crosses two 64-token block boundaries

before(() => {
  model = synth(tmp.dir, 'qwen3', 'f32');
  tokens = prompts(model.shape.vocab, 1, 150)[0];
});
after(tmp.cleanup);

async function logitsOf(options, chunks) {
  const engine = await NativeEngine.load(model.path, { kvCacheType: 'f32', contextSize: 256, ...options });
  try {
    const session = engine.session();
    const rows = [];
    let at = 0;
    for (const size of chunks) {
      const out = await session.eval(tokens.slice(at, at + size), 'all');
      const vocab = out.length / size;
      for (let i = 0; i < size; i++) rows.push(out.subarray(i * vocab, (i + 1) * vocab));
      at += size;
    }
    await session.close();
    return rows;
  } finally {
    await engine.close();
  }
}

function maxRelDiff(a, b) {
  let diff = 0, scale = 0;
  for (let p = 0; p < a.length; p++) {
    for (let v = 0; v < a[p].length; v++) {
      diff = Math.max(diff, Math.abs(a[p][v] - b[p][v]));
      scale = Math.max(scale, Math.abs(a[p][v]));
    }
  }
  return diff / scale;
}

test('prefill in one batch, in small batches and token by token give the same logits', async () => {
  const whole = await logitsOf({}, [150]);
  const batched = await logitsOf({ batchSize: 7 }, [150]);
  const stepwise = await logitsOf({}, [100, ...new Array(50).fill(1)]);
  assert.ok(maxRelDiff(whole, batched) < 1e-5, `batched: ${maxRelDiff(whole, batched)}`);
  assert.ok(maxRelDiff(whole, stepwise) < 1e-5, `stepwise: ${maxRelDiff(whole, stepwise)}`);
});

test('interleaved sequences in one block pool do not disturb each other', async () => {
  const alone = await logitsOf({}, [150]);
  const engine = await NativeEngine.load(model.path, { kvCacheType: 'f32', contextSize: 256 });
  try {
    const a = engine.session();
    const b = engine.session();
    await a.eval(tokens.slice(0, 70), 'none');
    await b.eval(tokens.slice(70, 140).reverse(), 'none');
    const rest = await a.eval(tokens.slice(70), 'all');
    const vocab = model.shape.vocab;
    const rows = Array.from({ length: 80 }, (_, i) => rest.subarray(i * vocab, (i + 1) * vocab));
    assert.ok(maxRelDiff(alone.slice(70), rows) < 1e-5);
    // A reset sequence starts over at position 0.
    await a.reset();
    const first = await a.eval(tokens.slice(0, 1), 'last');
    assert.ok(maxRelDiff([alone[0]], [first]) < 1e-5);
    await a.close();
    await b.close();
  } finally {
    await engine.close();
  }
});

test('the F16 KV cache stays close to the F32 cache', async () => {
  const f32 = await logitsOf({}, [150]);
  const f16 = await logitsOf({ kvCacheType: 'f16' }, [150]);
  const rel = maxRelDiff(f32, f16);
  assert.ok(rel < 1e-2, `rel diff ${rel}`);
  const agree = f32.filter((row, i) => argmax(row) === argmax(f16[i])).length;
  assert.ok(agree >= 0.95 * f32.length, `argmax agreement ${agree}/${f32.length}`);
});

test('the pool limits sequences and positions', async () => {
  const engine = await NativeEngine.load(model.path, { contextSize: 128, maxSequences: 1 });
  try {
    const s = engine.session();
    assert.throws(() => engine.session(), /sequences are in use/);
    await s.eval(tokens.slice(0, 128), 'none');
    await assert.rejects(s.eval(tokens.slice(0, 1), 'last'), /context overflow/);
    await s.close();
    const again = engine.session();
    assert.equal((await again.eval(tokens.slice(0, 3), 'last')).length, model.shape.vocab);
    await again.close();
  } finally {
    await engine.close();
  }
});

test('a model file the engine cannot run is a clear error', async () => {
  const rewrite = (name, edit) => rewriteGguf(model.path, `${tmp.dir}/${name}.gguf`, edit);
  const missing = rewrite('missing-tensor', (_m, tensors) => tensors.filter((t) => t.name !== 'blk.1.ffn_up.weight'));
  await assert.rejects(NativeEngine.load(missing), /missing tensor blk\.1\.ffn_up\.weight/);
  const arch = rewrite('unknown-arch', (m) => {
    m.set('general.architecture', { type: 'string', value: 'gptj' });
  });
  await assert.rejects(NativeEngine.load(arch), /architecture 'gptj' is not supported/);
  const heads = rewrite('bad-heads', (m) => {
    m.set('qwen3.attention.head_count_kv', { type: 'u32', value: 3 });
  });
  await assert.rejects(NativeEngine.load(heads), /head_count_kv/);
  const shape = rewrite('bad-shape', (m) => {
    m.set('qwen3.feed_forward_length', { type: 'u32', value: model.shape.ffn * 2 });
  });
  await assert.rejects(NativeEngine.load(shape), /ffn_gate\.weight has shape/);
});
