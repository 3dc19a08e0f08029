// Search with resident vectors on a real LanceDB index of 2,500 papers: the vector ranking is the
// exact cosine top n (a JS brute force over the table's own vectors, filtered by LanceDB's own
// `where`), and the in-memory filter mask keeps exactly the rows LanceDB's filter keeps.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../../dist/corpus/ingest.js';
import { filterMask } from '../../dist/index/filter-mask.js';
import { PaperIndex } from '../../dist/index/paper-index.js';
import { filterSql, search } from '../../dist/index/search.js';
import { SifEmbedder } from '../../dist/index/sif-embedder.js';
import { cacheDir, root, tempDir } from '../helpers.js';

const embedder = new SifEmbedder(cacheDir);

/** 2,500 papers mixing the sample abstracts' words, with years (some missing), venues and categories. */
function synthCorpus(path) {
  const sample = readFileSync(join(root, 'corpus', 'sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const words = sample.flatMap((p) => `${p.title} ${p.abstract}`.split(/\s+/));
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const venues = ['NeurIPS', 'ACL', 'EMNLP', 'arXiv', 'SIGIR', 'ACL Workshop on Summarization', 'Proc. 100% Open_Venue'];
  const cats = ['cs.CL', 'cs.LG', 'cs.IR', 'cs.AI', 'stat.ML'];
  const lines = [];
  for (let i = 0; i < 2500; i++) {
    const base = pick(sample);
    const abstract = [...base.abstract.split(/\s+/).slice(0, 20), ...Array.from({ length: 30 }, () => pick(words))].join(' ');
    const categories = cats.filter(() => rand() < 0.3);
    lines.push(JSON.stringify({ id: `synth:${i}`, title: `${base.title} (${i})`, abstract, year: rand() < 0.05 ? null : 2005 + Math.floor(rand() * 20), venue: pick(venues), categories, authors: ['A. Author'] }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

const dot = (a, b) => {
  const s = [0, 0, 0, 0];
  for (let j = 0; j < a.length; j++) s[j % 4] += a[j] * b[j];
  return s[0] + s[1] + (s[2] + s[3]);
};

test('with resident vectors, vector search is the exact cosine top n, filters included', async (t) => {
  const dir = tempDir(t);
  synthCorpus(join(dir, 'synth.jsonl'));
  const index = await PaperIndex.open(join(dir, 'index'));
  await ingest([join(dir, 'synth.jsonl')], index, embedder);
  const resident = await index.keepVectorsResident();
  assert.equal(resident.shared.rowIds.length, 2500);
  // Scan order = the resident row order (ties go to the lower row).
  const all = await index.papers().query().select(['id']).withRowId().toArray();
  const position = new Map(all.map((r, i) => [r.id, i]));

  const filterSets = [
    undefined,
    { since: 2015 },
    { until: 2010.7 },
    { since: 2010, until: 2012, categories: ['cs.IR', 'stat.ML'] },
    { venue: 'acl' },
    { venue: '100%_open' },
    { categories: ['cs.XX'] },
  ];
  const queries = ['subword units for rare words', 'attention layers for translation', 'fact checking summaries with a classifier'];
  for (const filters of filterSets) {
    const where = filterSql(filters);
    let q = index.papers().query().select(['id', 'vector']);
    if (where) q = q.where(where);
    const rows = (await q.toArray()).map((r) => ({ id: r.id, vector: Array.from(r.vector.toArray()) }));
    // The mask keeps what LanceDB's filter keeps.
    const mask = filterMask(resident.shared.columns, filters);
    const kept = new Set(rows.map((r) => r.id));
    if (mask) assert.deepEqual(all.filter((_, i) => mask[i]).map((r) => r.id).sort(), [...kept].sort(), `mask for ${JSON.stringify(filters)}`);
    for (const text of queries) {
      const [v] = await embedder.embed([text]);
      const qn = Math.sqrt(dot(v, v));
      const want = rows
        .map((r) => ({ id: r.id, score: dot(r.vector, v) / (Math.sqrt(dot(r.vector, r.vector)) * qn) }))
        .sort((a, b) => b.score - a.score || position.get(a.id) - position.get(b.id))
        .slice(0, 50)
        .map((r) => r.id);
      const got = await search(index, embedder, text, { k: 50, candidates: 50, mode: 'vector', filters });
      assert.deepEqual(got.map((h) => h.id), want, `${text} with ${JSON.stringify(filters)}`);
    }
  }
  // Hybrid search applies the filters to the vector side too.
  const hybrid = await search(index, embedder, 'translation', { k: 30, filters: { since: 2020, venue: 'neurips' } });
  assert.ok(hybrid.length > 0 && hybrid.every((h) => h.year >= 2020 && h.venue === 'NeurIPS'));
  assert.ok(hybrid.some((h) => h.vectorRank !== undefined));
});
