// The token chain of the papers' full-text indexes (`Index.fts({ stem: true, removeStopWords:
// true, asciiFolding: true })`, base tokenizer "simple"), as LanceDB 0.37.1 (lance 10) runs it on
// documents and queries alike, in this order:
//   1. split into runs of alphanumeric characters (Unicode Alphabetic or Number);
//   2. drop tokens of 40 or more UTF-8 bytes;
//   3. lowercase, character by character;
//   4. stem with the Snowball English stemmer (english-stemmer.ts);
//   5. drop stop words: the stemmed token is looked up, so "was" goes but "has" only because
//      "has" is its own stem;
//   6. fold non-ASCII letters to ASCII where they have an equivalent ("naïve" → "naiv").
// test/index/resident-text.test.js checks this against LanceDB's own `tokenize`.
import { stemEnglish } from './english-stemmer.js';

/** LanceDB's English stop words (NLTK's list; its entries with apostrophes can never match a token). */
const STOP_WORDS = new Set(
  (
    'a about above after again against ain all am an and any are aren as at be because been before being below between both but by ' +
    'can couldn d did didn do does doesn doing don down during each few for from further had hadn has hasn have haven having he her ' +
    'here hers herself him himself his how i if in into is isn it its itself just ll m ma me mightn more most mustn my myself needn no ' +
    'nor not now o of off on once only or other our ours ourselves out over own re s same shan she should shouldn so some such t than ' +
    'that the their theirs them themselves then there these they this those through to too under until up ve very was wasn we were ' +
    'weren what when where which while who whom why will with won wouldn y you your yours yourself yourselves'
  ).split(' '),
);

export const MAX_TOKEN_BYTES = 40;

/** Lowercase letters with no decomposition to ASCII and their fixed ASCII forms. */
const FOLD_SPECIAL = new Map<string, string>([
  ['ß', 'ss'],
  ['æ', 'ae'],
  ['œ', 'oe'],
  ['ø', 'o'],
  ['ł', 'l'],
  ['đ', 'd'],
  ['ð', 'd'],
  ['þ', 'th'],
  ['ħ', 'h'],
  ['ŧ', 't'],
  ['ŋ', 'n'],
  ['ı', 'i'],
  ['ĸ', 'k'],
  ['ſ', 's'],
]);

const foldCache = new Map<string, string>();

/**
 * The ASCII form of one non-ASCII character: its fixed form, else what remains of its
 * compatibility decomposition (NFKD) once combining marks and other non-ASCII parts are dropped
 * ("ﬁ" → "fi", "½" → "12"), else, when nothing remains, the character itself ("α", "ƒ").
 */
function foldChar(ch: string): string {
  let out = foldCache.get(ch);
  if (out === undefined) {
    out = FOLD_SPECIAL.get(ch);
    if (out === undefined) {
      out = '';
      for (const part of ch.normalize('NFKD')) out += part.charCodeAt(0) < 0x80 ? part : (FOLD_SPECIAL.get(part) ?? '');
      if (out === '') out = ch;
    }
    foldCache.set(ch, out);
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

function asciiFold(token: string): string {
  if (isAscii(token)) return token;
  let out = '';
  for (const ch of token) out += ch.charCodeAt(0) < 0x80 ? ch : foldChar(ch);
  return out;
}

function lowercase(token: string): string {
  if (isAscii(token)) return token.toLowerCase();
  let out = '';
  for (const ch of token) out += ch.toLowerCase();
  return out;
}

/** The indexed term of one alphanumeric run, or null when the chain drops it. */
export function termOf(run: string): string | null {
  if (Buffer.byteLength(run, 'utf8') >= MAX_TOKEN_BYTES) return null;
  const stem = stemEnglish(lowercase(run));
  return STOP_WORDS.has(stem) ? null : asciiFold(stem);
}

export const ALPHANUMERIC_RUN = /[\p{Alphabetic}\p{N}]+/gu;

/** The terms of a text in order (a query's or a document's). */
export function ftsTerms(text: string): string[] {
  const out: string[] = [];
  for (const [run] of text.matchAll(ALPHANUMERIC_RUN)) {
    const term = termOf(run);
    if (term !== null) out.push(term);
  }
  return out;
}
