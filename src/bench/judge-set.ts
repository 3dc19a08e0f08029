// The recipe of the fact-score judge benchmark. Corpus text may not be committed, so what is
// committed is this generator and its frozen output, a manifest of paper ids, sentence indices,
// transformation parameters, labels and the sha256 of every claim text. The benchmark rebuilds
// the texts from ../shared/corpus with `claimText` and refuses to run if any hash differs.
//
// Everything here is deliberately independent of src/metrics (its own sentence splitter, word
// lists and rewrites), so tuning the judges cannot silently change the labelled set.
//
// Regenerate (only when the recipe changes, never to suit a judge):
//   node dist/bench/judge-set.js --write
import { seededRandom } from '../pipeline/extractive/text.js';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../config.js';
import { requireShared } from './common.js';

export const SEED = 20260507;
export const MANIFEST_PATH = resolve(packageRoot, 'src', 'bench', 'judge-set.manifest.json');

export type Kind = 'reworded' | 'merged' | 'hard-negative' | 'number' | 'negation' | 'swapped-name' | 'wrong-paper';
export const KINDS: Kind[] = ['reworded', 'merged', 'hard-negative', 'number', 'negation', 'swapped-name', 'wrong-paper'];
/** Five supported for five unsupported, so the set is balanced. */
const ROTATION: Kind[] = ['reworded', 'hard-negative', 'merged', 'number', 'reworded', 'negation', 'merged', 'swapped-name', 'reworded', 'wrong-paper'];
const ITEMS = 700;

export interface JudgeItem {
  id: number;
  kind: Kind;
  /** 1 = the cited paper supports the claim. */
  label: 0 | 1;
  split: 'dev' | 'held-out';
  /** The paper the claim cites (its title + abstract are the evidence). */
  cited: string;
  /** The paper whose sentences the claim is made from, and their indices. */
  source: string;
  sentences: number[];
  params: Record<string, string | number | string[]>;
  sha256: string;
}

export interface CorpusPaper {
  id: string;
  title: string;
  abstract: string;
}

// ---- frozen text primitives -------------------------------------------------------------

/** Sentences of an abstract: split after . ! ? followed by a space and a capital letter or digit. */
export function abstractSentences(abstract: string): string[] {
  return abstract
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?])\s+(?=[A-Z0-9])/)
    .filter((s) => s.length > 0);
}

const tokens = (s: string) => s.toLowerCase().match(/[a-z0-9]+(?:-[a-z0-9]+)*/g) ?? [];
const COMMON = new Set(
  'a an the and or of in on at to for from by with is are was were be been this that these those we our it its as which can also has have not no than into using based such their they while both more most other over between each via only'.split(
    ' ',
  ),
);
const contentSet = (s: string) => new Set(tokens(s).filter((t) => !COMMON.has(t) && t.length > 2));
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const lowerFirst = (s: string) => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);
const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const stripEnd = (s: string) => s.replace(/[.!?]+$/, '');
const wordCount = (s: string) => s.split(/\s+/).length;
const NAME = /\b(?:[A-Z]{2,}[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*|[A-Za-z]+-?\d+[A-Za-z0-9]*)\b/g;
const namesIn = (s: string) => [...new Set(s.match(NAME) ?? [])];

// ---- rewrites that keep the meaning -------------------------------------------------------

const SYNONYMS: Record<string, string> = {
  propose: 'put forward', proposes: 'puts forward', proposed: 'put forward', improve: 'enhance', improves: 'enhances', improved: 'enhanced',
  show: 'demonstrate', shows: 'demonstrates', showed: 'demonstrated', use: 'employ', uses: 'employs', used: 'employed', using: 'employing',
  achieve: 'attain', achieves: 'attains', achieved: 'attained', significantly: 'substantially', novel: 'new', results: 'findings',
  outperforms: 'surpasses', outperform: 'surpass', method: 'technique', methods: 'techniques', approach: 'method', large: 'big',
  important: 'crucial', however: 'nevertheless', various: 'diverse', several: 'multiple', help: 'assist', helps: 'assists',
  investigate: 'examine', investigates: 'examines', evaluate: 'assess', evaluates: 'assesses', present: 'introduce', presents: 'introduces',
  task: 'problem', tasks: 'problems', demonstrate: 'show', demonstrates: 'shows', enables: 'allows', enable: 'allow', existing: 'current',
  effective: 'efficient', framework: 'architecture', challenging: 'difficult', require: 'need', requires: 'needs', obtain: 'get',
};
const PARTICIPLE: Record<string, string> = {
  propose: 'proposed', present: 'presented', introduce: 'introduced', develop: 'developed', describe: 'described', release: 'released',
  design: 'designed', build: 'built', construct: 'constructed', create: 'created', collect: 'collected', train: 'trained',
};
const LEADING_CLAUSE = /^(In|To|By|For|With|Although|While|Since|Because|When|Unlike|Despite|Through|Using|Based|Compared|Given|After|Before|On|Under|Without)\b([^,]{3,80}),\s+(.+)$/;

export const REWRITE_OPS = ['voice', 'clause-order', 'we', 'synonyms'] as const;
export type RewriteOp = (typeof REWRITE_OPS)[number];

/** Applies one meaning-preserving rewrite; returns the sentence unchanged when it does not apply. */
export function rewrite(sentence: string, op: RewriteOp): string {
  switch (op) {
    case 'voice': {
      const m = /^(.*?)\b[Ww]e (propose|present|introduce|develop|describe|release|design|build|construct|create|collect|train) (.{8,}?)([.!?])$/.exec(sentence);
      if (!m || /\b(?:and|which|that) we\b/.test(m[3]!) || m[3]!.includes(', ')) return sentence;
      const subject = m[1] ? lowerFirst(m[3]!) : upperFirst(m[3]!);
      return `${m[1]}${subject} ${/\b(?:and)\b/.test(m[3]!) ? 'are' : 'is'} ${PARTICIPLE[m[2]!]} by the authors${m[4]}`;
    }
    case 'clause-order': {
      const m = LEADING_CLAUSE.exec(stripEnd(sentence));
      if (!m || wordCount(m[3]!) < 5 || /^(?:we|it|this|they)\b/i.test(m[3]!) === false) return sentence;
      return `${upperFirst(m[3]!)} ${lowerFirst(m[1]!)}${m[2]}${sentence.match(/[.!?]+$/)?.[0] ?? '.'}`;
    }
    case 'we':
      return sentence
        .replace(/\bWe\b/g, 'The authors')
        .replace(/\bwe\b/g, 'the authors')
        .replace(/\bOur\b/g, "The authors'")
        .replace(/\bour\b/g, "the authors'")
        .replace(/\bus\b/g, 'the authors');
    case 'synonyms':
      return sentence.replace(/\b[a-z]+\b/g, (w) => SYNONYMS[w] ?? w);
  }
}

// ---- building a claim from a manifest item ---------------------------------------------------

/** The claim text of an item, rebuilt from the corpus. Throws if the item does not fit the corpus. */
export function claimText(item: Omit<JudgeItem, 'sha256' | 'id' | 'split'>, papers: Map<string, CorpusPaper>): string {
  const src = papers.get(item.source);
  if (!src) throw new Error(`judge set: paper ${item.source} is not in the corpus`);
  const sents = abstractSentences(src.abstract);
  const s = item.sentences.map((i) => {
    const v = sents[i];
    if (v === undefined) throw new Error(`judge set: ${item.source} has no sentence ${i}`);
    return v;
  });
  const p = item.params;
  switch (item.kind) {
    case 'reworded':
      return (p.ops as RewriteOp[]).reduce((t, op) => rewrite(t, op), s[0]!);
    case 'merged':
      return (p.ops as RewriteOp[]).reduce((t, op) => rewrite(t, op), `${stripEnd(s[0]!)}, and ${lowerFirst(s[1]!)}`);
    case 'hard-negative':
    case 'wrong-paper':
      return s[0]!;
    case 'number': {
      let n = -1;
      return s[0]!.replace(/(?<![\w.])\d+(?:\.\d+)?(?![\w])/g, (m) => (++n === p.occurrence ? String(p.replacement) : m));
    }
    case 'negation': {
      const at = p.at as number;
      return p.op === 'insert' ? `${s[0]!.slice(0, at)} not${s[0]!.slice(at)}` : `${s[0]!.slice(0, at)}${s[0]!.slice(at + 4)}`;
    }
    case 'swapped-name':
      return s[0]!.replace(new RegExp(`\\b${escapeRe(p.from as string)}\\b`, 'g'), p.to as string);
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

// ---- the generator ---------------------------------------------------------------------------


export async function readCorpus(dir: string, want?: Set<string>): Promise<Map<string, CorpusPaper>> {
  const out = new Map<string, CorpusPaper>();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  for (const f of files) {
    const rl = createInterface({ input: createReadStream(join(dir, f), 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      if (want) {
        const id = /^\{"id": "([^"]+)"/.exec(line)?.[1];
        if (id !== undefined && !want.has(id)) continue;
      }
      const r = JSON.parse(line) as CorpusPaper;
      if (typeof r.id === 'string' && typeof r.title === 'string' && typeof r.abstract === 'string' && (!want || want.has(r.id))) {
        out.set(r.id, { id: r.id, title: r.title, abstract: r.abstract });
      }
    }
  }
  return out;
}

export function generate(papers: Map<string, CorpusPaper>, seed = SEED): JudgeItem[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const list = [...papers.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const sentencesOf = new Map<string, string[]>();
  const sents = (p: CorpusPaper) => {
    let s = sentencesOf.get(p.id);
    if (!s) sentencesOf.set(p.id, (s = abstractSentences(p.abstract)));
    return s;
  };
  // Inverted index of content words → papers, for "same subject, high overlap" neighbours.
  const postings = new Map<string, number[]>();
  list.forEach((p, i) => {
    for (const t of contentSet(`${p.title} ${p.abstract}`)) {
      let l = postings.get(t);
      if (!l) postings.set(t, (l = []));
      l.push(i);
    }
  });
  const neighbours = (a: CorpusPaper, n: number): CorpusPaper[] => {
    const rare = [...contentSet(`${a.title} ${a.abstract}`)]
      .map((t) => [t, postings.get(t)?.length ?? 0] as const)
      .filter(([, df]) => df >= 2 && df <= 2000)
      .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
      .slice(0, 12);
    const hits = new Map<number, number>();
    for (const [t] of rare) for (const i of postings.get(t)!) hits.set(i, (hits.get(i) ?? 0) + 1);
    const titleKey = a.title.toLowerCase();
    return [...hits.entries()]
      .filter(([i]) => list[i]!.id !== a.id && list[i]!.title.toLowerCase() !== titleKey)
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, n)
      .map(([i]) => list[i]!);
  };
  const usable = (s: string) => wordCount(s) >= 8 && wordCount(s) <= 45 && !/https?:|\$|\\/.test(s);

  const order = list.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const items: JudgeItem[] = [];
  let slot = 0;
  for (const idx of order) {
    if (items.length >= ITEMS) break;
    const a = list[idx]!;
    const s = sents(a);
    if (s.length < 3 || s.length > 15 || !/^[\x20-\x7e]+$/.test(a.abstract)) continue;
    const kind = ROTATION[slot % ROTATION.length]!;
    const made = makeItem(kind, a, s);
    if (!made) continue;
    slot++;
    const text = claimText(made, papers);
    const split = createHash('sha256').update(a.id).digest()[0]! % 2 === 0 ? 'dev' : 'held-out';
    items.push({ id: items.length, ...made, split, sha256: sha256(text) });
  }
  return items;

  function makeItem(kind: Kind, a: CorpusPaper, s: string[]): Omit<JudgeItem, 'sha256' | 'id' | 'split'> | null {
    const candidates = s.map((t, i) => [t, i] as const).filter(([t]) => usable(t));
    if (candidates.length === 0) return null;
    const base = { kind, cited: a.id, source: a.id };
    switch (kind) {
      case 'reworded': {
        const [t, i] = pick(candidates);
        const ops = REWRITE_OPS.filter((op) => rewrite(t, op) !== t);
        if (ops.length === 0) return null;
        return { ...base, label: 1, sentences: [i], params: { ops } };
      }
      case 'merged': {
        if (candidates.length < 2) return null;
        const [, i] = pick(candidates);
        const rest = candidates.filter(([, j]) => j !== i);
        const [, j] = pick(rest);
        const pair = [Math.min(i, j), Math.max(i, j)];
        const merged = `${stripEnd(s[pair[0]!]!)}, and ${lowerFirst(s[pair[1]!]!)}`;
        const ops = rand() < 0.5 ? [] : (['we', 'synonyms'] as RewriteOp[]).filter((op) => rewrite(merged, op) !== merged);
        return { ...base, label: 1, sentences: pair, params: { ops } };
      }
      case 'hard-negative': {
        const cited = contentSet(`${a.title} ${a.abstract}`);
        let best: { id: string; i: number; overlap: number } | null = null;
        for (const b of neighbours(a, 30)) {
          sents(b).forEach((t, i) => {
            if (!usable(t)) return;
            const cs = contentSet(t);
            if (cs.size < 6) return;
            const overlap = [...cs].filter((w) => cited.has(w)).length / cs.size;
            if (overlap < 0.7 && (!best || overlap > best.overlap)) best = { id: b.id, i, overlap };
          });
        }
        if (!best || (best as { overlap: number }).overlap < 0.3) return null;
        const b = best as { id: string; i: number; overlap: number };
        return { ...base, label: 0, source: b.id, sentences: [b.i], params: { overlap: Math.round(b.overlap * 1000) / 1000 } };
      }
      case 'number': {
        const withNumber = candidates.filter(([t]) => /(?<![\w.])\d+(?:\.\d+)?(?![\w])/.test(t));
        if (withNumber.length === 0) return null;
        const [t, i] = pick(withNumber);
        const found = t.match(/(?<![\w.])\d+(?:\.\d+)?(?![\w])/g)!;
        const occurrence = Math.floor(rand() * found.length);
        const old = found[occurrence]!;
        const digits = old.includes('.') ? old.split('.')[1]!.length : 0;
        const value = Number(old);
        let changed = digits > 0 ? value + (rand() < 0.5 ? -1 : 1) * (1 + Math.floor(rand() * 9)) * 10 ** -digits * 10 : value + 1 + Math.floor(rand() * Math.max(3, value * 0.5));
        if (changed < 0) changed = value + 1;
        const replacement = digits > 0 ? changed.toFixed(digits) : String(Math.round(changed));
        if (replacement === old) return null;
        return { ...base, label: 0, sentences: [i], params: { occurrence, replacement } };
      }
      case 'negation': {
        for (const [t, i] of candidates) {
          const neg = /\bnot /.exec(t);
          if (neg) return { ...base, label: 0, sentences: [i], params: { op: 'remove', at: neg.index } };
          const aux = /\b(?:is|are|was|were|can|could|will|would|does|do|did|should|may|might)\b(?! not)/.exec(t);
          if (aux) return { ...base, label: 0, sentences: [i], params: { op: 'insert', at: aux.index + aux[0].length } };
        }
        return null;
      }
      case 'swapped-name': {
        const named = candidates.filter(([t]) => namesIn(t).length > 0);
        if (named.length === 0) return null;
        const [t, i] = pick(named);
        const from = pick(namesIn(t));
        const lowerAbstract = `${a.title} ${a.abstract}`.toLowerCase();
        for (const b of neighbours(a, 20)) {
          const to = namesIn(`${b.title} ${b.abstract}`).find((n) => !lowerAbstract.includes(n.toLowerCase()) && n.length >= 3);
          if (to) return { ...base, label: 0, sentences: [i], params: { from, to, donor: b.id } };
        }
        return null;
      }
      case 'wrong-paper': {
        const [, i] = pick(candidates);
        const others = neighbours(a, 30).slice(10);
        if (others.length === 0) return null;
        return { ...base, label: 0, cited: pick(others).id, sentences: [i], params: {} };
      }
    }
  }
}

/** Checks every item's text against its recorded hash; returns the texts by item id. */
export function verifiedClaims(items: readonly JudgeItem[], papers: Map<string, CorpusPaper>): Map<number, string> {
  const out = new Map<number, string>();
  const bad: string[] = [];
  for (const item of items) {
    let text: string;
    try {
      text = claimText(item, papers);
    } catch (e) {
      bad.push(`item ${item.id}: ${(e as Error).message}`);
      continue;
    }
    if (sha256(text) !== item.sha256) bad.push(`item ${item.id} (${item.kind}, ${item.source}): claim text hash differs`);
    else out.set(item.id, text);
  }
  if (bad.length) throw new Error(`judge set does not match the corpus (${bad.length} of ${items.length} items):\n  ${bad.slice(0, 20).join('\n  ')}`);
  return out;
}

/** Ids of every paper the manifest needs: the claim sources, the cited papers and swap donors. */
export function paperIdsOf(items: readonly JudgeItem[]): Set<string> {
  return new Set(items.flatMap((i) => [i.source, i.cited]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes('--write')) {
    console.error('usage: node dist/bench/judge-set.js --write   (regenerates src/bench/judge-set.manifest.json from ../shared/corpus)');
    process.exit(2);
  }
  const papers = await readCorpus(requireShared('corpus'));
  const items = generate(papers);
  writeFileSync(MANIFEST_PATH, `${JSON.stringify({ seed: SEED, corpus: 'shared/corpus/papers-*.jsonl', items }, null, 0).replace(/\{"id":/g, '\n{"id":')}\n`);
  const count = (k: Kind) => items.filter((i) => i.kind === k).length;
  console.log(`${items.length} items → ${MANIFEST_PATH}: ${KINDS.map((k) => `${k} ${count(k)}`).join(', ')}`);
}
