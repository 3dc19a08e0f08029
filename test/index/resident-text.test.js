// The resident BM25 index ranks as LanceDB's full-text search does, on a real LanceDB index:
// the token chain against LanceDB's own tokenizer (table.tokenize, with the index's settings), and
// the top 100 of MultiMatchQuery(title ×2, abstract) against the resident top 100 for queries with
// stop words, punctuation, accents, stemming cases and repeated terms, with and without filters;
// and search() on a handle with resident vectors takes its BM25 ranking from the postings.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareRankings } from '../../dist/bench/ranking-agreement.js';
import { ingest } from '../../dist/corpus/ingest.js';
import { ftsTerms } from '../../dist/index/fts-tokenizer.js';
import { PaperIndex } from '../../dist/index/paper-index.js';
import { ResidentText } from '../../dist/index/resident-text.js';
import { TEXT_COLUMNS } from '../../dist/index/resident-vectors.js';
import { filterSql, search, textQuery, TEXT_BOOSTS } from '../../dist/index/search.js';
import { filterMask } from '../../dist/index/filter-mask.js';
import { SifEmbedder } from '../../dist/index/sif-embedder.js';
import { cacheDir, root, tempDir } from '../helpers.js';

const embedder = new SifEmbedder(cacheDir);

/** Words the token chain treats specially: stop words, accents, ligatures, stems, exceptions, long runs. */
const TRICKY = [
  'The', 'of', 'was', 'has', 'this', 'itself', "it's", "don't", 'ourselves', 'Mightn', 'yourselves',
  'café', 'Café', 'naïve', 'Schrödinger', 'Gödel', 'Erdős', 'Łukasiewicz', 'Straße', 'æther', 'Øresund', 'ﬁnancial', 'ﬂow',
  'ﬀ', '½', 'µ-law', 'α-divergence', 'ΣΙΣΥΦΟΣ', 'İstanbul', 'Ⅻ', '①', 'ŧest', 'ĸra', 'ƒoo', 'Ｆｕｌｌｗｉｄｔｈ',
  'running', 'runs', 'generalization', 'generalizing', 'connections', 'hopping', 'hoped', 'agreed', 'feed', 'skies', 'dying',
  'news', 'gently', 'early', 'succeeded', 'proceeding', 'generously', 'communication', 'arsenal', 'sayyid', 'yelling', 'cry',
  'cries', 'ties', 'gaps', 'gas', 'happily', 'relational', 'conditional', 'rational', 'valenci', 'hesitanci', 'digitizer',
  'conformabli', 'radicalli', 'differentli', 'vileli', 'analogousli', 'vietnamization', 'predication', 'operator', 'feudalism',
  'decisiveness', 'hopefulness', 'callousness', 'formaliti', 'sensitiviti', 'sensibiliti', 'triplicate', 'formative', 'formalize',
  'electriciti', 'electrical', 'goodness', 'revival', 'allowance', 'inference', 'airliner', 'gyroscopic', 'adjustable',
  'defensible', 'irritant', 'replacement', 'adjustment', 'dependent', 'adoption', 'homologou', 'communism', 'activate',
  'angulariti', 'homologous', 'effective', 'bowdlerize', 'probate', 'rate', 'cease', 'controll', 'roll', 'BERT-base', 'GPT-4o',
  'x86_64', 'e-mail', 'COVID-19', '2019', '3.14', 'abcdefghijklmnopqrstuvwxyzabcdefghijklm', 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn',
];

/** 1,500 papers mixing the sample abstracts' words with TRICKY ones, with years, venues and categories. */
function synthCorpus(path) {
  const sample = readFileSync(join(root, 'corpus', 'sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const words = sample.flatMap((p) => `${p.title} ${p.abstract}`.split(/\s+/));
  let s = 4242;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const venues = ['NeurIPS', 'ACL', 'EMNLP', 'arXiv', 'SIGIR'];
  const cats = ['cs.CL', 'cs.LG', 'cs.IR', 'cs.AI'];
  const lines = [];
  for (let i = 0; i < 1500; i++) {
    const base = pick(sample);
    const mix = (n) => Array.from({ length: n }, () => (rand() < 0.2 ? pick(TRICKY) : pick(words))).join(rand() < 0.1 ? ', ' : ' ');
    const title = rand() < 0.5 ? `${base.title} ${mix(3)}` : mix(2 + Math.floor(rand() * 8));
    // Some abstracts hold no token at all (stop words and punctuation only).
    const abstract = rand() < 0.02 ? 'The of, and: it was -- this.' : `${base.abstract.split(/\s+/).slice(0, Math.floor(rand() * 30)).join(' ')} ${mix(Math.floor(rand() * 80))}`;
    lines.push(JSON.stringify({ id: `synth:${i}`, title, abstract, year: 2005 + Math.floor(rand() * 20), venue: pick(venues), categories: cats.filter(() => rand() < 0.3), authors: ['A. Author'] }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

const QUERIES = [
  'attention layers for translation',
  'the of and a to in is was this has',
  "what's the state-of-the-art in question-answering?",
  'naïve café Schrödinger Gödel Erdős Łukasiewicz',
  'NAIVE CAFE schrodinger',
  'ﬁnancial ﬂow Straße æther',
  'running runs ran generalization generalizing generalized',
  'connection connections connected connecting',
  'retrieval retrieval retrieval augmented generation',
  'BERT-base GPT-4o x86_64 COVID-19 2019',
  'α-divergence µ-law ΣΙΣΥΦΟΣ',
  'dying lying skies news early gently',
  'communication arsenal generously',
  'zzzzqqq nonexistentterm',
  'subword units for rare words',
  'fact checking summaries with a classifier',
];

test('the token chain is LanceDB\'s, and the resident top 100 is LanceDB\'s up to ties', async (t) => {
  const dir = tempDir(t);
  synthCorpus(join(dir, 'synth.jsonl'));
  const index = await PaperIndex.open(join(dir, 'index'));
  await ingest([join(dir, 'synth.jsonl')], index, embedder);

  // Tokens: every tricky word alone, each sample paper's title and abstract, and the queries.
  const sample = readFileSync(join(root, 'corpus', 'sample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const texts = [...TRICKY, ...QUERIES, ...sample.flatMap((p) => [p.title, p.abstract]), TRICKY.join(' ')];
  for (const text of texts) {
    const want = (await index.papers().tokenize(text, { column: 'abstract' })).map((tok) => tok.text);
    assert.deepEqual(ftsTerms(text), want, `tokens of ${JSON.stringify(text.slice(0, 80))}`);
  }

  // Postings from a read of the table; row ids and filter columns from the resident vectors (the same row order).
  const resident = await index.keepVectorsResident();
  const rowIds = resident.shared.rowIds;
  const read = await index.papers().query().select([...TEXT_COLUMNS]).withRowId().toArrow();
  assert.deepEqual(Array.from(read.getChild('_rowid').toArray()), Array.from(rowIds));
  const text = ResidentText.build(TEXT_COLUMNS.map((name) => read.batches.map((b) => b.getChild(name))));
  const filterSets = [undefined, { since: 2015 }, { until: 2007 }, { categories: ['cs.IR'] }, { venue: 'acl', since: 2010 }];
  const tally = { identical: 0, 'ties only': 0, 'near ties': 0, disagree: 0 };
  let returned = 0;
  for (const filters of filterSets) {
    const mask = filterMask(resident.shared.columns, filters);
    for (const q of QUERIES) {
      const lance = await textQuery(index, q, 100, filterSql(filters)).select(['_score']).withRowId().toArray();
      const top = text.top(q, 100, TEXT_BOOSTS, mask);
      const r = compareRankings({ ids: lance.map((x) => x._rowid), scores: lance.map((x) => x._score) }, { ids: Array.from(top.rows, (i) => rowIds[i]), scores: top.scores });
      assert.notEqual(r.agreement, 'disagree', `${JSON.stringify(q)} with ${JSON.stringify(filters)}: first differs at rank ${r.rank}`);
      assert.ok(r.maxRelative <= 1e-6, `${JSON.stringify(q)}: scores differ by ${r.maxRelative}`);
      tally[r.agreement]++;
      returned += lance.length;
    }
  }
  // The comparison had something to compare: most queries match rows, most rankings are identical.
  assert.ok(returned > filterSets.length * QUERIES.length * 30, `only ${returned} rows returned`);
  assert.ok(tally.identical > (filterSets.length * QUERIES.length) / 3, JSON.stringify(tally));

  // search() takes its BM25 ranking from the resident postings: the same hits as through LanceDB
  // wherever LanceDB's scores have no ties to reorder.
  const cli = await PaperIndex.open(join(dir, 'index'));
  for (const q of QUERIES) {
    const lance = await textQuery(cli, q, 20).select(['_score']).withRowId().toArray();
    const scores = lance.map((x) => x._score);
    if (scores.some((s, i) => i > 0 && Math.abs(s - scores[i - 1]) <= 1e-6 * s)) continue;
    const viaLance = (await search(cli, embedder, q, { k: 20, mode: 'text' })).map((h) => h.id);
    const viaResident = (await search(index, embedder, q, { k: 20, mode: 'text' })).map((h) => h.id);
    assert.deepEqual(viaResident, viaLance, JSON.stringify(q));
  }
});

test('bm25TopK refuses inconsistent postings and bad arguments, naming the field', async () => {
  const { native } = await import('../../dist/engine/native.js');
  const column = { starts: Uint32Array.of(0, 2, 3), docs: Uint32Array.of(0, 1, 1), weights: Float32Array.of(1, 1, 1), documents: 2, boost: 1 };
  assert.deepEqual(Array.from(native.bm25TopK([column], 2, Uint32Array.of(0, 1), 10, null).rows), [1, 0]);
  assert.deepEqual(Array.from(native.bm25TopK([column], 2, Uint32Array.of(0, 1), 10, Uint8Array.of(1, 0)).rows), [0]);
  assert.equal(native.bm25TopK([column], 2, Uint32Array.of(0, 1), 0, null).rows.length, 0);
  assert.throws(() => native.bm25TopK([column], 2, Uint32Array.of(2), 10, null), /term id, offset or row out of range/);
  assert.throws(() => native.bm25TopK([{ ...column, docs: Uint32Array.of(0, 5, 1) }], 2, Uint32Array.of(0), 10, null), /out of range/);
  assert.throws(() => native.bm25TopK([{ ...column, starts: Uint32Array.of(0, 2, 9) }], 2, Uint32Array.of(1), 10, null), /out of range/);
  assert.throws(() => native.bm25TopK([{ ...column, weights: Float32Array.of(1) }], 2, Uint32Array.of(0), 10, null), /docs and weights/);
  assert.throws(() => native.bm25TopK([{ ...column, boost: 0 }], 2, Uint32Array.of(0), 10, null), /boost/);
  assert.throws(() => native.bm25TopK([column], 2, Uint32Array.of(0), 10, new Uint8Array(3)), /mask/);
  const builder = new native.FtsBuilder(1);
  assert.throws(() => builder.scan(0, new Uint8Array(4), Int32Array.of(0, 5)), /offsets must rise within values/);
  assert.throws(() => builder.scan(1, new Uint8Array(4), Int32Array.of(0, 4)), /column/);
  assert.deepEqual(builder.scan(0, new TextEncoder().encode('ab, cd ab'), Int32Array.of(0, 9)), ['ab', 'cd']);
  assert.throws(() => builder.build(Uint32Array.of(0, 1), Uint32Array.of(0), 1), /wordStart must hold 3/);
  assert.throws(() => builder.build(Uint32Array.of(0, 1, 2), Uint32Array.of(0, 7), 1), /inconsistent/);
});
