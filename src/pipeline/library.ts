// The engine's library: the shared prompt prefix (system prompt + topic + numbered abstracts) packed
// into the model's context minus a reserve for the section instruction and its output. Papers enter
// round-robin over the sections by section rank, so every section is represented; a section left
// with too few of its papers in the shared library gets a sub-library of its own.
import type { Engine } from '../engine/types.js';
import { render } from '../templates.js';
import type { LibraryPaper, PackedLibraries } from './types.js';

const ABSTRACT_CHARS = 1500;
/** A section needs this many of its papers (or all it has, or its fair share of a small shared library) in the shared library to be written from it. */
const MIN_SECTION_PAPERS = 3;

/** One library entry; the same text every time, so identical libraries give identical tokens. */
export function paperEntry(p: LibraryPaper): string {
  const abstract = p.abstract.length > ABSTRACT_CHARS ? `${p.abstract.slice(0, ABSTRACT_CHARS)}…` : p.abstract;
  return `[@${p.id}] ${p.title}${p.year ? ` (${p.year})` : ''}. ${abstract}\n\n`;
}

/** The library prefix every prompt of a section starts with. */
export function libraryPrefix(topic: string, papers: readonly LibraryPaper[]): string {
  return render('library', { topic, count: papers.length, papers: papers.map(paperEntry).join('').trimEnd(), exampleId: papers[0]?.id ?? 'paperId' });
}

export interface PackRequest {
  topic: string;
  papers: LibraryPaper[];
  sectionPapers: string[][];
  sectionTitles: string[];
  /** Tokens kept free for the longest instruction and the output. */
  reserveTokens: number;
  /** Cap on the library's own tokens (e.g. a 16K-token benchmark library); default: all the context allows. */
  maxLibraryTokens?: number;
}

export async function packLibraries(engine: Engine, req: PackRequest): Promise<PackedLibraries> {
  const context = engine.info().contextSize;
  const framing = await engine.countTokens(libraryPrefix(req.topic, []));
  const budget = Math.min(context - req.reserveTokens - framing, req.maxLibraryTokens ?? Infinity);
  const describe = `the model's context (${context} tokens) minus ${req.reserveTokens} reserved for instructions and output and ${framing} for the library's framing`;
  if (budget <= 0) throw new Error(`no room for a library: ${describe} leaves ${budget} tokens`);
  const cost = new Map<string, number>();
  for (const p of req.papers) cost.set(p.id, (await engine.countTokens(paperEntry(p))) + 1);

  const fill = (ids: Iterable<string>): { paperIds: string[]; tokens: number } => {
    const paperIds: string[] = [];
    let tokens = 0;
    for (const id of ids) {
      const c = cost.get(id)!;
      if (tokens + c > budget) continue;
      paperIds.push(id);
      tokens += c;
    }
    return { paperIds, tokens };
  };
  function* roundRobin(): Generator<string> {
    const longest = Math.max(0, ...req.sectionPapers.map((s) => s.length));
    for (let i = 0; i < longest; i++) for (const s of req.sectionPapers) if (i < s.length) yield s[i]!;
  }
  const shared = fill(roundRobin());
  const libraries = [shared];
  const sectionLibrary = req.sectionPapers.map((ids, s) => {
    // A section that found no papers of its own is written from the shared library.
    if (ids.length === 0) return 0;
    const inShared = ids.filter((id) => shared.paperIds.includes(id)).length;
    // Enough of its own papers: MIN_SECTION_PAPERS, or its fair share when the shared library is small.
    const fairShare = Math.max(1, Math.floor(shared.paperIds.length / req.sectionPapers.length));
    if (inShared >= Math.min(MIN_SECTION_PAPERS, ids.length, fairShare)) return 0;
    const own = fill(ids);
    if (own.paperIds.length === 0) {
      const smallest = Math.min(...ids.map((id) => cost.get(id)!));
      throw new Error(`not even one paper of section "${req.sectionTitles[s]}" fits: the smallest takes ${smallest} tokens but ${describe} leaves ${budget}`);
    }
    libraries.push(own);
    return libraries.length - 1;
  });
  return { budgetTokens: budget, libraries, sectionLibrary };
}
