// Foundations: the papers that introduced the models, datasets and methods a survey's candidate
// papers name most often. Surveys cite the artifacts their field builds on (BERT, GLUE, TruthfulQA…),
// which topic queries rarely reach because those papers are about the artifact, not the topic.
// With no citation graph in the corpus, a name in the candidates' abstracts stands for a citation,
// and a title of the form "Name: …" says which paper introduced the name.
import type { Embedder } from '../index/embedder.js';
import type { PaperIndex } from '../index/paper-index.js';
import { centroid, dot } from './extractive/text.js';

export interface NamedPaper {
  id: string;
  title: string;
  abstract: string;
  year: number | null;
}

export interface Foundation {
  id: string;
  name: string;
  /** Ids of the candidate papers (other than itself) that mention the name. */
  mentionedBy: string[];
}

/** Fewer distinct mentioning papers than this is no sign of a field's shared artifact. */
const MIN_MENTIONS = 3;

/**
 * "BERT: Pre-training of…", "Super-NaturalInstructions: Generalization…": a coined name (an
 * uppercase letter after the first character, a digit or a hyphen) before a colon. Ordinary
 * words ("Attention: …") are not names.
 */
const TITLE_NAME = /^\s*([A-Za-z0-9][\w.+-]*[A-Za-z0-9])\s*:\s/u;
const coined = (name: string) => name.length >= 3 && (/[A-Z]/.test(name.slice(1)) || /\d/.test(name) || name.includes('-'));
const NAME_TOKEN = /(?<![\w-])[A-Za-z0-9][\w.+-]*[A-Za-z0-9](?![\w-])/gu;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wordKey = (w: string) => w.toLowerCase().slice(0, 5);

/** Whether `owner` is older than most of the papers naming it, as a cited paper precedes its citers. */
function older(owner: NamedPaper, citers: readonly NamedPaper[]): boolean {
  const years = citers.flatMap((p) => (p.year === null ? [] : [p.year])).sort((a, b) => a - b);
  return owner.year !== null && years.length > 0 && owner.year < years[Math.floor(years.length / 2)]!;
}

/**
 * Whether the candidates use `name` for something other than the titled paper: as an event
 * ("ACL 2025"), or spelled out as an acronym ("small language models (SLMs)") in words the
 * titled paper does not use ("Bidirectional Encoder Representations from Transformers (BERT)"
 * is BERT's own expansion).
 */
function otherSense(name: string, texts: readonly string[], owner: string): boolean {
  const event = new RegExp(`(?<![\\w-])${escape(name)}\\s+(?:19|20)\\d\\d\\b`, 'u');
  if (texts.some((t) => event.test(t))) return true;
  const letters = name.replace(/[^A-Za-z]/g, '').toUpperCase();
  const defined = new RegExp(`((?:[\\p{L}\\d]+[\\s-]+){${letters.length - 1},${letters.length * 2}}[\\p{L}\\d]+)\\s*\\(${escape(name)}s?\\)`, 'u');
  const ownerWords = new Set((owner.match(/\p{L}+/gu) ?? []).map(wordKey));
  for (const t of texts) {
    const m = defined.exec(t);
    if (!m) continue;
    const words = m[1]!.split(/[\s-]+/);
    // The shortest tail of the words whose initials spell the acronym.
    for (let from = words.length - 1; from >= 0; from--) {
      const tail = words.slice(from).filter((w) => !/^(of|for|from|and|the|with|to|in|on|a|an)$/i.test(w));
      if (tail.map((w) => w[0]!.toUpperCase()).join('') !== letters) continue;
      const shared = tail.filter((w) => ownerWords.has(wordKey(w))).length;
      if (shared < 0.75 * tail.length) return true;
      break;
    }
  }
  return false;
}

const titleNames = new WeakMap<PaperIndex, Promise<Map<string, string[]>>>();

/** Coined title names of the whole index → the ids of the papers titled with them. Read once per open index. */
export function namedTitles(index: PaperIndex): Promise<Map<string, string[]>> {
  let pending = titleNames.get(index);
  if (!pending) {
    pending = (async () => {
      const byName = new Map<string, string[]>();
      const table = await index.papers().query().select(['id', 'title']).toArrow();
      const ids = table.getChild('id')!;
      const titles = table.getChild('title')!;
      for (let i = 0; i < table.numRows; i++) {
        const m = TITLE_NAME.exec(titles.get(i) as string);
        if (!m || !coined(m[1]!)) continue;
        const list = byName.get(m[1]!);
        if (list) list.push(ids.get(i) as string);
        else byName.set(m[1]!, [ids.get(i) as string]);
      }
      return byName;
    })();
    titleNames.set(index, pending);
  }
  return pending;
}

/**
 * The introducing papers of the names mentioned by at least MIN_MENTIONS candidates, most mentioned
 * first, at most `limit`. A name several papers share goes to the one closest in meaning to the
 * papers that mention it. `lookup` returns title and abstract of indexed papers by id.
 */
export async function findFoundations(
  index: PaperIndex,
  embedder: Embedder,
  candidates: readonly NamedPaper[],
  limit: number,
  lookup: (ids: string[]) => Promise<NamedPaper[]>,
): Promise<Foundation[]> {
  if (limit <= 0 || candidates.length === 0) return [];
  const byName = await namedTitles(index);
  const mentioners = new Map<string, number[]>();
  candidates.forEach((p, i) => {
    const seen = new Set<string>();
    for (const m of `${p.title} ${p.abstract}`.matchAll(NAME_TOKEN)) {
      const name = m[0];
      if (seen.has(name) || !byName.has(name)) continue;
      seen.add(name);
      const list = mentioners.get(name);
      if (list) list.push(i);
      else mentioners.set(name, [i]);
    }
  });
  const ranked = [...mentioners.entries()]
    .map(([name, who]) => ({ name, who: who.filter((i) => !byName.get(name)!.includes(candidates[i]!.id)) }))
    .filter((x) => x.who.length >= MIN_MENTIONS)
    .sort((a, b) => b.who.length - a.who.length || (a.name < b.name ? -1 : 1));
  if (ranked.length === 0) return [];
  const owners = new Map((await lookup([...new Set(ranked.flatMap((x) => byName.get(x.name)!))])).map((p) => [p.id, p]));
  const text = (p: NamedPaper) => `${p.title}. ${p.abstract}`;
  const out: Foundation[] = [];
  for (const { name, who } of ranked) {
    if (out.length === limit) break;
    const named = byName.get(name)!.filter((o) => owners.has(o));
    if (named.length === 0) continue;
    const texts = who.map((i) => text(candidates[i]!));
    let id = named[0]!;
    if (named.length > 1) {
      const [mentionVecs, ownerVecs] = await Promise.all([embedder.embed(texts), embedder.embed(named.map((o) => text(owners.get(o)!)))]);
      const mean = centroid(mentionVecs, mentionVecs[0]!.length);
      let best = -Infinity;
      named.forEach((o, k) => {
        const s = dot(ownerVecs[k]!, mean);
        if (s > best) [best, id] = [s, o];
      });
    }
    const owner = owners.get(id)!;
    if (!older(owner, who.map((i) => candidates[i]!)) || otherSense(name, texts, text(owner))) continue;
    out.push({ id, name, mentionedBy: who.map((i) => candidates[i]!.id) });
  }
  return out;
}
