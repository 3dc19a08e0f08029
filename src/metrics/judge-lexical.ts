// The offline judge: no model. It aligns the claim to the one or two evidence sentences that
// cover most of its content words (stemmed; a word may also match a near-synonym by word-vector
// cosine), then checks what a reworded claim must keep: its numbers, its negations and the names
// of methods and datasets. Thresholds were tuned on the dev half of the judge benchmark.
import type { WordVectors } from '../index/word-vectors.js';
import type { Evidence, Judge, Span, Verdict } from './judge.js';
import { contentWords, namedTokens, negationCount, numbers, splitSentences, stem, stripCitations, words } from './text.js';

export interface LexicalJudgeOptions {
  /** Word vectors for near-synonym matches; without them only equal stems match. */
  vectors?: WordVectors;
  /** Score at or above which a claim is supported. */
  threshold?: number;
}

export const LEXICAL_THRESHOLD = 0.73;
/** Cosine below which two different words do not count as synonyms at all, and at which they fully do. */
const SYNONYM_FLOOR = 0.5;
const SYNONYM_FULL = 0.85;
/** A second sentence joins the span only if it adds this much coverage. */
const PAIR_GAIN = 0.08;
const PENALTY_NUMBER = 0.3;
const PENALTY_NEGATION = 0.3;
const PENALTY_NAME = 0.5;

interface ClaimWord {
  word: string;
  stem: string;
  weight: number;
}

interface EvidenceSentence {
  paperId: string;
  title: string;
  text: string;
  words: string[];
  stems: Set<string>;
}

export class LexicalJudge implements Judge {
  readonly name = 'lexical' as const;
  private readonly threshold: number;
  private readonly norms = new Map<number, number>();

  constructor(private readonly opts: LexicalJudgeOptions = {}) {
    this.threshold = opts.threshold ?? LEXICAL_THRESHOLD;
  }

  async judge(claim: string, evidence: readonly Evidence[]): Promise<Verdict> {
    return this.judgeSync(claim, evidence);
  }

  judgeSync(claimText: string, evidence: readonly Evidence[]): Verdict {
    const claim = stripCitations(claimText);
    const authorWords = new Set(evidence.flatMap((e) => (e.authors ?? []).flatMap((a) => words(a))));
    const cws = this.claimWords(claim).filter((w) => !authorWords.has(w.word));
    const { span, coverage } = this.alignWords(cws, evidence);
    if (!span || cws.length === 0) return { supported: false, score: 0, span };
    const spanText = span.text;
    const context = `${spanText} ${evidence.find((e) => e.paperId === span.paperId)?.title ?? ''}`;
    let score = coverage;
    const spanNumbers = new Set(numbers(context));
    if (numbers(claim).some((n) => !spanNumbers.has(n))) score *= PENALTY_NUMBER;
    if (negationCount(claim) !== negationCount(spanText)) score *= PENALTY_NEGATION;
    const contextWords = ` ${words(context).join(' ')} `;
    const contextLower = context.toLowerCase();
    for (const name of namedTokens(claim)) {
      if (authorWords.has(name.replace(/['’]s$/, ''))) continue;
      if (!contextLower.includes(name) && !contextWords.includes(` ${name} `)) score *= PENALTY_NAME;
    }
    return { supported: score >= this.threshold, score, span };
  }

  /** The evidence sentences that best cover the claim (used by the engine judge to show its evidence). */
  align(claimText: string, evidence: readonly Evidence[]): Span | null {
    return this.alignWords(this.claimWords(stripCitations(claimText)), evidence).span;
  }

  private claimWords(claim: string): ClaimWord[] {
    const seen = new Set<string>();
    const out: ClaimWord[] = [];
    for (const w of contentWords(claim)) {
      const s = stem(w);
      if (seen.has(s)) continue;
      seen.add(s);
      out.push({ word: w, stem: s, weight: this.weight(w) });
    }
    return out;
  }

  /** Rare words say more about a claim than common ones: SIF-style weight from the word's frequency rank. */
  private weight(word: string): number {
    const rank = this.opts.vectors?.index.get(word);
    if (rank === undefined) return 1;
    const p = 1 / ((rank + 1) * Math.log(this.opts.vectors!.size));
    return 1e-3 / (1e-3 + p);
  }

  private alignWords(cws: ClaimWord[], evidence: readonly Evidence[]): { span: Span | null; coverage: number } {
    const sentences: EvidenceSentence[] = [];
    for (const e of evidence) {
      for (const text of [e.title, ...splitSentences(e.abstract)]) {
        const ws = words(text);
        if (ws.length) sentences.push({ paperId: e.paperId, title: e.title, text, words: ws, stems: new Set(ws.map(stem)) });
      }
    }
    if (sentences.length === 0) return { span: null, coverage: 0 };
    const total = cws.reduce((s, w) => s + w.weight, 0) || 1;
    const matches = sentences.map((s) => cws.map((w) => this.match(w, s)));
    const coverage = (rows: number[][]) => cws.reduce((sum, w, i) => sum + w.weight * Math.max(...rows.map((r) => r[i]!)), 0) / total;
    let best = 0;
    let bestCov = -1;
    matches.forEach((m, i) => {
      const c = coverage([m]);
      if (c > bestCov) [best, bestCov] = [i, c];
    });
    let second = -1;
    let pairCov = bestCov;
    matches.forEach((m, i) => {
      if (i === best || sentences[i]!.paperId !== sentences[best]!.paperId) return;
      const c = coverage([matches[best]!, m]);
      if (c > pairCov + PAIR_GAIN && c > pairCov) [second, pairCov] = [i, c];
    });
    const chosen = second < 0 ? [best] : [Math.min(best, second), Math.max(best, second)];
    return {
      span: { paperId: sentences[best]!.paperId, text: chosen.map((i) => sentences[i]!.text).join(' ') },
      coverage: second < 0 ? bestCov : pairCov,
    };
  }

  private match(w: ClaimWord, s: EvidenceSentence): number {
    if (s.stems.has(w.stem)) return 1;
    const wv = this.opts.vectors;
    const a = wv?.index.get(w.word);
    if (!wv || a === undefined) return 0;
    let best = 0;
    for (const x of s.words) {
      const b = wv.index.get(x);
      if (b === undefined) continue;
      best = Math.max(best, this.cosine(wv, a, b));
    }
    return Math.min(1, Math.max(0, (best - SYNONYM_FLOOR) / (SYNONYM_FULL - SYNONYM_FLOOR)));
  }

  private cosine(wv: WordVectors, a: number, b: number): number {
    const d = wv.dimension;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += wv.vectors[a * d + i]! * wv.vectors[b * d + i]!;
    return dot / (this.norm(wv, a) * this.norm(wv, b) || 1);
  }

  private norm(wv: WordVectors, r: number): number {
    let n = this.norms.get(r);
    if (n === undefined) {
      const d = wv.dimension;
      let s = 0;
      for (let i = 0; i < d; i++) s += wv.vectors[r * d + i]! ** 2;
      n = Math.sqrt(s);
      this.norms.set(r, n);
    }
    return n;
  }
}
