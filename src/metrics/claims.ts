// From a parsed survey to claims: each sentence or list item with at least one citation, its
// citations mapped through the reference list to index papers. What cannot be mapped is counted,
// never fatal: surveys that are not ours cite in many ways.
import type { CitationRef, ParsedSurvey, Reference } from './parse.js';
import type { PaperRecord, PaperSource } from './papers.js';

export interface Claim {
  /** Position among the survey's claims. */
  index: number;
  /** Heading path of the section the claim is in ("" before the first heading). */
  section: string;
  text: string;
  plain: string;
  kind: 'sentence' | 'item';
  /** Citations as written: "3", "@acl:2020.acl-main.1", "^note". */
  labels: string[];
  /** Index papers the citations resolve to, in order, without repeats. */
  paperIds: string[];
  /** Labels that name no reference entry or whose entry is not in the index. */
  unresolved: string[];
}

export interface ReferenceResolution {
  /** Reference label → index paper id (absent when the entry is not in the index). */
  byLabel: Map<string, string | null>;
  /** Reference entries not found in the index. */
  unknown: Reference[];
  /** Every paper resolved, by id. */
  papers: Map<string, PaperRecord>;
}

/** Title searches are the slow path (a full-text query each): a reference list longer than this gets ids only. */
export const MAX_TITLE_LOOKUPS = 1000;

/** Maps each reference entry to an index paper: by the ids it names (URL, arXiv/ACL id), else by title. */
export async function resolveReferences(parsed: ParsedSurvey, source: PaperSource): Promise<ReferenceResolution> {
  const byLabel = new Map<string, string | null>();
  const unknown: Reference[] = [];
  const named = await source.get([...new Set(parsed.references.flatMap((r) => r.ids))]);
  const papers = new Map(named);
  let lookups = 0;
  for (const ref of parsed.references) {
    let id = ref.ids.find((x) => named.has(x));
    if (!id && ref.raw.length >= 10 && lookups++ < MAX_TITLE_LOOKUPS) {
      const found = await source.findByTitle(ref.raw);
      if (found) {
        id = found.id;
        papers.set(found.id, found);
      }
    }
    if (!byLabel.has(ref.label) || byLabel.get(ref.label) === null) byLabel.set(ref.label, id ?? null);
    if (!id) unknown.push(ref);
  }
  // `[@id]` citations name papers directly, with no reference entry.
  const keys = parsed.units.flatMap((u) => u.citations.filter((c): c is { kind: 'key'; key: string } => c.kind === 'key' && !byLabel.has(c.key)).map((c) => c.key));
  for (const [id, p] of await source.get([...new Set(keys)])) papers.set(id, p);
  return { byLabel, unknown, papers };
}

export function labelOf(c: CitationRef): string {
  return c.kind === 'number' ? String(c.n) : c.kind === 'key' && c.key.startsWith('^') ? c.key : `@${c.key}`;
}

export function extractClaims(parsed: ParsedSurvey, resolution: ReferenceResolution): Claim[] {
  const claims: Claim[] = [];
  for (const unit of parsed.units) {
    if (unit.citations.length === 0) continue;
    const labels: string[] = [];
    const paperIds: string[] = [];
    const unresolved: string[] = [];
    for (const c of unit.citations) {
      const label = labelOf(c);
      if (labels.includes(label)) continue;
      labels.push(label);
      const key = c.kind === 'number' ? String(c.n) : c.key;
      let id = resolution.byLabel.get(key);
      if (id === undefined && c.kind === 'key' && resolution.papers.has(c.key)) id = c.key;
      if (id) {
        if (!paperIds.includes(id)) paperIds.push(id);
      } else unresolved.push(label);
    }
    claims.push({
      index: claims.length,
      section: parsed.sections[unit.section]?.path ?? '',
      text: unit.text,
      plain: unit.plain,
      kind: unit.kind,
      labels,
      paperIds,
      unresolved,
    });
  }
  return claims;
}
