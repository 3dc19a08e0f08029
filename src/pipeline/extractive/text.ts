// Text helpers for extractive mode: sentence splitting, word tokens, stopwords, a seeded PRNG.
import { tokenizeWords } from '../../index/sif-embedder.js';

export { tokenizeWords };

// Function words and academic boilerplate that never name a theme.
const STOPWORDS = new Set(
  (
    'a about above across after again against all almost also although always among an and another any are as at be because been before being ' +
    'below between both but by can could did do does doing done down during each either else enough especially etc even ever every few for from ' +
    'further had has have having he her here hers him his how however i if in into is it its itself just least less many may me might more most ' +
    'much must my neither no nor not now of off often on once one only or other others otherwise our ours out over own per perhaps quite rather ' +
    'same several shall she should since so some such than that the their theirs them themselves then there therefore these they this those ' +
    'though through thus to together too toward towards two under unless until up upon us very via was we well were what whatever when where ' +
    'whether which while who whom whose why will with within without would yet you your ' +
    'paper papers propose proposed proposes present presents presented show shows shown demonstrate demonstrates study studies work works ' +
    'approach approaches method methods result results new novel using used use uses based existing significantly significant outperform ' +
    'outperforms state art furthermore moreover first second three experiments experimental extensive introduce introduces achieve achieves ' +
    'task tasks model models performance data set sets able various different large improve improves improved better best effective ' +
    'effectiveness address problem problems propose framework frameworks however recent recently including include includes provide provides ' +
    // Links in abstracts ("code at https://github.com/…").
    'http https www github com org io html'
  ).split(/\s+/),
);

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word) || /^\d+$/.test(word) || word.length < 3;
}

/** Words that join the parts of a topic ("Evaluation of LLMs") rather than belong to an acronym. */
const CONNECTORS = new Set(['a', 'an', 'and', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'via', 'with']);

/**
 * Whether two words of 6+ letters look like forms of one word: a shared prefix of 5+ letters that
 * misses at most 3 of the shorter ("evaluation", "evaluating"; "aligned", "alignment").
 */
function sameStem(a: string, b: string): boolean {
  const shorter = Math.min(a.length, b.length);
  let n = 0;
  while (n < shorter && a[n] === b[n]) n++;
  return shorter >= 6 && n >= Math.max(5, shorter - 3);
}

/**
 * A test for the words a topic's papers use for the topic itself, which never name one of its
 * themes: its words and their hyphen parts in any form ("evaluating" for "Evaluation"), and the
 * acronyms of its multi-word runs, singular or plural ("Large Language Models" → llm, llms;
 * "Retrieval-Augmented Generation" → rag).
 */
export function topicWordTest(topic: string): (word: string) => boolean {
  const exact = new Set<string>();
  const parts: string[] = [];
  const runs: string[][] = [[]];
  for (const w of tokenizeWords(topic)) {
    exact.add(w);
    if (CONNECTORS.has(w)) {
      runs.push([]);
      continue;
    }
    for (const part of w.split(/['’-]/).filter(Boolean)) {
      parts.push(part);
      runs.at(-1)!.push(part);
    }
  }
  for (const run of runs)
    for (let i = 0; i < run.length; i++)
      for (let j = i + 2; j <= run.length; j++) {
        const acronym = run.slice(i, j).map((w) => w[0]).join('');
        exact.add(acronym).add(`${acronym}s`);
      }
  return (word) => exact.has(word) || parts.some((p) => p === word || p === word.replace(/s$/, '') || word === p.replace(/s$/, '') || sameStem(p, word));
}

/** Sentences of an abstract; fragments too short or too long to stand alone are dropped. */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .replace(/(\p{Ll}{2}[.!?])(\p{Lu}\p{Ll})/gu, '$1 $2') // "task.Our" in scraped abstracts
    .split(/(?<=[.!?])\s+(?=[A-Z(“"])/)
    .map((s) => s.trim())
    .filter((s) => s.length >= 40 && s.length <= 500 && /[.!?]$/.test(s));
}

/** mulberry32: a small seeded PRNG, so clustering and phrasing are reproducible from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Unit-length mean of the vectors (zero when there are none). */
export function centroid(vectors: readonly Float32Array[], dim: number): Float32Array {
  const c = new Float32Array(dim);
  for (const v of vectors) for (let i = 0; i < dim; i++) c[i]! += v[i]!;
  let n = 0;
  for (let i = 0; i < dim; i++) n += c[i]! * c[i]!;
  if (n > 0) for (let i = 0; i < dim; i++) c[i]! /= Math.sqrt(n);
  return c;
}

const MINOR_WORDS = new Set(['a', 'an', 'and', 'as', 'at', 'by', 'for', 'in', 'of', 'on', 'or', 'the', 'to', 'via', 'vs', 'with']);

/** Capitalises each word's first letter, except minor words after the first. */
export function titleCase(phrase: string): string {
  return phrase.replace(/(?<![\p{L}\p{N}'’])\p{Ll}[\p{L}\p{N}]*/gu, (w, offset: number) => (offset > 0 && MINOR_WORDS.has(w) ? w : w[0]!.toUpperCase() + w.slice(1)));
}

/** Sentences that lean on the one before ("This shows…", "However, …") do not stand alone. */
const LEANS_ON_CONTEXT = /^(?:this|these|those|that|it|its|they|their|such|however|moreover|furthermore|consequently|finally|additionally|in addition|thus|hence|therefore|then|also|second(?:ly)?|third(?:ly)?|lastly|meanwhile|specifically|in particular|to (?:address|fill|tackle|solve|overcome|bridge|mitigate|alleviate|remedy|this end)|through (?:this|these)|by doing so|with this|as a result|in contrast|on the other hand|besides|instead|here)\b/i;
const THIS_PAPER = /^(?:in )?this (?:paper|work|article|study|thesis|note)\b/i;

export function standsAlone(sentence: string): boolean {
  return THIS_PAPER.test(sentence) || !LEANS_ON_CONTEXT.test(sentence);
}
