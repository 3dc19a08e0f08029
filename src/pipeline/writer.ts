// Write: the sections, then the abstract, introduction and conclusion. Engine mode prompts the model
// with the library prefix + an instruction (so a prefix cache serves the library once); extractive
// mode composes text from the papers' abstract sentences (MMR) joined by templated phrasing.
import { generateText } from './engine-text.js';
import { clusterKeyphrases } from './extractive/keyphrases.js';
import { mmr } from './extractive/mmr.js';
import { centroid, seededRandom, sentences, standsAlone, topicWordTest } from './extractive/text.js';
import { libraryPrefix } from './library.js';
import { listPhrases } from './planner.js';
import { fill, phraseList, render } from '../templates.js';
import type { FrameOutput, LibraryOutput, LibraryPaper, Outline, SectionOutput, StageContext, SurveyRequest } from './types.js';

/** Papers of a section whose sentences extractive mode considers. */
const EXTRACT_PAPERS = 12;
const EXTRACT_SENTENCES = 6;
const MAX_SENTENCES_PER_PAPER = 2;
const MMR_LAMBDA = 0.7;
/** Tokens for the abstract / introduction / conclusion in engine mode. */
const FRAME_TOKENS = { abstract: 200, introduction: 400, conclusion: 400 };

function papersById(library: LibraryOutput): Map<string, LibraryPaper> {
  return new Map(library.papers.map((p) => [p.id, p]));
}

// ---------------------------------------------------------------- engine mode

/** Model text made safe to splice into the survey: its own top-level headings become subsection headings. */
export function cleanModelText(text: string, sectionTitle?: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .filter((line) => !(sectionTitle && line.replace(/^#+\s*/, '').trim().toLowerCase() === sectionTitle.toLowerCase() && line.startsWith('#')))
    .map((line) => line.replace(/^#{1,2}(?=\s)/, '###'))
    .join('\n')
    .trim();
}

function libraryPapers(library: LibraryOutput, which: number): LibraryPaper[] {
  const byId = papersById(library);
  return library.packing!.libraries[which]!.paperIds.map((id) => byId.get(id)!);
}

export async function writeSectionWithEngine(ctx: StageContext, req: SurveyRequest, outline: Outline, library: LibraryOutput, s: number): Promise<SectionOutput> {
  const started = performance.now();
  const section = outline.sections[s]!;
  const prefix = libraryPrefix(req.topic, libraryPapers(library, library.packing!.sectionLibrary[s]!));
  const subsections = section.subsections.length ? `Organise it under the subsections ${section.subsections.map((t) => `"${t}"`).join(', ')}, each with a "### " heading.\n` : '';
  const instruction = render('section', { title: section.title, brief: section.brief, subsections, words: Math.round(req.sectionTokens * 0.7) });
  const { text, stats } = await generateText(ctx.engine!, prefix + instruction, {
    maxTokens: req.sectionTokens,
    temperature: req.temperature,
    seed: req.seed + s + 1,
    ignoreEos: req.ignoreEos,
    signal: ctx.signal,
  });
  return {
    title: section.title,
    markdown: cleanModelText(text, section.title),
    promptTokens: stats.promptTokens,
    cachedTokens: stats.cachedTokens,
    generatedTokens: stats.generatedTokens,
    ms: performance.now() - started,
  };
}

export async function writeFrameWithEngine(ctx: StageContext, req: SurveyRequest, outline: Outline, library: LibraryOutput, sections: SectionOutput[]): Promise<FrameOutput> {
  const started = performance.now();
  const prefix = libraryPrefix(req.topic, libraryPapers(library, 0));
  const outlineText = outline.sections.map((s, i) => `${i + 1}. ${s.title}: ${s.brief}`).join('\n');
  const summaries = sections.map((s, i) => `${i + 1}. ${s.title}: ${s.markdown.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n');
  let promptTokens = 0;
  let cachedTokens: number | undefined;
  const run = async (instruction: string, maxTokens: number, seedOffset: number) => {
    const { text, stats } = await generateText(ctx.engine!, prefix + instruction, { maxTokens, temperature: req.temperature, seed: req.seed + seedOffset, signal: ctx.signal });
    promptTokens += stats.promptTokens;
    if (stats.cachedTokens !== undefined) cachedTokens = (cachedTokens ?? 0) + stats.cachedTokens;
    return cleanModelText(text).replace(/^#+ .*\n?/gm, '');
  };
  const introduction = await run(render('introduction', { title: outline.title, outline: outlineText, words: Math.round(FRAME_TOKENS.introduction * 0.7) }), FRAME_TOKENS.introduction, 101);
  ctx.onProgress?.(1, 3, 'introduction');
  const conclusion = await run(render('conclusion', { title: outline.title, summaries, words: Math.round(FRAME_TOKENS.conclusion * 0.7) }), FRAME_TOKENS.conclusion, 102);
  ctx.onProgress?.(2, 3, 'conclusion');
  const abstract = await run(render('abstract', { title: outline.title, outline: outlineText, words: Math.round(FRAME_TOKENS.abstract * 0.7) }), FRAME_TOKENS.abstract, 103);
  ctx.onProgress?.(3, 3, 'abstract');
  return { abstract, introduction, conclusion, promptTokens, cachedTokens, ms: performance.now() - started };
}

// ---------------------------------------------------------------- extractive mode

interface Candidate {
  text: string;
  paper: LibraryPaper;
  vector: Float32Array;
}

/** Key phrases of each section's papers against the other sections' papers. */
export function sectionPhrases(req: SurveyRequest, library: LibraryOutput): string[][] {
  const byId = papersById(library);
  const docs = library.sectionPapers.map((ids) => ids.slice(0, 30).map((id) => byId.get(id)!));
  return clusterKeyphrases(docs, 3, topicWordTest(req.topic));
}

/** "We propose X" → "Surname et al. propose X": abstract sentences read as reports about the paper. */
function attribute(sentence: string, paper: LibraryPaper): string {
  const last = paper.authors[0]?.trim().split(/\s+/).pop();
  const surname = last ? last[0]!.toUpperCase() + last.slice(1) : undefined;
  const subject = surname ? `${surname} et al.` : 'The authors';
  return sentence
    .replace(/^(?:(?:In|Here,?) (?:this|the present) (?:paper|work|article|study),?\s+|Here,?\s+)?we\b/i, subject)
    .replace(/^(?:In )?this (?:paper|work|article|study|thesis|note),? (\p{Ll}+?)s\b/iu, `${subject} $1`)
    .replace(/^Our\b/, surname ? `${surname} et al.'s` : 'Their')
    // First person elsewhere in the sentence reads as the survey's own voice: make it the authors'.
    .replace(/(?<=\S.*)\b[Ww]e\b/g, 'the authors')
    .replace(/(?<=\S.*)\b[Oo]ur\b/g, 'their')
    .replace(/(?<=\S.*)\bus\b/g, 'them');
}

/** Adds a connective (lower-casing a common first word) and the citation before the final punctuation. */
function citedSentence(original: string, paper: LibraryPaper, connective: string): string {
  let s = attribute(original, paper);
  if (connective) {
    // "Speculative decoding…" → "…, speculative decoding…"; names, acronyms, CamelCase and
    // Title Case terms ("Speculative Decoding (SD)") stay as they are.
    const plainStart = s.slice(0, 12) === original.slice(0, 12) && /^\p{Lu}\p{Ll}+[\s,]+[^\p{Lu}]/u.test(s);
    if (plainStart) s = s[0]!.toLowerCase() + s.slice(1);
    s = `${connective} ${s}`;
  }
  return s.replace(/([.!?])$/, ` [@${paper.id}]$1`);
}

async function candidates(ctx: StageContext, papers: LibraryPaper[]): Promise<Candidate[]> {
  const raw = papers.flatMap((paper) => sentences(paper.abstract).filter(standsAlone).map((text) => ({ text, paper })));
  const vectors = await ctx.embedder.embed(raw.map((c) => c.text));
  return raw.map((c, i) => ({ ...c, vector: vectors[i]! }));
}

function picker(seed: number, list: readonly string[]): () => string {
  const random = seededRandom(seed);
  return () => list[Math.floor(random() * list.length)]!;
}

export async function writeSectionExtractive(ctx: StageContext, req: SurveyRequest, outline: Outline, library: LibraryOutput, s: number, phrases: string[]): Promise<SectionOutput> {
  const started = performance.now();
  const section = outline.sections[s]!;
  const byId = papersById(library);
  const ids = library.sectionPapers[s]!;
  const papers = ids.slice(0, EXTRACT_PAPERS).map((id) => byId.get(id)!);
  const pool = await candidates(ctx, papers);
  const [queryVector] = await ctx.embedder.embed([`${section.title}. ${section.brief} ${section.queries.join('. ')}`]);
  const paperVectors = await ctx.embedder.embed(papers.map((p) => `${p.title}. ${p.abstract}`));
  const dim = queryVector!.length;
  const target = centroid([queryVector!, centroid(paperVectors, dim)], dim);
  const perPaper = (c: Candidate, picked: Candidate[]) => picked.filter((p) => p.paper.id === c.paper.id).length < MAX_SENTENCES_PER_PAPER;
  const chosen = mmr(pool, target, EXTRACT_SENTENCES, MMR_LAMBDA, perPaper).map((i) => pool[i]!);
  const connective = picker(req.seed * 7919 + s, phraseList('extractive', 'connective'));
  const opening = picker(req.seed + s, phraseList('extractive', 'section-opening'))();
  const lines = chosen.map((c, i) => citedSentence(c.text, c.paper, i === 0 || i === 3 ? '' : connective()));
  const intro = fill(opening, { section: section.title, papers: ids.length, phrases: listPhrases(phrases) || section.title }, 'extractive section-opening');
  const paragraphs = [[intro, ...lines.slice(0, 3)].join(' '), lines.slice(3).join(' ')].filter(Boolean);
  return { title: section.title, markdown: paragraphs.join('\n\n'), ms: performance.now() - started };
}

export async function writeFrameExtractive(ctx: StageContext, req: SurveyRequest, outline: Outline, library: LibraryOutput, sections: SectionOutput[], phrases: string[][]): Promise<FrameOutput> {
  const started = performance.now();
  const themes = outline.sections.map((s) => s.title).join('; ');
  const vars = { topic: req.topic, count: library.papers.length, sections: outline.sections.length, phrases: themes };
  const pick = (key: string, offset: number) => fill(picker(req.seed + offset, phraseList('extractive', key))(), vars, `extractive ${key}`);
  // The introduction's evidence: the most central sentences of the best papers. Papers the sections already quote are left to them, so the introduction adds new evidence.
  const quoted = new Set(sections.flatMap((s) => [...s.markdown.matchAll(/\[@([^\]\s;,]+)/g)].map((m) => m[1]!)));
  const top = library.papers.filter((p) => !quoted.has(p.id)).slice(0, 20);
  const pool = await candidates(ctx, top);
  const [topicVector] = await ctx.embedder.embed([req.topic]);
  const dim = topicVector!.length;
  const target = centroid([topicVector!, centroid(pool.map((c) => c.vector), dim)], dim);
  const central = mmr(pool, target, 3, MMR_LAMBDA, (c, picked) => picked.every((p) => p.paper.id !== c.paper.id)).map((i) => pool[i]!);
  const introduction = [
    pick('introduction', 1),
    central.length ? [pick('introduction-context', 2), ...central.map((c) => citedSentence(c.text, c.paper, ''))].join(' ') : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const perSection = outline.sections.map((s, i) =>
    fill(picker(req.seed + 10 + i, phraseList('extractive', 'conclusion-section'))(), { section: s.title, papers: library.sectionPapers[i]!.length, phrases: listPhrases(phrases[i] ?? []) || s.title }, 'extractive conclusion-section'),
  );
  const conclusion = [pick('conclusion', 3), ...perSection, pick('conclusion-closing', 4)].join(' ');
  return { abstract: pick('abstract', 5), introduction, conclusion, ms: performance.now() - started };
}
