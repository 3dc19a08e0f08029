// Shared by the metrics tests: the fixture papers and surveys, a lexical judge with word vectors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LexicalJudge } from '../../dist/metrics/judge-lexical.js';
import { memorySource } from '../../dist/metrics/papers.js';
import { loadWordVectors } from '../../dist/index/word-vectors.js';
import { cacheDir, fixtures } from '../helpers.js';

export const surveysDir = join(fixtures, 'surveys');
export const papers = readFileSync(join(surveysDir, 'papers.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
export const source = () => memorySource(papers);
export const survey = (name) => readFileSync(join(surveysDir, name), 'utf8');

let judge;
export function lexicalJudge() {
  judge ??= new LexicalJudge({ vectors: loadWordVectors(cacheDir) });
  return judge;
}
