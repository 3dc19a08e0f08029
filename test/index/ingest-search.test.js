// Ingest into a real LanceDB directory and search it: upserts, de-duplication, embedder checks, hybrid ranking.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../../dist/corpus/ingest.js';
import { PaperIndex } from '../../dist/index/paper-index.js';
import { SifEmbedder } from '../../dist/index/sif-embedder.js';
import { search, fuse, filterSql } from '../../dist/index/search.js';
import { cacheDir, root, tempDir } from '../helpers.js';

const sample = join(root, 'corpus', 'sample.jsonl');
const embedder = new SifEmbedder(cacheDir);

async function sampleIndex(t) {
  const dir = tempDir(t);
  const index = await PaperIndex.open(join(dir, 'index'));
  const report = await ingest([sample], index, embedder);
  return { dir, index, report };
}

test('ingest lands every record and records the embedder', async (t) => {
  const { index, report } = await sampleIndex(t);
  assert.equal(report.added, 36);
  assert.equal(report.bad, 0);
  assert.equal(await index.count(), 36);
  const reopened = await PaperIndex.open(index.uri);
  assert.deepEqual(reopened.meta.embedder, embedder.info);
  assert.equal(reopened.meta.revision, 1);
  assert.ok((await reopened.indexedColumns()).includes('title'));
});

test('adding the same file twice changes nothing; a changed record is updated in place', async (t) => {
  const { dir, index } = await sampleIndex(t);
  const version = await index.papers().version();
  const again = await ingest([sample], index, embedder);
  assert.equal(again.added, 0);
  assert.equal(again.updated, 0);
  assert.equal(again.unchanged, 36);
  assert.equal(await index.papers().version(), version, 'no new table version');
  assert.equal((await PaperIndex.open(index.uri)).meta.revision, 1);

  const changed = join(dir, 'changed.jsonl');
  writeFileSync(changed, JSON.stringify({ id: 'sample:bpe', title: 'Neural Machine Translation of Rare Words with Subword Units', abstract: 'A corrected abstract about byte pair encoding.', year: 2016 }) + '\n');
  const upd = await ingest([changed], index, embedder);
  assert.equal(upd.updated, 1);
  assert.equal(await index.count(), 36);
  const [row] = await index.papers().query().where("id = 'sample:bpe'").toArray();
  assert.equal(row.abstract, 'A corrected abstract about byte pair encoding.');
});

test('a paper with the same normalised title under another id is merged as a duplicate', async (t) => {
  const { dir, index } = await sampleIndex(t);
  const dup = join(dir, 'dup.jsonl');
  writeFileSync(dup, JSON.stringify({ id: 'acl:P16-1162', title: 'Neural machine translation of rare words with subword units.', abstract: 'Same paper from another source.' }) + '\n');
  const r = await ingest([dup], index, embedder);
  assert.equal(r.duplicates, 1);
  assert.equal(r.added, 0);
  assert.equal(await index.count(), 36);
});

test('a query or ingest with another embedder is refused with a clear message', async (t) => {
  const { index } = await sampleIndex(t);
  const other = { info: { name: 'other-embedder', version: '1', dimension: 100 }, embed: embedder.embed.bind(embedder) };
  await assert.rejects(() => search(index, other, 'attention'), /built with sif-glove-wink-100d.*not other-embedder.*litsurvey index rebuild/);
  await assert.rejects(() => ingest([sample], index, other), /litsurvey index rebuild/);
});

test('hybrid search ranks the paraphrased paper first and fuses both rankings', async (t) => {
  const { index } = await sampleIndex(t);
  const cases = [
    ['splitting rare words into subword pieces for translation', 'sample:bpe'],
    ['storing the key value cache in pages shared between requests', 'sample:pagedattention'],
    ['learning from human preference comparisons without a reward model', 'sample:dpo'],
    ['fusing several rankings by the reciprocal of the rank', 'sample:rrf'],
    ['checking whether summaries are consistent with their source documents', 'sample:factcc'],
  ];
  for (const [q, id] of cases) {
    const hits = await search(index, embedder, q, { k: 5 });
    assert.equal(hits[0]?.id, id, `${q} → ${hits.map((h) => h.id).join(', ')}`);
    assert.ok(hits[0].vectorRank !== undefined || hits[0].textRank !== undefined);
  }
  const vectorOnly = await search(index, embedder, 'subword units', { k: 36, mode: 'vector' });
  assert.ok(vectorOnly.every((h) => h.textRank === undefined));
  const textOnly = await search(index, embedder, 'subword units', { k: 36, mode: 'text' });
  assert.ok(textOnly.every((h) => h.vectorRank === undefined));
  assert.ok(textOnly.length < 36, 'BM25 returns only matching papers');
});

test('filters: year range, categories, venue', async (t) => {
  const { index } = await sampleIndex(t);
  const since = await search(index, embedder, 'language models', { k: 50, filters: { since: 2023 } });
  assert.ok(since.length > 0 && since.every((h) => h.year >= 2023));
  const until = await search(index, embedder, 'translation', { k: 50, filters: { until: 2016 } });
  assert.ok(until.length > 0 && until.every((h) => h.year <= 2016));
  const ir = await search(index, embedder, 'retrieval', { k: 50, filters: { categories: ['cs.IR'] } });
  assert.ok(ir.length > 0 && ir.every((h) => h.categories.includes('cs.IR')));
  const neurips = await search(index, embedder, 'models', { k: 50, filters: { venue: 'neurips' } });
  assert.ok(neurips.length > 0 && neurips.every((h) => h.venue === 'NeurIPS'));
  assert.equal(filterSql({ venue: "o'brien" }), "lower(venue) LIKE '%o''brien%'");
});

test('reciprocal rank fusion adds 1/(60+rank) from each ranking', () => {
  const hits = fuse([['a', 'b'], ['b', 'c']], 3);
  assert.deepEqual(hits.map((h) => h.key), ['b', 'a', 'c']);
  assert.ok(Math.abs(hits[0].score - (1 / 62 + 1 / 61)) < 1e-12);
  assert.equal(hits[0].vectorRank, 2);
  assert.equal(hits[0].textRank, 1);
});

test('row takes that overlap in time go to LanceDB together and each gets its own rows', async (t) => {
  const { index } = await sampleIndex(t);
  const all = await index.papers().query().select(['id']).withRowId().toArray();
  const table = index.papers();
  const takes = [];
  const takeRowIds = table.takeRowIds.bind(table);
  table.takeRowIds = (ids) => (takes.push(ids.length), takeRowIds(ids));
  t.after(() => delete table.takeRowIds);
  const groups = [all.slice(0, 3), all.slice(3, 5), all.slice(4, 9), all.slice(20, 21)];
  const results = await Promise.all(groups.map((g) => index.takeRows(g.map((r) => r._rowid), ['id', 'title'])));
  groups.forEach((g, i) => {
    for (const r of g) assert.equal(results[i].get(r._rowid)?.id, r.id);
  });
  assert.deepEqual(takes, [3, 7], 'the first take runs alone; the three that waited go as one take of their distinct rows');
  const vectors = await index.takeRows([all[0]._rowid], ['vector']);
  assert.equal(vectors.get(all[0]._rowid).vector.length, embedder.info.dimension);
});

test('resident vectors give the same searches with no LanceDB read of vectors; a stale shared copy is not adopted', async (t) => {
  const { index } = await sampleIndex(t);
  const queries = ['subword units for rare words', 'attention', 'pretraining language representations'];
  const before = await Promise.all(queries.map((q) => search(index, embedder, q, { k: 10 })));
  const table = index.papers();
  const resident = await index.keepVectorsResident();
  assert.equal(resident.shared.rowIds.length, 36);
  assert.ok(resident.shared.data.buffer instanceof SharedArrayBuffer, 'worker threads can share it');
  const columns = [];
  const takeRowIds = table.takeRowIds.bind(table);
  table.takeRowIds = (ids) => {
    const q = takeRowIds(ids);
    const select = q.select.bind(q);
    q.select = (cols) => (columns.push(...cols), select(cols));
    return q;
  };
  t.after(() => delete table.takeRowIds);
  const after = await Promise.all(queries.map((q) => search(index, embedder, q, { k: 10 })));
  assert.deepEqual(after, before);
  assert.deepEqual(columns, [], 'vectors and result rows came from memory: no LanceDB take');
  const [row] = await table.query().select(['vector']).withRowId().limit(1).toArray();
  assert.deepEqual(Array.from(resident.get(row._rowid)), Array.from(row.vector.toArray()));

  const other = await PaperIndex.open(index.uri);
  const stale = { ...resident.shared, version: resident.shared.version - 1, data: new Float32Array(resident.shared.data.length) };
  const own = await other.keepVectorsResident(stale);
  assert.notEqual(own.shared.data, stale.data, 'vectors of another table version are read afresh');
  assert.deepEqual(Array.from(own.get(row._rowid)), Array.from(row.vector.toArray()));
});
