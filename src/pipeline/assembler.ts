// Assemble: the survey's Markdown (YAML front matter, title, abstract, introduction, sections,
// conclusion, references) and BibTeX. `[@paperId]` citations of library papers become numbers in
// order of first use; any other citation — unknown ids, or numeric brackets a model wrote itself —
// is dropped and counted. The format is specified in docs/survey-format.md.
import { phraseList } from '../templates.js';
import type { LibraryPaper, SurveyMode } from './types.js';

export interface AssembleInput {
  title: string;
  mode: SurveyMode;
  abstract: string;
  introduction: string;
  sections: { title: string; markdown: string }[];
  conclusion: string;
  library: readonly LibraryPaper[];
  /** Reproducibility record, written as YAML front matter before the computed counts and timings. */
  frontMatter: Record<string, unknown>;
  /** Milliseconds per earlier stage; the assembly's own time and the total are added. */
  timings: Record<string, number>;
}

export interface Assembled {
  markdown: string;
  bibtex: string;
  counts: { sections: number; papers: number; citations: number; cited: number; unresolved: number };
  referenceIds: string[];
}

/** `[@a]`, `[@a; @b]`, `[@a, @b]` — one citation group. */
const CITATION_GROUP = /[ \t]*\[@([^\]\n]*)\]/g;
/** A numeric citation the model wrote itself, e.g. `[3]` or `[2, 5]`: it points nowhere in our numbering. */
const NUMERIC_GROUP = /[ \t]*\[\d+(?:\s*[,–-]\s*\d+)*\]/g;

export class CitationNumberer {
  readonly order: string[] = [];
  private readonly numbers = new Map<string, number>();
  citations = 0;
  unresolved = 0;

  constructor(private readonly known: ReadonlySet<string>) {}

  /** Rewrites one text's citations; call in document order. */
  rewrite(text: string): string {
    return text
      .replace(NUMERIC_GROUP, (m) => {
        this.unresolved += m.split(/[,–-]/).length;
        return '';
      })
      .replace(CITATION_GROUP, (_m, inner: string) => {
        const nums: number[] = [];
        for (const part of inner.split(/[;,]/)) {
          const id = part.trim().replace(/^@/, '');
          if (!id) continue;
          if (!this.known.has(id)) {
            this.unresolved++;
            continue;
          }
          let n = this.numbers.get(id);
          if (n === undefined) {
            this.order.push(id);
            n = this.order.length;
            this.numbers.set(id, n);
          }
          if (!nums.includes(n)) nums.push(n);
          this.citations++;
        }
        return nums.length ? ` [${nums.sort((a, b) => a - b).join(', ')}]` : '';
      });
  }
}

const headingText = (s: string) => s.replace(/[\r\n]+/g, ' ').replace(/^#+\s*/, '').trim() || 'Untitled';
/** Inline Markdown specials in titles and names, so a paper's title cannot break the list. */
const escapeMd = (s: string) => s.replace(/[\\`*_[\]<>#|]/g, (c) => `\\${c}`).replace(/\s+/g, ' ').trim();

export function referenceLine(n: number, p: LibraryPaper): string {
  const authors = p.authors.length ? `${p.authors.map(escapeMd).join(', ')}. ` : '';
  const where = [p.venue ? escapeMd(p.venue) : '', p.year ?? ''].filter(Boolean).join(', ');
  const link = p.url ? ` <${p.url.replace(/[<>\s]/g, encodeURIComponent)}>` : '';
  return `${n}. ${authors}${escapeMd(p.title)}.${where ? ` ${where}.` : ''}${link} \`${p.id.replace(/`/g, '')}\``;
}

export function assemble(input: AssembleInput): Assembled {
  const started = performance.now();
  const byId = new Map(input.library.map((p) => [p.id, p]));
  const numberer = new CitationNumberer(new Set(byId.keys()));
  const title = headingText(input.title);
  // Document order decides the numbers: abstract, introduction, sections, conclusion.
  const abstract = numberer.rewrite(input.abstract.trim());
  const introduction = numberer.rewrite(input.introduction.trim());
  const sections = input.sections.map((s) => ({ title: headingText(s.title), markdown: numberer.rewrite(s.markdown.trim()) }));
  const conclusion = numberer.rewrite(input.conclusion.trim());
  const cited = numberer.order.map((id) => byId.get(id)!);

  const body: string[] = [`# ${title}`, ''];
  if (input.mode === 'extractive') body.push(phraseList('extractive', 'note')[0]!, '');
  body.push('## Abstract', '', abstract || '*(empty)*', '', '## Introduction', '', introduction || '*(empty)*', '');
  for (const s of sections) body.push(`## ${s.title}`, '', s.markdown || '*(empty)*', '');
  body.push('## Conclusion', '', conclusion || '*(empty)*', '', '## References', '');
  cited.forEach((p, i) => body.push(referenceLine(i + 1, p)));
  if (cited.length === 0) body.push('*(no papers cited)*');

  const counts = { sections: sections.length, papers: input.library.length, citations: numberer.citations, cited: cited.length, unresolved: numberer.unresolved };
  const assemblyMs = performance.now() - started;
  const stageMs = { ...input.timings, assembly: assemblyMs };
  const timings = Object.fromEntries(Object.entries(stageMs).map(([k, v]) => [k, Math.round(v)]));
  const front = {
    ...input.frontMatter,
    title,
    mode: input.mode,
    counts: { sections: counts.sections, library_papers: counts.papers, cited_papers: counts.cited, citations: counts.citations, unresolved_dropped: counts.unresolved },
    timings_ms: { ...timings, total: Math.round(Object.values(stageMs).reduce((a, b) => a + b, 0)) },
    reference_ids: numberer.order,
  };
  const markdown = `---\n${toYaml(front)}---\n\n${body.join('\n').trimEnd()}\n`;
  return { markdown, bibtex: toBibtex(cited), counts, referenceIds: numberer.order };
}

// ---------------------------------------------------------------- YAML front matter

const yamlKey = (k: string) => (/^[A-Za-z_][\w-]*$/.test(k) ? k : JSON.stringify(k));

function yamlScalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  // JSON strings are valid YAML double-quoted scalars.
  return JSON.stringify(String(v));
}

/** A small YAML emitter for plain data: maps nest by indentation, arrays of scalars are flow lists. */
export function toYaml(value: Record<string, unknown>, indent = ''): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.every((x) => typeof x !== 'object' || x === null)) out += `${indent}${yamlKey(k)}: [${v.map(yamlScalar).join(', ')}]\n`;
      else out += `${indent}${yamlKey(k)}:\n${v.map((x) => `${indent}  -\n${toYaml(x as Record<string, unknown>, `${indent}    `)}`).join('')}`;
    } else if (typeof v === 'object' && v !== null) {
      const inner = toYaml(v as Record<string, unknown>, `${indent}  `);
      out += inner ? `${indent}${yamlKey(k)}:\n${inner}` : `${indent}${yamlKey(k)}: {}\n`;
    } else out += `${indent}${yamlKey(k)}: ${yamlScalar(v)}\n`;
  }
  return out;
}

// ---------------------------------------------------------------- BibTeX

const LATEX_SPECIALS: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  '%': '\\%',
  '&': '\\&',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '^': '\\^{}',
  '~': '\\~{}',
};

export function escapeBibtex(s: string): string {
  return s.replace(/[\\{}%&$#_^~]/g, (c) => LATEX_SPECIALS[c]!).replace(/\s+/g, ' ').trim();
}

/** Citation keys: the paper id with anything outside [A-Za-z0-9:._-] replaced, made unique. */
export function bibtexKeys(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.map((id) => {
    const base = id.replace(/[^A-Za-z0-9:._-]/g, '_') || 'paper';
    let key = base;
    for (let i = 2; seen.has(key); i++) key = `${base}_${i}`;
    seen.add(key);
    return key;
  });
}

export function toBibtex(papers: readonly LibraryPaper[]): string {
  const keys = bibtexKeys(papers.map((p) => p.id));
  return papers
    .map((p, i) => {
      const fields: [string, string][] = [['title', `{${escapeBibtex(p.title)}}`]];
      if (p.authors.length) fields.push(['author', p.authors.map(escapeBibtex).join(' and ')]);
      if (p.year) fields.push(['year', String(p.year)]);
      if (p.venue) fields.push(['howpublished', escapeBibtex(p.venue)]);
      if (p.url) fields.push(['url', p.url.replace(/[{}\\\s%]/g, encodeURIComponent)]);
      fields.push(['note', `litsurvey id: ${escapeBibtex(p.id)}`]);
      return `@misc{${keys[i]},\n${fields.map(([k, v]) => `  ${k} = {${v}}`).join(',\n')}\n}\n`;
    })
    .join('\n');
}
