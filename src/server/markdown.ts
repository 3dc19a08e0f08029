// Markdown → safe HTML for survey pages: remark-parse (+ GFM) → remark-rehype (raw HTML dropped)
// → rehype-sanitize (GitHub's schema: no scripts, no event handlers, no javascript: URLs) → our
// decorations on the sanitised tree → rehype-stringify. The decorations only add elements and
// text (which rehype-stringify escapes): citation markers `[3]` become links to `#ref-3`, reference
// entries get ids and a disclosure with the cited paper's abstract, and cited sentences carry
// the fact-score judge's verdict as a class and a title.
import type { Element, ElementContent, Root, RootContent, Text } from 'hast';
import rehypeSanitize from 'rehype-sanitize';
import rehypeStringify from 'rehype-stringify';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';

export interface PaperAbstract {
  title: string;
  abstract: string;
}

export interface ClaimVerdictView {
  /** The sentence as written (markers included). */
  text: string;
  supported: boolean;
  score: number;
}

export interface SurveyHtmlOptions {
  /** Abstracts by index paper id (our reference entries end with the id in backticks). */
  papers?: ReadonlyMap<string, PaperAbstract>;
  verdicts?: readonly ClaimVerdictView[];
  judge?: string;
}

/** Longer input is cut: remark needs seconds per 100 KB of pathological Markdown. */
export const MAX_MARKDOWN_CHARS = 2_000_000;
const CITATION = /\[(\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*)\]/g;
const REFERENCES_HEADING = /^(references|bibliography)$/i;

/** Drops a leading YAML front matter block. */
export function stripFrontMatter(markdown: string): string {
  const m = /^---\r?\n[\s\S]*?\r?\n---[ \t]*(\r?\n|$)/.exec(markdown);
  return m ? markdown.slice(m[0].length) : markdown;
}

const el = (tagName: string, properties: Element['properties'], children: ElementContent[]): Element => ({ type: 'element', tagName, properties, children });
const text = (value: string): Text => ({ type: 'text', value });

function textOf(node: RootContent | ElementContent | Root): string {
  if (node.type === 'text') return node.value;
  if ('children' in node) return (node.children as (ElementContent | RootContent)[]).map(textOf).join('');
  return '';
}

/** Entries of the reference list: numbers → li elements; adds ids and abstract disclosures. */
function decorateReferences(root: Root, papers: ReadonlyMap<string, PaperAbstract> | undefined): { numbers: Set<number>; list: Element | null } {
  const numbers = new Set<number>();
  const kids = root.children;
  for (let i = 0; i < kids.length; i++) {
    const h = kids[i]!;
    if (h.type !== 'element' || !/^h[1-6]$/.test(h.tagName) || !REFERENCES_HEADING.test(textOf(h).trim())) continue;
    const list = kids.slice(i + 1).find((n): n is Element => n.type === 'element');
    if (!list || list.tagName !== 'ol') return { numbers, list: null };
    const start = Number(list.properties.start ?? 1);
    let n = Number.isSafeInteger(start) ? start : 1;
    for (const li of list.children) {
      if (li.type !== 'element' || li.tagName !== 'li') continue;
      li.properties = { ...li.properties, id: `ref-${n}`, className: ['reference'] };
      numbers.add(n);
      const codes: Element[] = [];
      const collect = (e: Element) => e.children.forEach((c) => c.type === 'element' && (c.tagName === 'code' ? codes.push(c) : collect(c)));
      collect(li);
      const paperId = codes.length ? textOf(codes[codes.length - 1]!).trim() : '';
      const paper = paperId ? papers?.get(paperId) : undefined;
      if (paper?.abstract) {
        li.children.push(el('details', { className: ['abstract'] }, [el('summary', {}, [text('Abstract')]), el('p', {}, [text(paper.abstract)])]));
      }
      n++;
    }
    return { numbers, list };
  }
  return { numbers, list: null };
}

/** Splits text nodes at citation markers, linking each number that names a reference entry. */
function linkCitations(children: ElementContent[], numbers: ReadonlySet<number>): ElementContent[] {
  const out: ElementContent[] = [];
  for (const child of children) {
    if (child.type === 'element') {
      if (child.tagName !== 'a' && child.tagName !== 'code') child.children = linkCitations(child.children, numbers);
      out.push(child);
      continue;
    }
    if (child.type !== 'text') {
      out.push(child);
      continue;
    }
    let last = 0;
    for (const m of child.value.matchAll(CITATION)) {
      if (!m[1]!.split(/[^\d]+/).some((x) => numbers.has(Number(x)))) continue;
      if (m.index > last) out.push(text(child.value.slice(last, m.index)));
      out.push(text('['));
      for (const part of m[1]!.split(/(\d+)/)) {
        if (!part) continue;
        const n = Number(part);
        out.push(/^\d+$/.test(part) && numbers.has(n) ? el('a', { href: `#ref-${n}`, className: ['cite'] }, [text(part)]) : text(part));
      }
      out.push(text(']'));
      last = m.index + m[0].length;
    }
    if (last < child.value.length) out.push(last === 0 ? child : text(child.value.slice(last)));
  }
  return out;
}

/** Wraps each judged sentence found inside a text node in a span carrying its verdict. */
function markClaims(children: ElementContent[], pending: ClaimVerdictView[], judge: string): ElementContent[] {
  const out: ElementContent[] = [];
  for (const child of children) {
    if (child.type === 'element') {
      if (child.tagName !== 'a' && child.tagName !== 'code') child.children = markClaims(child.children, pending, judge);
      out.push(child);
      continue;
    }
    if (child.type !== 'text') {
      out.push(child);
      continue;
    }
    let rest = child.value;
    for (;;) {
      let best: { at: number; claim: ClaimVerdictView; i: number } | null = null;
      pending.forEach((claim, i) => {
        const at = rest.indexOf(claim.text);
        if (at >= 0 && (!best || at < best.at)) best = { at, claim, i };
      });
      if (!best) break;
      const { at, claim, i } = best as { at: number; claim: ClaimVerdictView; i: number };
      pending.splice(i, 1);
      if (at > 0) out.push(text(rest.slice(0, at)));
      const verdict = claim.supported ? 'supported' : 'unsupported';
      const title = `${claim.supported ? 'Supported' : 'Not supported'} by the cited abstracts (${judge} judge, score ${claim.score.toFixed(2)})`;
      out.push(el('span', { className: ['claim', verdict], title, dataVerdict: verdict }, [text(claim.text)]));
      rest = rest.slice(at + claim.text.length);
    }
    if (rest) out.push(rest === child.value ? child : text(rest));
  }
  return out;
}

function decorate(opts: SurveyHtmlOptions) {
  return () => (root: Root) => {
    const { numbers, list } = decorateReferences(root, opts.papers);
    const pending = (opts.verdicts ?? []).map((v) => ({ ...v, text: v.text.trim() })).filter((v) => v.text.length > 0);
    for (const node of root.children) {
      if (node.type !== 'element' || node === list) continue;
      if (pending.length) node.children = markClaims(node.children, pending, opts.judge ?? 'lexical');
      node.children = linkCitations(node.children, numbers);
    }
  };
}

/** Sanitised HTML of a Markdown survey (front matter dropped), with citations, references and verdicts decorated. */
export function surveyHtml(markdown: string, opts: SurveyHtmlOptions = {}): string {
  const source = stripFrontMatter(markdown.slice(0, MAX_MARKDOWN_CHARS));
  const file = unified().use(remarkParse).use(remarkGfm).use(remarkRehype).use(rehypeSanitize).use(decorate(opts)).use(rehypeStringify).processSync(source);
  return String(file);
}
