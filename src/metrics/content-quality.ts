// Content quality without a model: structure, coverage, relevance, redundancy, citation density
// and length; with a model, the SurveyEval rubric (relevance, coverage, depth, novelty, 1–5).
import type { Engine } from '../engine/types.js';
import type { ClaimVerdict } from './fact-score.js';
import { CHARS_PER_TOKEN } from './judge-engine.js';
import type { ParsedSurvey } from './parse.js';
import { fill, loadTemplate } from '../templates.js';
import { words } from './text.js';

/** The papers the survey was written from; clusters are the pipeline's per-section paper sets. */
export interface Library {
  paperIds: string[];
  clusters: string[][];
}

export interface TextEmbedder {
  embedOne(text: string): Float32Array;
}

export interface ContentQuality {
  structure: {
    sections: number;
    maxDepth: number;
    hasIntroduction: boolean;
    hasConclusion: boolean;
    /** 1/(1 + coefficient of variation) of the top-level sections' word counts; null with < 2 sections. */
    balance: number | null;
    score: number;
  };
  coverage: {
    citedPapers: number;
    library: { papers: number; cited: number; share: number; clusters: number; clustersCited: number; clusterShare: number } | null;
    reference: { ids: number; found: number; recall: number } | null;
  };
  relevance: { topic: string; mean: number; sections: { section: string; similarity: number }[] } | null;
  redundancy: { repeatedNgramShare: number; nearDuplicatePairs: number; examples: [string, string][] };
  density: { citationsPer100Words: number; claimShare: number; distinctPapers: number };
  length: { words: number; sentences: number; sections: number; references: number };
  rubric?: RubricScores;
}

export interface RubricScores {
  [criterion: string]: { expected: number; best: number };
}

const INTRO = /\b(introduction|overview|background|motivation)\b/i;
const CONCLUSION = /\b(conclusions?|concluding|summary|outlook|future (work|directions?)|closing remarks|discussion)\b/i;
const FRONT_SECTION = /^(abstract|table of contents|contents)$/i;
const NGRAM = 4;
const NEAR_DUPLICATE_JACCARD = 0.7;
const NEAR_DUPLICATE_COSINE = 0.95;
/** Near-duplicate search is quadratic: beyond this many sentences only the first ones are compared. */
const MAX_COMPARED = 3000;
const MIN_RELEVANCE_WORDS = 20;

export interface ContentQualityInput {
  parsed: ParsedSurvey;
  claims: readonly ClaimVerdict[];
  /** Paper ids of the resolved reference entries (cited or not). */
  referencedIds: readonly string[];
  library?: Library;
  referenceIds?: readonly string[];
  embedder?: TextEmbedder;
}

export function contentQuality(input: ContentQualityInput): ContentQuality {
  const { parsed, claims } = input;
  const body = parsed.sections.filter((s) => s.depth > 0);
  const top = body.length ? Math.min(...body.map((s) => s.depth)) : 0;
  const topLevel = body.filter((s) => s.depth === top && !FRONT_SECTION.test(s.title));
  const wordsUnder = (path: string) => parsed.sections.filter((s) => s.path === path || s.path.startsWith(`${path} › `)).reduce((n, s) => n + s.words, 0);
  const sizes = topLevel.map((s) => wordsUnder(s.path));
  const balance = sizes.length >= 2 ? 1 / (1 + cv(sizes)) : null;
  const hasIntroduction = topLevel.slice(0, 3).some((s) => INTRO.test(s.title));
  const hasConclusion = topLevel.slice(-3).some((s) => CONCLUSION.test(s.title));
  const parts = [hasIntroduction ? 1 : 0, hasConclusion ? 1 : 0, balance ?? 0, Math.min(1, topLevel.length / 4)];
  const structure = {
    sections: body.length,
    maxDepth: body.reduce((m, s) => Math.max(m, s.depth - top + 1), 0),
    hasIntroduction,
    hasConclusion,
    balance,
    score: parts.reduce((a, b) => a + b, 0) / parts.length,
  };

  const cited = new Set(claims.flatMap((c) => c.paperIds));
  let library: ContentQuality['coverage']['library'] = null;
  if (input.library && input.library.paperIds.length) {
    const lib = new Set(input.library.paperIds);
    const clusters = input.library.clusters.filter((c) => c.length > 0);
    const clustersCited = clusters.filter((c) => c.some((id) => cited.has(id))).length;
    const citedInLib = [...cited].filter((id) => lib.has(id)).length;
    library = { papers: lib.size, cited: citedInLib, share: citedInLib / lib.size, clusters: clusters.length, clustersCited, clusterShare: clusters.length ? clustersCited / clusters.length : 0 };
  }
  let reference: ContentQuality['coverage']['reference'] = null;
  if (input.referenceIds && input.referenceIds.length) {
    const mentioned = new Set([...cited, ...input.referencedIds]);
    const ids = new Set(input.referenceIds);
    const found = [...ids].filter((id) => mentioned.has(id)).length;
    reference = { ids: ids.size, found, recall: found / ids.size };
  }

  let relevance: ContentQuality['relevance'] = null;
  const topic = String(parsed.frontMatter.topic ?? '') || parsed.title;
  if (input.embedder && topic) {
    const t = input.embedder.embedOne(topic);
    const sections = body
      .map((s) => ({ s, text: [s.title, ...parsed.units.filter((u) => parsed.sections[u.section] === s).map((u) => u.plain)].join(' ') }))
      .filter((x) => words(x.text).length >= MIN_RELEVANCE_WORDS)
      .map((x) => ({ section: x.s.path, similarity: dot(t, input.embedder!.embedOne(x.text)) }));
    relevance = { topic, mean: sections.length ? sections.reduce((a, b) => a + b.similarity, 0) / sections.length : 0, sections };
  }

  const sentences = parsed.units.length;
  return {
    structure,
    coverage: { citedPapers: cited.size, library, reference },
    relevance,
    redundancy: redundancy(parsed.units.map((u) => u.plain), input.embedder),
    density: {
      citationsPer100Words: parsed.words ? (100 * claims.reduce((n, c) => n + c.labels.length, 0)) / parsed.words : 0,
      claimShare: sentences ? claims.length / sentences : 0,
      distinctPapers: cited.size,
    },
    length: { words: parsed.words, sentences, sections: body.length, references: parsed.references.length },
  };
}

function redundancy(texts: string[], embedder?: TextEmbedder): ContentQuality['redundancy'] {
  const seen = new Map<string, number>();
  const grams: string[] = [];
  for (const t of texts) {
    const w = words(t);
    for (let i = 0; i + NGRAM <= w.length; i++) grams.push(w.slice(i, i + NGRAM).join(' '));
  }
  for (const g of grams) seen.set(g, (seen.get(g) ?? 0) + 1);
  const repeated = grams.filter((g) => seen.get(g)! > 1).length;
  const compared = texts.slice(0, MAX_COMPARED).filter((t) => words(t).length >= 6);
  const sets = compared.map((t) => new Set(words(t)));
  const vecs = embedder ? compared.map((t) => embedder.embedOne(t)) : null;
  const examples: [string, string][] = [];
  let pairs = 0;
  for (let i = 0; i < compared.length; i++) {
    for (let j = i + 1; j < compared.length; j++) {
      if (jaccard(sets[i]!, sets[j]!) >= NEAR_DUPLICATE_JACCARD || (vecs && dot(vecs[i]!, vecs[j]!) >= NEAR_DUPLICATE_COSINE)) {
        pairs++;
        if (examples.length < 5) examples.push([compared[i]!, compared[j]!]);
      }
    }
  }
  return { repeatedNgramShare: grams.length ? repeated / grams.length : 0, nearDuplicatePairs: pairs, examples };
}

export const RUBRIC: Record<string, string> = {
  relevance: 'how closely every section stays on the topic',
  coverage: 'how completely the survey covers the important work and subtopics of the field',
  depth: 'how deeply it analyses, compares and explains methods rather than listing them',
  novelty: 'how far it offers new organisation, insight or open problems beyond summarising papers',
};
/** The survey text shown to the model is cut to this many characters. */
const RUBRIC_SURVEY_CHARS = 12_000;

/** Each criterion: the probability of each score 1–5 as the next token, its expected value and the most likely score. */
export async function rubricScores(engine: Engine, topic: string, markdown: string): Promise<RubricScores> {
  const template = loadTemplate('rubric').body.trimEnd();
  const fits = (engine.info().contextSize - 300) * CHARS_PER_TOKEN;
  const survey = markdown.replace(/^---[\s\S]*?\n---\s*\n/, '').slice(0, Math.max(1000, Math.min(RUBRIC_SURVEY_CHARS, fits)));
  const out: RubricScores = {};
  for (const [criterion, description] of Object.entries(RUBRIC)) {
    const prompt = fill(template, { topic, survey, criterion, description });
    const logps: number[] = [];
    for (let s = 1; s <= 5; s++) logps.push((await engine.score(prompt, ` ${s}`)).total);
    const max = Math.max(...logps);
    const p = logps.map((l) => Math.exp(l - max));
    const z = p.reduce((a, b) => a + b, 0);
    out[criterion] = { expected: p.reduce((a, x, i) => a + (x / z) * (i + 1), 0), best: logps.indexOf(max) + 1 };
  }
  return out;
}

function cv(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean === 0) return 0;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
  return Math.sqrt(variance) / mean;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter || 1);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
