// Child process of gguf-fuzz.test.js: inspects mutated GGUF files with the normal addon build.
// Every case must parse or throw an Error; prints {cases, parsed, rejected} as JSON. A crash
// of the addon kills this process, which the parent sees as a failure.
// Usage: node gguf-fuzz-worker.js CASES SEED [SEED_FILE...]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { native } from '../../dist/engine/native.js';
import { buildGguf, TensorType } from './gguf-builder.js';

const [casesArg, seedArg, ...seedFiles] = process.argv.slice(2);
const cases = Number(casesArg);
let state = BigInt(seedArg) | 1n;
/** xorshift64*: a seeded generator, so a failing run can be replayed. */
function rand(n) {
  state ^= state >> 12n;
  state ^= (state << 25n) & 0xffffffffffffffffn;
  state ^= state >> 27n;
  const out = (state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  return n === undefined ? out : Number(out % BigInt(n));
}

const seeds = [
  buildGguf({
    kv: [
      { key: 'general.architecture', type: 'string', value: 'llama' },
      { key: 'general.alignment', type: 'u32', value: 32 },
      { key: 'llama.block_count', type: 'u32', value: 1 },
      { key: 'x.f32', type: 'f32', value: 0.5 },
      { key: 'x.i64', type: 'i64', value: -7n },
      { key: 'x.ints', type: 'array', elemType: 'i32', value: [1, 2, 3] },
      { key: 'tokenizer.ggml.tokens', type: 'array', elemType: 'string', value: ['<unk>', 'a', 'b'] },
    ],
    tensors: [
      { name: 'a', type: TensorType.F32, dims: [4, 2] },
      { name: 'b', type: TensorType.Q8_0, dims: [32, 2] },
      { name: 'c', type: TensorType.Q4_K, dims: [256] },
      { name: 'd', type: TensorType.Q6_K, dims: [256, 1, 2] },
      { name: 'e', type: TensorType.BF16, dims: [8] },
    ],
  }),
  buildGguf({ version: 2, kv: [{ key: 'k', type: 'array', elemType: 'f32', value: [1, 2, 3, 4] }] }),
  ...seedFiles.map((f) => readFileSync(f)),
];

const INTERESTING = [0n, 1n, 2n, 4n, 8n, 9n, 13n, 31n, 32n, 33n, 255n, 256n, 0x7fffffffn, 0xffffffffn, 1n << 32n, 1n << 62n, (1n << 64n) - 1n];

function mutate(b) {
  const at = () => (rand(2) ? rand(Math.min(b.length, 512)) : rand(b.length));
  switch (rand(5)) {
    case 0:
      for (let n = 1 + rand(8); n > 0 && b.length; n--) b[at()] ^= 1 << rand(8);
      return b;
    case 1: {
      if (b.length < 8) return b;
      const v = rand(4) === 0 ? BigInt(b.length) : INTERESTING[rand(INTERESTING.length)];
      const pos = Math.min(at(), b.length - 8);
      if (rand(2)) b.writeBigUInt64LE(v, pos);
      else b.writeUInt32LE(Number(v & 0xffffffffn), pos);
      return b;
    }
    case 2:
      return b.subarray(0, rand(b.length + 1));
    case 3: {
      const other = seeds[rand(seeds.length)];
      return Buffer.concat([b.subarray(0, rand(b.length + 1)), other.subarray(rand(other.length + 1))]);
    }
    default: {
      const pos = at();
      return Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1 + rand(16))]);
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'litsurvey-gguf-fuzz-'));
let parsed = 0;
let rejected = 0;
try {
  for (let c = 0; c < cases; c++) {
    let bytes = Buffer.from(seeds[rand(seeds.length)]);
    for (let r = 1 + rand(3); r > 0; r--) bytes = mutate(bytes);
    const path = join(dir, `case${c % 8}.gguf`);
    writeFileSync(path, bytes);
    try {
      native.ggufInspect(path);
      parsed++;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith(path + ': ')) {
        throw new Error(`case ${c}: unexpected rejection ${String(err?.message ?? err)}`);
      }
      rejected++;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ cases, parsed, rejected }));
