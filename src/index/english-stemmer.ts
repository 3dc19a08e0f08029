// The Snowball "english" (Porter2) stemmer, as the rust-stemmers crate inside LanceDB applies it
// to full-text tokens (the 2006 revision of the algorithm, which that crate generates from
// english.sbl; later Snowball changes are not in it). Written here from the algorithm's
// definition; works on code points, a non-ASCII letter counting as a consonant. Agreement with
// LanceDB's stems is tested against `table.tokenize` (test/index/resident-text.test.js) and was
// checked on all 130k distinct words of the 98k-paper corpus.
const VOWELS = new Set(['a', 'e', 'i', 'o', 'u', 'y']);
const isVowel = (c: string | undefined) => c !== undefined && VOWELS.has(c);
/** Non-vowels that may end a short syllable: all but w, x and Y. */
const endsShortSyllable = (c: string | undefined) => c !== undefined && !isVowel(c) && c !== 'w' && c !== 'x' && c !== 'Y';
const VALID_LI = new Set([...'cdeghkmnrt']);
const DOUBLES = new Set(['bb', 'dd', 'ff', 'gg', 'mm', 'nn', 'pp', 'rr', 'tt']);

/** Whole words with a fixed stem (an invariant word maps to itself). */
const EXCEPTIONS = new Map([
  ['skis', 'ski'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['idly', 'idl'],
  ['gently', 'gentl'],
  ['ugly', 'ugli'],
  ['early', 'earli'],
  ['only', 'onli'],
  ['singly', 'singl'],
  ...['sky', 'news', 'howe', 'atlas', 'cosmos', 'bias', 'andes'].map((w) => [w, w] as const),
]);
/** Words left alone once step 1a has run. */
const AFTER_1A = new Set(['inning', 'outing', 'canning', 'herring', 'earring', 'proceed', 'exceed', 'succeed']);
const REGION_PREFIXES = ['gener', 'commun', 'arsen'];

const STEP2: [string, string][] = [
  ['tional', 'tion'],
  ['enci', 'ence'],
  ['anci', 'ance'],
  ['abli', 'able'],
  ['entli', 'ent'],
  ['izer', 'ize'],
  ['ization', 'ize'],
  ['ational', 'ate'],
  ['ation', 'ate'],
  ['ator', 'ate'],
  ['alism', 'al'],
  ['aliti', 'al'],
  ['alli', 'al'],
  ['fulness', 'ful'],
  ['ousli', 'ous'],
  ['ousness', 'ous'],
  ['iveness', 'ive'],
  ['iviti', 'ive'],
  ['biliti', 'ble'],
  ['bli', 'ble'],
  ['ogi', 'og'],
  ['fulli', 'ful'],
  ['lessli', 'less'],
  ['li', ''],
];
const STEP3: [string, string][] = [
  ['tional', 'tion'],
  ['ational', 'ate'],
  ['alize', 'al'],
  ['icate', 'ic'],
  ['iciti', 'ic'],
  ['ical', 'ic'],
  ['ful', ''],
  ['ness', ''],
  ['ative', ''],
];
const STEP2_SUFFIXES = STEP2.map(([from]) => from);
const STEP3_SUFFIXES = STEP3.map(([from]) => from);
const STEP4 = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize', 'ion'];

/** A word as code points, edited at its end. */
class Word {
  constructor(public c: string[]) {}
  get length() {
    return this.c.length;
  }
  endsWith(s: string): boolean {
    const n = s.length;
    if (n > this.c.length) return false;
    for (let i = 0; i < n; i++) if (this.c[this.c.length - n + i] !== s[i]) return false;
    return true;
  }
  /** The longest of `suffixes` the word ends with. */
  longest<T extends string>(suffixes: readonly T[]): T | undefined {
    let best: T | undefined;
    for (const s of suffixes) if (this.endsWith(s) && (best === undefined || s.length > best.length)) best = s;
    return best;
  }
  replaceEnd(count: number, by: string) {
    this.c.length -= count;
    this.c.push(...by);
  }
  hasVowelBefore(end: number): boolean {
    for (let i = 0; i < end; i++) if (isVowel(this.c[i])) return true;
    return false;
  }
  /** Whether the letters before `end` finish with a short syllable. */
  shortSyllableAt(end: number): boolean {
    const c = this.c;
    if (end >= 3 && !isVowel(c[end - 3]) && isVowel(c[end - 2]) && endsShortSyllable(c[end - 1])) return true;
    return end === 2 && isVowel(c[0]) && !isVowel(c[1]);
  }
}

/** Start of the region after the first non-vowel that follows a vowel, searching from `from`. */
function regionAfter(c: string[], from: number): number {
  let i = from;
  while (i < c.length && !isVowel(c[i])) i++;
  while (i < c.length && isVowel(c[i])) i++;
  return i < c.length ? i + 1 : c.length;
}

function step1a(w: Word) {
  const apostrophe = w.longest(["'", "'s", "'s'"]);
  if (apostrophe) w.replaceEnd(apostrophe.length, '');
  const s = w.longest(['sses', 'ied', 'ies', 's', 'us', 'ss']);
  if (s === 'sses') w.replaceEnd(4, 'ss');
  else if (s === 'ied' || s === 'ies') w.replaceEnd(3, w.length - 3 > 1 ? 'i' : 'ie');
  else if (s === 's' && w.hasVowelBefore(w.length - 2)) w.replaceEnd(1, '');
}

function step1b(w: Word, p1: number) {
  const s = w.longest(['eed', 'eedly', 'ed', 'edly', 'ing', 'ingly']);
  if (!s) return;
  const start = w.length - s.length;
  if (s === 'eed' || s === 'eedly') {
    if (start >= p1) w.replaceEnd(s.length, 'ee');
    return;
  }
  if (!w.hasVowelBefore(start)) return;
  w.replaceEnd(s.length, '');
  if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w.replaceEnd(0, 'e');
  else if (w.length >= 2 && DOUBLES.has(w.c[w.length - 2]! + w.c[w.length - 1]!)) w.replaceEnd(1, '');
  else if (w.length === p1 && w.shortSyllableAt(w.length)) w.replaceEnd(0, 'e');
}

function step1c(w: Word) {
  const n = w.length;
  if ((w.c[n - 1] === 'y' || w.c[n - 1] === 'Y') && n - 2 > 0 && !isVowel(w.c[n - 2])) w.c[n - 1] = 'i';
}

function step2(w: Word, p1: number) {
  const s = w.longest(STEP2_SUFFIXES);
  if (!s || w.length - s.length < p1) return;
  const before = w.c[w.length - s.length - 1];
  if (s === 'ogi' && before !== 'l') return;
  if (s === 'li' && !(before !== undefined && VALID_LI.has(before))) return;
  w.replaceEnd(s.length, STEP2.find(([from]) => from === s)![1]);
}

function step3(w: Word, p1: number, p2: number) {
  const s = w.longest(STEP3_SUFFIXES);
  if (!s) return;
  const start = w.length - s.length;
  if (start < p1 || (s === 'ative' && start < p2)) return;
  w.replaceEnd(s.length, STEP3.find(([from]) => from === s)![1]);
}

function step4(w: Word, p2: number) {
  const s = w.longest(STEP4);
  if (!s || w.length - s.length < p2) return;
  if (s === 'ion') {
    const before = w.c[w.length - 4];
    if (before !== 's' && before !== 't') return;
  }
  w.replaceEnd(s.length, '');
}

function step5(w: Word, p1: number, p2: number) {
  const n = w.length;
  const last = w.c[n - 1];
  const start = n - 1;
  if (last === 'e' && (start >= p2 || (start >= p1 && !w.shortSyllableAt(start)))) w.replaceEnd(1, '');
  else if (last === 'l' && start >= p2 && w.c[n - 2] === 'l') w.replaceEnd(1, '');
}

/** The Porter2 stem of a lowercase word. */
export function stemEnglish(word: string): string {
  const fixed = EXCEPTIONS.get(word);
  if (fixed !== undefined) return fixed;
  const chars = Array.from(word);
  if (chars.length < 3) return word;
  if (chars[0] === "'") chars.shift();
  if (chars[0] === 'y') chars[0] = 'Y';
  for (let i = 1; i < chars.length; i++) if (chars[i] === 'y' && isVowel(chars[i - 1])) chars[i] = 'Y';
  const prefix = REGION_PREFIXES.find((p) => chars.slice(0, p.length).join('') === p);
  const p1 = prefix ? prefix.length : regionAfter(chars, 0);
  const p2 = regionAfter(chars, p1);
  const w = new Word(chars);
  step1a(w);
  if (!AFTER_1A.has(w.c.join(''))) {
    step1b(w, p1);
    step1c(w);
    step2(w, p1);
    step3(w, p1, p2);
    step4(w, p2);
    step5(w, p1, p2);
  }
  return w.c.join('').replace(/Y/g, 'y');
}
