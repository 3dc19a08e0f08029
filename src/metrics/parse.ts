// Reads a Markdown survey (ours or anyone's) into sections, sentences/list items with their
// citation markers, and the reference list. Never throws on odd input: what it cannot make sense
// of goes into `problems`.
import type { Nodes, Root, RootContent } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { CITATION_MARKER, splitSentences, stripCitations, words } from './text.js';

/** A citation as written: a number into the reference list, or a key (`@id`, footnote `^x`). */
export type CitationRef = { kind: 'number'; n: number } | { kind: 'key'; key: string };

export interface Unit {
  kind: 'sentence' | 'item';
  /** The text as written, markers included. */
  text: string;
  /** The text without citation markers. */
  plain: string;
  citations: CitationRef[];
  /** Index into `sections`. */
  section: number;
}

export interface Section {
  /** 0 for text before the first heading, 1–6 for headings. */
  depth: number;
  title: string;
  /** Titles from the top heading down to this one, joined by " › ". */
  path: string;
  words: number;
}

export interface Reference {
  /** "1" for `[1] …` or `1. …`; the key for `[^x]:` footnotes and `[x]: url` definitions. */
  label: string;
  raw: string;
  url?: string;
  /** Index ids the entry names outright (arXiv or ACL Anthology URL or id, `acl:`/`arxiv:` ids). */
  ids: string[];
}

export interface ParsedSurvey {
  frontMatter: Record<string, unknown>;
  title: string;
  sections: Section[];
  units: Unit[];
  references: Reference[];
  problems: string[];
  words: number;
}

/** Caps on hostile input: a range like [1-999999] or a survey of a million sentences. */
const MAX_RANGE = 200;
const MAX_UNITS = 50_000;
/** remark needs seconds per 100 KB of pathological input: longer surveys are cut (and say so). */
export const MAX_SURVEY_CHARS = 2_000_000;

const REFERENCE_HEADING = /^(references|bibliography|works cited|literature cited|citations|sources)$/i;

export function parseSurvey(markdown: string): ParsedSurvey {
  const problems: string[] = [];
  if (markdown.length > MAX_SURVEY_CHARS) {
    problems.push(`survey is ${markdown.length.toLocaleString('en-US')} characters; only the first ${MAX_SURVEY_CHARS.toLocaleString('en-US')} are evaluated`);
    markdown = markdown.slice(0, MAX_SURVEY_CHARS);
  }
  const { frontMatter, body } = splitFrontMatter(markdown, problems);
  const tree = unified().use(remarkParse).use(remarkGfm).parse(body) as Root;
  const sections: Section[] = [{ depth: 0, title: '', path: '', words: 0 }];
  const units: Unit[] = [];
  const references: Reference[] = [];
  const stack: Section[] = [];
  let title = typeof frontMatter.title === 'string' ? frontMatter.title : '';
  let titleHeading = false;
  let inReferences = false;
  let referenceDepth = 0;

  const addUnit = (kind: Unit['kind'], text: string) => {
    if (units.length >= MAX_UNITS) {
      if (units.length === MAX_UNITS) problems.push(`more than ${MAX_UNITS} sentences; the rest is ignored`);
      return;
    }
    const citations = citationsIn(text, problems);
    const plain = stripCitations(text).replace(/[\s|]+$/, ''); // table rows end in empty citation cells
    if (!plain && citations.length === 0) return;
    const section = sections.length - 1;
    sections[section]!.words += words(plain).length;
    units.push({ kind, text, plain, citations, section });
  };

  const visit = (node: RootContent) => {
    switch (node.type) {
      case 'heading': {
        const text = inlineText(node).trim();
        if (inReferences && node.depth > referenceDepth) return;
        inReferences = REFERENCE_HEADING.test(text.replace(/[:.]$/, ''));
        if (inReferences) {
          referenceDepth = node.depth;
          return;
        }
        // The first top-level heading before any section is the document's title.
        if (node.depth === 1 && sections.length === 1 && !titleHeading) {
          titleHeading = true;
          title ||= text;
          return;
        }
        while (stack.length && stack[stack.length - 1]!.depth >= node.depth) stack.pop();
        const section: Section = { depth: node.depth, title: text, path: [...stack.map((s) => s.title), text].join(' › '), words: 0 };
        stack.push(section);
        sections.push(section);
        return;
      }
      case 'paragraph':
        if (inReferences) {
          sourceOf(node, body)
            .split('\n')
            .forEach((line, i) => addReferenceLine(line, references, i > 0));
          return;
        }
        for (const s of splitSentences(inlineText(node))) addUnit('sentence', s);
        return;
      case 'list':
        node.children.forEach((item, i) => {
          if (inReferences) {
            const text = sourceOf(item, body).replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '');
            const label = node.ordered && !/^\s*\[/.test(text) ? String((node.start ?? 1) + i) : undefined;
            addReferenceLine(label ? `[${label}] ${text.replace(/\s+/g, ' ')}` : text.replace(/\s+/g, ' '), references);
            return;
          }
          const own = item.children.filter((c) => c.type !== 'list');
          const text = own.map((c) => inlineText(c)).join(' ').trim();
          if (text) addUnit('item', text.replace(/\s+/g, ' '));
          item.children.filter((c) => c.type === 'list').forEach(visit);
        });
        return;
      case 'table':
        for (const row of node.children.slice(1)) addUnit('item', row.children.map((c) => inlineText(c).trim()).join(' | '));
        return;
      case 'blockquote':
        node.children.forEach(visit);
        return;
      case 'definition':
        references.push({ label: node.identifier, raw: [node.title, node.url].filter(Boolean).join(' '), url: node.url, ids: idsIn(`${node.url} ${node.title ?? ''}`) });
        return;
      case 'footnoteDefinition': {
        const raw = node.children.map((c) => inlineText(c)).join(' ').replace(/\s+/g, ' ').trim();
        references.push({ label: `^${node.identifier}`, raw, url: urlIn(raw), ids: idsIn(raw) });
        return;
      }
      default:
        return; // code, html, thematic breaks, yaml: not prose
    }
  };
  tree.children.forEach(visit);

  return { frontMatter, title, sections, units, references, problems, words: units.reduce((n, u) => n + words(u.plain).length, 0) };
}

/** Text of inline content; citation-like link references keep their brackets. */
function inlineText(node: Nodes): string {
  switch (node.type) {
    case 'text':
      return node.value;
    case 'inlineCode':
      return node.value.replace(/[[\]]/g, ''); // code is not a citation
    case 'break':
      return ' ';
    case 'image':
      return node.alt ?? '';
    case 'footnoteReference':
      return `[^${node.identifier}]`;
    case 'linkReference': {
      const inner = node.children.map(inlineText).join('');
      return /^\s*(?:@\S+|\d[\d\s,;–-]*)$/.test(node.label ?? inner) ? `[${node.label ?? inner}]` : inner;
    }
    case 'code':
    case 'html':
      return '';
    default:
      return 'children' in node ? (node.children as Nodes[]).map(inlineText).join('') : '';
  }
}

function sourceOf(node: Nodes, source: string): string {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  return start === undefined || end === undefined ? inlineText(node) : source.slice(start, end);
}

/** The citations of a sentence; ranges are expanded (capped). */
export function citationsIn(text: string, problems: string[] = []): CitationRef[] {
  const out: CitationRef[] = [];
  for (const m of text.matchAll(CITATION_MARKER)) {
    const marker = m[0];
    if (marker.startsWith('[^')) {
      out.push({ kind: 'key', key: marker.slice(1, -1) });
      continue;
    }
    for (const part of marker.slice(1, -1).split(/[,;]/)) {
      const p = part.trim();
      if (p.startsWith('@')) out.push({ kind: 'key', key: p.slice(1) });
      else if (/[-–]/.test(p)) {
        const [a, b] = p.split(/\s*[-–]\s*/).map(Number) as [number, number];
        if (b < a || b - a >= MAX_RANGE) {
          problems.push(`citation range ${marker} is not usable; ignored`);
          continue;
        }
        for (let n = a; n <= b; n++) out.push({ kind: 'number', n });
      } else out.push({ kind: 'number', n: Number(p) });
    }
  }
  return out;
}

/**
 * One line of a reference list: `[1] …`, `1. …`, `[^x]: …`; an unlabelled line continues the entry
 * above it when it is a wrapped line of the same paragraph, else it is an entry labelled by position.
 */
function addReferenceLine(line: string, references: Reference[], continuation = false): void {
  const text = line.trim();
  if (!text) return;
  const m = /^\[(\^?[^\]]{1,200})\]:?\s*(.*)$/.exec(text) ?? /^(\d{1,6})[.)]\s+(.*)$/.exec(text);
  if (!m && /^[*_].*[*_]$/.test(text)) return; // an emphasised note such as *(no papers cited)*
  const last = references[references.length - 1];
  if (!m && continuation && last) {
    last.raw = `${last.raw} ${text}`;
    last.url ??= urlIn(text);
    last.ids = [...new Set([...last.ids, ...idsIn(text)])];
    return;
  }
  const label = m ? m[1]!.replace(/^@/, '') : String(references.length + 1);
  const raw = (m ? m[2]! : text).trim();
  references.push({ label, raw, url: urlIn(raw), ids: idsIn(raw) });
}

function urlIn(text: string): string | undefined {
  return /<?(https?:\/\/[^\s<>)\]]+)/.exec(text)?.[1]?.replace(/[.,;]+$/, '');
}

/** Index ids named outright: arXiv and ACL Anthology URLs, `arXiv:2401.01234`, `acl:…`/`arxiv:…` ids. */
export function idsIn(text: string): string[] {
  const ids = new Set<string>();
  for (const m of text.matchAll(/arxiv\.org\/(?:abs|pdf)\/(\d{4}\.\d{4,5})(?:v\d+)?/gi)) ids.add(`arxiv:${m[1]}`);
  for (const m of text.matchAll(/\barxiv:\s?(\d{4}\.\d{4,5})(?:v\d+)?/gi)) ids.add(`arxiv:${m[1]}`);
  for (const m of text.matchAll(/aclanthology\.org\/([A-Za-z0-9][\w.-]*?)(?:\.pdf)?\/?(?=[\s)>\]]|$)/g)) ids.add(`acl:${m[1]}`);
  for (const m of text.matchAll(/\bacl:([A-Za-z0-9][\w.-]*[A-Za-z0-9])/g)) ids.add(`acl:${m[1]}`);
  // Our reference lines end with the index id in backticks; other corpora's ids have any shape.
  for (const m of text.matchAll(/`([^`\s]{1,200})`/g)) ids.add(m[1]!);
  return [...ids];
}

/** YAML front matter: a flat subset (scalars, inline lists, `- item` lists) is enough for ours. */
function splitFrontMatter(markdown: string, problems: string[]): { frontMatter: Record<string, unknown>; body: string } {
  const text = markdown.replace(/^\uFEFF/, '');
  const m = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)\s*(?:\r?\n|$)/.exec(text);
  if (!m) return { frontMatter: {}, body: text };
  const fm: Record<string, unknown> = {};
  // The key whose value is being continued on indented lines: a `- item` list or a nested map.
  let parentKey: string | null = null;
  for (const line of m[1]!.split(/\r?\n/)) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const indented = /^\s/.test(line);
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (item && parentKey && Array.isArray(fm[parentKey])) {
      (fm[parentKey] as unknown[]).push(scalar(item[1]!));
      continue;
    }
    const kv = /^\s*([A-Za-z_][\w-]*|"[^"]*")\s*:\s*(.*)$/.exec(line);
    if (!kv) {
      if (!indented) problems.push(`front matter line not understood: ${line.slice(0, 80)}`);
      continue; // deeper structures (lists of maps) are not needed by the evaluator
    }
    const key = kv[1]!.replace(/^"|"$/g, '');
    const value = kv[2]!;
    const parsed = value === '' ? [] : value.startsWith('[') && value.endsWith(']') ? splitInlineList(value.slice(1, -1)).map(scalar) : scalar(value);
    if (indented && parentKey) {
      const parent = fm[parentKey];
      const map = Array.isArray(parent) && parent.length === 0 ? {} : parent;
      if (map && typeof map === 'object' && !Array.isArray(map)) {
        (map as Record<string, unknown>)[key] = parsed;
        fm[parentKey] = map;
      }
      continue;
    }
    fm[key] = parsed;
    parentKey = value === '' ? key : null;
  }
  return { frontMatter: fm, body: text.slice(m[0].length) };
}

function splitInlineList(s: string): string[] {
  return s.trim() ? (s.match(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,]+/g) ?? []).map((x) => x.trim()).filter(Boolean) : [];
}

function scalar(v: string): unknown {
  const s = v.trim();
  if (/^"(.*)"$/.test(s)) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return s.slice(1, -1);
    }
  }
  if (/^'(.*)'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  return s;
}
