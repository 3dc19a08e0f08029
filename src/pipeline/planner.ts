// Plan: an initial hybrid search on the topic, then an outline — from the model as schema-
// constrained JSON (validated, repaired once, else the extractive plan), or by clustering the
// retrieved papers and naming each cluster by its key phrases.
import { search, type SearchHit } from '../index/search.js';
import { generateText } from './engine-text.js';
import { clusterKeyphrases } from './extractive/keyphrases.js';
import { kmeans } from './extractive/kmeans.js';
import { centroid, dot, seededRandom, titleCase, tokenizeWords, topicWordTest } from './extractive/text.js';
import { fill, phraseList, render } from '../templates.js';
import type { Outline, OutlineSection, PlanOutput, StageContext, SurveyRequest } from './types.js';

/** Papers of the initial search: the clustering input and the model's first look at the topic. */
export const SEED_PAPERS = 100;
/** Abstracts the model sees when it writes the outline. */
const OUTLINE_ABSTRACTS = 12;
const OUTLINE_ABSTRACT_CHARS = 400;

export function outlineSchema(sections: number): Record<string, unknown> {
  const text = { type: 'string' };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['title', 'sections'],
    properties: {
      title: text,
      sections: {
        type: 'array',
        minItems: sections,
        maxItems: sections,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['title', 'brief', 'subsections', 'queries'],
          properties: {
            title: text,
            brief: text,
            subsections: { type: 'array', minItems: 0, maxItems: 4, items: text },
            queries: { type: 'array', minItems: 2, maxItems: 4, items: text },
          },
        },
      },
    },
  };
}

const hasWords = (s: unknown, max: number): s is string => typeof s === 'string' && s.trim().length > 0 && s.length <= max && /\p{L}{2,}/u.test(s);

/** The outline in `text`, or the reason it is not a valid one. */
export function parseOutline(text: string, sections: number): { outline: Outline } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  if (!hasWords(o.title, 200)) return { problem: '"title" must be a non-empty string of at most 200 characters' };
  if (!Array.isArray(o.sections) || o.sections.length !== sections) return { problem: `"sections" must be an array of ${sections} sections` };
  const out: OutlineSection[] = [];
  for (const [i, s] of (o.sections as unknown[]).entries()) {
    const where = `sections[${i}]`;
    if (typeof s !== 'object' || s === null) return { problem: `${where} is not an object` };
    const sec = s as Record<string, unknown>;
    if (!hasWords(sec.title, 120)) return { problem: `${where}.title must be a short non-empty string` };
    if (!hasWords(sec.brief, 400)) return { problem: `${where}.brief must be a non-empty sentence` };
    const subsections = sec.subsections ?? [];
    if (!Array.isArray(subsections) || subsections.length > 4 || !subsections.every((x) => hasWords(x, 120))) return { problem: `${where}.subsections must be 0 to 4 short strings` };
    if (!Array.isArray(sec.queries) || sec.queries.length < 2 || sec.queries.length > 4 || !sec.queries.every((x) => hasWords(x, 200)))
      return { problem: `${where}.queries must be 2 to 4 non-empty search queries` };
    out.push({ title: oneLine(sec.title), brief: oneLine(sec.brief), subsections: (subsections as string[]).map(oneLine), queries: (sec.queries as string[]).map(oneLine) });
  }
  return { outline: { title: oneLine(o.title), sections: out } };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/^#+\s*/, '').trim();
}

export async function plan(ctx: StageContext, req: SurveyRequest, opts: { outlineTokens?: number } = {}): Promise<PlanOutput> {
  const started = performance.now();
  const hits = await search(ctx.index, ctx.embedder, req.topic, { k: SEED_PAPERS, candidates: 200, filters: req.filters });
  if (hits.length === 0) throw new Error(`no papers in the index match "${req.topic}"${req.filters.since || req.filters.until ? ' in the given years' : ''}`);
  const seedIds = hits.map((h) => h.id);
  const rejected: string[] = [];
  if (ctx.engine) {
    const outline = await engineOutline(ctx, req, hits, rejected, opts.outlineTokens ?? 1200);
    if (outline) return { outline, source: 'engine', rejected, seedIds, ms: performance.now() - started };
  }
  const outline = await extractiveOutline(ctx, req, hits);
  return { outline, source: ctx.engine ? 'extractive-fallback' : 'extractive', rejected, seedIds, ms: performance.now() - started };
}

async function engineOutline(ctx: StageContext, req: SurveyRequest, hits: SearchHit[], rejected: string[], maxTokens: number): Promise<Outline | null> {
  const engine = ctx.engine!;
  const entries = hits
    .slice(0, OUTLINE_ABSTRACTS)
    .map((h, i) => `${i + 1}. ${h.title}${h.year ? ` (${h.year})` : ''}. ${h.abstract.length > OUTLINE_ABSTRACT_CHARS ? `${h.abstract.slice(0, OUTLINE_ABSTRACT_CHARS)}…` : h.abstract}`);
  // As many abstracts as the context holds beside the answer (and the repair prompt's echo of it).
  const room = engine.info().contextSize - maxTokens * 2 - 64;
  let prompt = '';
  for (let n = entries.length; n >= 0; n--) {
    prompt = render('planner', { topic: req.topic, papers: entries.slice(0, n).join('\n'), sections: req.sections });
    if ((await engine.countTokens(prompt)) <= room) break;
    if (n === 0) {
      rejected.push(`the model's context (${engine.info().contextSize} tokens) is too small for the planner prompt and a ${maxTokens}-token answer`);
      return null;
    }
  }
  const schema = outlineSchema(req.sections);
  const gen = (text: string, attempt: number) =>
    generateText(engine, text, { maxTokens, temperature: req.temperature, seed: req.seed + attempt, json: schema, signal: ctx.signal });
  const first = await gen(prompt, 0);
  ctx.onProgress?.(1, 2, 'outline');
  let parsed = parseOutline(first.text, req.sections);
  if ('outline' in parsed) return parsed.outline;
  rejected.push(parsed.problem);
  // One constrained retry that shows the model its invalid answer and the problem.
  const previous = first.text.length > 2000 ? `${first.text.slice(0, 2000)}…` : first.text;
  const second = await gen(render('planner-repair', { topic: req.topic, problem: parsed.problem, previous, sections: req.sections }), 1);
  ctx.onProgress?.(2, 2, 'outline repair');
  parsed = parseOutline(second.text, req.sections);
  if ('outline' in parsed) return parsed.outline;
  rejected.push(parsed.problem);
  return null;
}

/** Clusters the seed papers into `sections` groups, most relevant group first, named by key phrases. */
export async function extractiveOutline(ctx: StageContext, req: SurveyRequest, hits: SearchHit[]): Promise<Outline> {
  const vectors = await ctx.embedder.embed(hits.map((h) => `${h.title}. ${h.abstract}`));
  const k = Math.min(req.sections, hits.length);
  const { assignment } = kmeans(vectors, k, req.seed);
  const clusters = Array.from({ length: k }, (_, c) => hits.map((h, i) => ({ h, i })).filter((x) => assignment[x.i] === c));
  // Most relevant first: by the mean search rank of the cluster's papers.
  const meanRank = (c: { i: number }[]) => c.reduce((s, x) => s + x.i, 0) / Math.max(1, c.length);
  const ordered = clusters.filter((c) => c.length > 0).sort((a, b) => meanRank(a) - meanRank(b));
  const topicWords = topicWordTest(req.topic);
  const phrases = clusterKeyphrases(ordered.map((c) => c.map((x) => x.h)), 5, topicWords);
  const usedTitles = new Set<string>();
  const sections = ordered.map((members, c): OutlineSection => {
    const p = phrases[c]!.length ? phrases[c]! : tokenizeWords(members[0]!.h.title).slice(0, 2);
    const texts = members.map((x) => `${x.h.title}. ${x.h.abstract}`);
    const named = p.map((phrase) => surfaceForm(phrase, texts));
    let title = named.slice(0, 2).join(' and ') || `Theme ${c + 1}`;
    if (usedTitles.has(title)) title = named.slice(0, 3).join(', ') || `${title} (${c + 1})`;
    usedTitles.add(title);
    // The member closest to the cluster's mean stands for it; its title is a strong query.
    const mean = centroid(members.map((x) => vectors[x.i]!), vectors[0]!.length);
    const central = members.reduce((best, x) => (dot(vectors[x.i]!, mean) > dot(vectors[best.i]!, mean) ? x : best), members[0]!);
    // The topic with each key phrase, then the central paper's title: phrase-wise queries reach
    // further than one query of all phrases (measured in bench:pipeline's library recall).
    const queries = [...new Set([...p.slice(0, 3).map((phrase) => `${req.topic} ${phrase}`), central.h.title].map((q) => q.trim()).filter(Boolean))].slice(0, 4);
    if (queries.length < 2) queries.push(req.topic);
    return { title, brief: `Papers on ${listPhrases(p.slice(0, 3))}.`, subsections: [], queries };
  });
  const titles = phraseList('extractive', 'title');
  const title = fill(titles[Math.floor(seededRandom(req.seed)() * titles.length)]!, { topic: titleCase(req.topic) }, 'extractive title');
  return { title, sections };
}

export function listPhrases(p: readonly string[]): string {
  if (p.length <= 1) return p[0] ?? '';
  return `${p.slice(0, -1).join(', ')} and ${p[p.length - 1]}`;
}

/** A key phrase as the papers write it most often ("llm inference" → "LLM Inference"), title-cased. */
export function surfaceForm(phrase: string, texts: readonly string[]): string {
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${phrase.split(' ').map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s-]+')}(?![\\p{L}\\p{N}])`, 'giu');
  const counts = new Map<string, number>();
  for (const t of texts) for (const m of t.matchAll(pattern)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? phrase;
  return best.split(/(\s+|-)/).map((w) => (/^\p{Ll}/u.test(w) ? titleCase(w) : w)).join('');
}
