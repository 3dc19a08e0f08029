// Plain-text helpers shared by the parser, the judges and the content metrics: sentence
// splitting, content words, a light stemmer, numbers, negation cues and named tokens.

// Abbreviations after which a period does not end a sentence (lower-cased, without the period).
const ABBREVIATIONS = new Set([
  'al', 'e.g', 'i.e', 'etc', 'vs', 'cf', 'fig', 'figs', 'eq', 'eqs', 'sec', 'secs', 'no', 'nos', 'vol', 'pp', 'dr', 'mr', 'ms', 'prof',
  'approx', 'resp', 'incl', 'ref', 'refs', 'tab', 'ch', 'st', 'jr', 'sr', 'inc', 'ltd', 'co', 'corp', 'dept', 'univ', 'u.s', 'ca',
]);

/** A citation marker: `[3]`, `[2, 5]`, `[2-4]`, `[@id]`, `[@a; @b]` or a footnote `[^x]`. */
export const CITATION_MARKER = /\[\^[^\]\s]{1,100}\]|\[\s*(?:@[^\]\s;,]{1,200}|\d{1,6}(?:\s*[-–]\s*\d{1,6})?)(?:\s*[,;]\s*(?:@[^\]\s;,]{1,200}|\d{1,6}(?:\s*[-–]\s*\d{1,6})?))*\s*\]/g;

const WHOLE_MARKER = new RegExp(`^(?:${CITATION_MARKER.source})$`);

/** Text without citation markers, with the spaces they leave behind tidied. */
export function stripCitations(text: string): string {
  return text
    .replace(CITATION_MARKER, ' ')
    .replace(/\s+([.,;:!?)])/g, '$1')
    .replace(/\(\s*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Splits running text into sentences. A boundary is [.!?] (plus closing quotes or brackets) followed
 * by space; citation markers right after the boundary stay with the sentence they close.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const s = text.replace(/\s+/g, ' ').trim();
  let start = 0;
  const boundary = /[.!?]+["'”’)\]]*(?=\s)/g;
  let m: RegExpExecArray | null;
  while ((m = boundary.exec(s)) !== null) {
    let end = m.index + m[0].length;
    if (m[0].startsWith('.') && m[0].length === 1) {
      const word = /([\p{L}.]+)$/u.exec(s.slice(Math.max(start, m.index - 12), m.index))?.[1]?.toLowerCase() ?? '';
      if (ABBREVIATIONS.has(word) || /^\p{Lu}$/u.test(s[m.index - 1] ?? '') && /(^|\s)\p{Lu}$/u.test(s.slice(Math.max(0, m.index - 2), m.index))) continue;
    }
    // Markers after the period: "… models. [3] Next" — [3] belongs to the sentence just closed.
    for (;;) {
      const cm = /^\s*(\[[^\]]{1,400}\])/.exec(s.slice(end, end + 410));
      if (!cm || !WHOLE_MARKER.test(cm[1]!)) break;
      end += cm[0].length;
    }
    const next = s.slice(end).trimStart();
    if (next && !/^[\p{Lu}\p{N}"'“‘(\[*_`]/u.test(next)) continue;
    const sentence = s.slice(start, end).trim();
    if (sentence) out.push(sentence);
    start = end;
    boundary.lastIndex = end;
  }
  const tail = s.slice(start).trim();
  if (tail) out.push(tail);
  return out;
}

export const STOPWORDS = new Set(
  (
    'a an the and or but if then than that this these those there here of in on at to for from by with without into onto over under ' +
    'about above below between among through during before after again further once is are was were be been being am do does did ' +
    'doing have has had having it its itself they them their theirs we us our ours you your he she his her him i me my which who ' +
    'whom whose what when where why how all any both each few more most other some such only own same so too very can could will ' +
    'would should shall may might must also as well while both either whether via per upon within across against toward towards ' +
    'one two three using use used uses based paper work authors author propose proposed present presents presented introduce ' +
    'introduced show shows shown showed approach method methods model models new novel study et al'
  ).split(/\s+/),
);

/** Words that reverse a statement; compared between claim and evidence. */
export const NEGATION_CUES = new Set(['not', 'no', 'never', 'cannot', 'neither', 'nor', 'none', 'without', 'fail', 'fails', 'failed', 'unable', 'lack', 'lacks', "n't"]);

const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu;

/** Lower-cased word tokens (hyphenated words and contractions kept whole). */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** A small suffix-stripping stemmer: enough to match "improves"/"improved"/"improvement". */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/['’]s$/, '');
  if (w.length <= 3 || /\d/.test(w)) return w;
  const rules: [RegExp, string][] = [
    [/ational$/, 'ate'], [/ization$/, 'ize'], [/isation$/, 'ize'], [/fulness$/, 'ful'], [/iveness$/, 'ive'],
    [/ements?$/, ''], [/ments?$/, ''], [/ations?$/, 'ate'], [/ities$/, ''], [/ity$/, ''], [/ies$/, 'y'], [/ied$/, 'y'],
    [/ing$/, ''], [/edly$/, ''], [/ly$/, ''], [/ed$/, ''], [/es$/, ''], [/ers?$/, ''], [/s$/, ''],
  ];
  for (const [re, rep] of rules) {
    if (re.test(w)) {
      const cut = w.replace(re, rep);
      if (cut.length >= 3) {
        w = cut;
        break;
      }
    }
  }
  // "improv"/"improve", "stat"/"state": drop a final e and undouble consonants so both sides agree.
  return w.replace(/e$/, '').replace(/([b-df-hj-np-tv-z])\1$/, '$1');
}

/** Content words of a text: not stopwords, not pure punctuation; numbers are kept separately. */
export function contentWords(text: string): string[] {
  return words(text).filter((w) => !STOPWORDS.has(w) && !/^\d+(?:[.,]\d+)*$/.test(w) && w.length > 1);
}

/** Numbers in a text, normalised ("1,000" → "1000", "85.0%" → "85"). */
export function numbers(text: string): string[] {
  return (text.match(/(?<![\p{L}\d.])\d+(?:[.,]\d+)*(?![\p{L}\d])/gu) ?? [])
    .map((n) => (/^\d{1,3}(,\d{3})+$/.test(n) ? n.replace(/,/g, '') : n.replace(',', '.')))
    .map((n) => (n.includes('.') ? n.replace(/\.?0+$/, '') : n))
    .filter((n) => n !== '');
}

export function negationCount(text: string): number {
  let n = 0;
  for (const w of words(text)) if (NEGATION_CUES.has(w) || w.endsWith("n't") || w.endsWith('n’t')) n++;
  return n;
}

/**
 * Names of methods, models and datasets: acronyms (BERT), CamelCase (SQuAD, RoBERTa), tokens mixing
 * letters and digits (GPT-4, T5), and capitalised words not at the start of the sentence.
 */
export function namedTokens(sentence: string): string[] {
  const out = new Set<string>();
  const tokens = sentence.match(/[\p{L}\p{N}]+(?:[-.][\p{L}\p{N}]+)*/gu) ?? [];
  tokens.forEach((t, i) => {
    const acronym = /^\p{Lu}{2,}/u.test(t) || /\p{Ll}\p{Lu}/u.test(t);
    const mixed = /\p{L}/u.test(t) && /\d/.test(t) && t.length >= 2;
    const capitalised = i > 0 && /^\p{Lu}\p{Ll}+$/u.test(t) && !STOPWORDS.has(t.toLowerCase());
    if (acronym || mixed || capitalised) out.add(t.toLowerCase());
  });
  return [...out];
}
