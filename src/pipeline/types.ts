// The typed inputs and outputs of the pipeline's stages. Every stage output is JSON-serialisable:
// it is stored as a job step in SQLite and read back when a job resumes.
import type { Paper } from '../corpus/paper.js';
import type { Engine } from '../engine/types.js';
import type { Embedder } from '../index/embedder.js';
import type { PaperIndex } from '../index/paper-index.js';
import type { SearchFilters } from '../index/search.js';

export type SurveyMode = 'extractive' | 'engine';

/** What a survey job asks for (stored as the job's options). */
export interface SurveyRequest {
  topic: string;
  /** Sections between the introduction and the conclusion. Default 6. */
  sections: number;
  filters: SearchFilters;
  /** Library size cap. Default 200. */
  maxPapers: number;
  seed: number;
  /** Rerank each section's papers with the engine's `score`. */
  rerank: boolean;
  /** Tokens per engine-written section. */
  sectionTokens: number;
  /** Engine sections never sample an end-of-generation token, so each runs to sectionTokens (benchmarks). */
  ignoreEos?: boolean;
  temperature: number;
}

export interface OutlineSection {
  title: string;
  brief: string;
  subsections: string[];
  queries: string[];
}

export interface Outline {
  title: string;
  sections: OutlineSection[];
}

export interface PlanOutput {
  outline: Outline;
  /** engine: the model's outline; extractive: clustering; fallback: clustering after the model's outline failed validation twice. */
  source: 'engine' | 'extractive' | 'extractive-fallback';
  /** Problems of rejected model outlines, for the record. */
  rejected: string[];
  /** Ids of the initial topic search, best first. */
  seedIds: string[];
  ms: number;
}

export interface LibraryPaper extends Pick<Paper, 'id' | 'title' | 'abstract' | 'authors' | 'year' | 'venue' | 'url'> {
  /** Index of the section the paper is assigned to (where it ranks best). */
  section: number;
}

export interface LibraryOutput {
  /** Best first (fused over all section queries). */
  papers: LibraryPaper[];
  /** Per section, its papers' ids, best first. */
  sectionPapers: string[][];
  /** Engine mode: the packed context libraries (the shared one first) and which one each section uses. */
  packing?: PackedLibraries;
  reranked: boolean;
  ms: number;
}

export interface PackedLibraries {
  budgetTokens: number;
  libraries: { paperIds: string[]; tokens: number }[];
  /** Per section, the index into `libraries`. */
  sectionLibrary: number[];
}

export interface SectionOutput {
  title: string;
  /** Markdown body with [@paperId] citations (no heading). */
  markdown: string;
  promptTokens?: number;
  /** Prompt tokens served from the engine's prefix cache, when the engine reports it. */
  cachedTokens?: number;
  generatedTokens?: number;
  ms: number;
}

export interface FrameOutput {
  abstract: string;
  introduction: string;
  conclusion: string;
  promptTokens?: number;
  cachedTokens?: number;
  ms: number;
}

export interface AssemblyOutput {
  markdown: string;
  bibtex: string;
  counts: { sections: number; papers: number; citations: number; cited: number; unresolved: number };
  ms: number;
}

/** What every stage works with. `engine` is null in extractive mode. */
export interface StageContext {
  index: PaperIndex;
  embedder: Embedder;
  engine: Engine | null;
  signal?: AbortSignal;
  /** Progress inside a stage (e.g. sections written). */
  onProgress?: (done: number, total: number, detail?: string) => void;
}
