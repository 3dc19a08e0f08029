import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPapers } from '../../dist/corpus/read.js';
import { normalizeTitle } from '../../dist/corpus/paper.js';
import { fixtures, root, tempDir } from '../helpers.js';

async function readAll(file) {
  const papers = [];
  const bad = [];
  for await (const r of readPapers(file)) ('bad' in r ? bad : papers).push('bad' in r ? r.bad : r.paper);
  return { papers, bad };
}

test('litsurvey JSONL: the sample corpus reads whole', async () => {
  const { papers, bad } = await readAll(join(root, 'corpus', 'sample.jsonl'));
  assert.equal(bad.length, 0);
  assert.equal(papers.length, 36);
  const bpe = papers.find((p) => p.id === 'sample:bpe');
  assert.equal(bpe.year, 2016);
  assert.deepEqual(bpe.authors, ['Rico Sennrich', 'Barry Haddow', 'Alexandra Birch']);
  assert.equal(bpe.source, 'litsurvey-sample');
});

test('arXiv snapshot: ids without version, authors_parsed, year from versions, whitespace collapsed', async () => {
  const { papers, bad } = await readAll(join(fixtures, 'corpus', 'arxiv-snapshot.jsonl'));
  assert.equal(bad.length, 0);
  assert.equal(papers.length, 2);
  const [a, b] = papers;
  assert.equal(a.id, 'arxiv:2401.00001');
  assert.equal(a.title, 'Sparse Attention for Long Documents');
  assert.equal(a.abstract, 'We study block-sparse attention for documents of many thousand tokens. Selected blocks are attended exactly.');
  assert.deepEqual(a.authors, ['Ada Writer', 'Bo Reader', 'Cy Editor']);
  assert.equal(a.year, 2024);
  assert.deepEqual(a.categories, ['cs.CL', 'cs.LG']);
  assert.equal(a.url, 'https://arxiv.org/abs/2401.00001');
  assert.equal(b.year, 2024, 'year from update_date when there are no versions');
  assert.deepEqual(b.authors, ['Dee Author'], 'flat authors string split');
});

test('BibTeX: entries with abstracts, arXiv eprints, @string skipped, missing abstract reported with its line', async () => {
  const { papers, bad } = await readAll(join(fixtures, 'corpus', 'refs.bib'));
  assert.equal(papers.length, 2);
  const s = papers.find((p) => p.id === 'bib:writer2023survey');
  assert.equal(s.title, 'Automatic Survey Generation with Citations');
  assert.equal(s.year, 2023);
  assert.equal(s.venue, 'Proceedings of the Workshop on Scholarly Text');
  assert.equal(s.authors.length, 2);
  assert.ok(s.authors[1].includes('Reader'));
  const x = papers.find((p) => p.id === 'arxiv:2403.00003');
  assert.ok(x, 'arXiv eprint becomes an arxiv: id');
  assert.equal(x.url, 'https://arxiv.org/abs/2403.00003v1');
  assert.equal(bad.length, 1);
  assert.equal(bad[0].line, 24);
  assert.match(bad[0].reason, /missing abstract/);
});

test('CSL-JSON array: items mapped, wrong-typed item reported, the rest land', async () => {
  const { papers, bad } = await readAll(join(fixtures, 'corpus', 'items.json'));
  assert.deepEqual(papers.map((p) => p.id), ['csl-1', 'csl-2']);
  assert.deepEqual(papers[0].authors, ['Fay Checker', 'The Survey Consortium']);
  assert.equal(papers[0].year, 2025);
  assert.deepEqual(papers[0].categories, ['evaluation', 'factuality']);
  assert.equal(papers[1].year, 2022);
  assert.equal(papers[1].url, 'https://doi.org/10.1000/xyz');
  assert.match(papers[1].abstract, /\[with brackets\] and \{braces\}/);
  assert.equal(bad.length, 1);
  assert.equal(bad[0].line, 9);
  assert.match(bad[0].reason, /"title" must be a string/);
});

test('every kind of bad record is reported with file:line and reason; good records still land', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'mixed.jsonl');
  const good = (id) => JSON.stringify({ id, title: `Paper ${id}`, abstract: 'An abstract.' });
  const lines = [
    Buffer.from(good('g1')),
    Buffer.from('{"id": "b1", "title": "Broken'),
    Buffer.from(JSON.stringify({ id: 'b2', abstract: 'no title' })),
    Buffer.from(JSON.stringify({ id: 'b3', title: 'No abstract' })),
    Buffer.from(JSON.stringify({ id: 'b4', title: 'Wrong authors', abstract: 'x', authors: 'A. Person' })),
    Buffer.from(JSON.stringify({ id: 'b5', title: 'Wrong year', abstract: 'x', year: 'soon' })),
    Buffer.concat([Buffer.from('{"id": "b6", "title": "Bad '), Buffer.from([0xff, 0xfe]), Buffer.from('", "abstract": "x"}')]),
    Buffer.from(JSON.stringify({ id: 'b7', title: 'Huge', abstract: 'x'.repeat(10 * 1024 * 1024) })),
    Buffer.from('[1, 2, 3]'),
    Buffer.from(''),
    Buffer.from(good('g2')),
  ];
  writeFileSync(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  const { papers, bad } = await readAll(file);
  assert.deepEqual(papers.map((p) => p.id), ['g1', 'g2']);
  const byLine = Object.fromEntries(bad.map((b) => [b.line, b.reason]));
  assert.match(byLine[2], /broken JSON/);
  assert.match(byLine[3], /missing title/);
  assert.match(byLine[4], /missing abstract/);
  assert.match(byLine[5], /"authors" must be an array of strings/);
  assert.match(byLine[6], /"year" must be an integer/);
  assert.match(byLine[7], /invalid UTF-8/);
  assert.match(byLine[8], /longer than/);
  assert.match(byLine[9], /not a JSON object/);
  assert.equal(bad.length, 8);
  assert.ok(bad.every((b) => b.file === file));
});

test('a truncated CSL-JSON array reports the cut element and keeps the whole ones', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cut.json');
  writeFileSync(file, '[{"id":"a","title":"A","abstract":"x"},\n{"id":"b","title":"B","abs');
  const { papers, bad } = await readAll(file);
  assert.deepEqual(papers.map((p) => p.id), ['a']);
  assert.equal(bad.length, 1);
  assert.match(bad[0].reason, /truncated/);
});

test('normalised titles ignore case, accents, punctuation and spacing', () => {
  assert.equal(normalizeTitle('Über  Attention: Is ALL you need?'), normalizeTitle('uber attention is all you need'));
  assert.notEqual(normalizeTitle('Attention is all you need'), normalizeTitle('Attention is not all you need'));
});
