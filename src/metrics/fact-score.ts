// Fact score = supported claims ÷ claims. Citation recall and precision follow AutoSurvey: recall
// is the share of claims their citations support together; a citation is relevant if it supports
// the claim on its own, or the claim loses support without it (judged on citation subsets).
import type { Claim } from './claims.js';
import type { Evidence, Judge, Span } from './judge.js';
import type { PaperRecord } from './papers.js';

export interface CitationVerdict {
  paperId: string;
  /** The paper alone supports the claim. */
  alone: boolean;
  /** The claim is supported with all its citations but not without this one. */
  needed: boolean;
  relevant: boolean;
}

export interface ClaimVerdict extends Claim {
  supported: boolean;
  score: number;
  span: Span | null;
  /** Per resolved citation; empty when the claim was not analysed (too many citations). */
  citations: CitationVerdict[];
}

export interface FactScore {
  judge: string;
  claims: ClaimVerdict[];
  /** null when the survey makes no claims. */
  factScore: number | null;
  supported: number;
  citationRecall: number | null;
  citationPrecision: number | null;
  /** Citation markers (per claim, without repeats). */
  citations: number;
  unresolvedCitations: number;
  /** Sentences and list items without a citation. */
  uncitedSentences: number;
  sentences: number;
}

export interface FactScoreOptions {
  /** Judge citation subsets for precision (1 + 2n judge calls per claim instead of 1). Default true. */
  citationAnalysis?: boolean;
  /** Claims with more resolved citations than this are judged only as a whole. Default 8. */
  maxAnalysedCitations?: number;
  onClaim?: (done: number, total: number) => void;
}

export function evidenceOf(ids: readonly string[], papers: Map<string, PaperRecord>): Evidence[] {
  return ids.flatMap((id) => {
    const p = papers.get(id);
    return p ? [{ paperId: p.id, title: p.title, abstract: p.abstract, authors: p.authors }] : [];
  });
}

export async function scoreFacts(claims: readonly Claim[], papers: Map<string, PaperRecord>, judge: Judge, sentences: number, opts: FactScoreOptions = {}): Promise<FactScore> {
  const analyse = opts.citationAnalysis ?? true;
  const maxAnalysed = opts.maxAnalysedCitations ?? 8;
  const verdicts: ClaimVerdict[] = [];
  let relevant = 0;
  let analysedCitations = 0;
  for (const claim of claims) {
    const evidence = evidenceOf(claim.paperIds, papers);
    const whole = evidence.length ? await judge.judge(claim.text, evidence) : { supported: false, score: 0, span: null };
    const citations: CitationVerdict[] = [];
    if (analyse && evidence.length <= maxAnalysed) {
      for (const e of evidence) {
        const alone = evidence.length === 1 ? whole.supported : (await judge.judge(claim.text, [e])).supported;
        const rest = evidence.filter((x) => x !== e);
        const needed = whole.supported && (rest.length === 0 || !(await judge.judge(claim.text, rest)).supported);
        citations.push({ paperId: e.paperId, alone, needed, relevant: alone || needed });
      }
      // Unresolved citations cannot support anything: they count against precision.
      analysedCitations += claim.labels.length;
      relevant += citations.filter((c) => c.relevant).length;
    }
    verdicts.push({ ...claim, supported: whole.supported, score: whole.score, span: whole.span, citations });
    opts.onClaim?.(verdicts.length, claims.length);
  }
  const supported = verdicts.filter((v) => v.supported).length;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    judge: judge.name,
    claims: verdicts,
    factScore: ratio(supported, verdicts.length),
    supported,
    citationRecall: ratio(supported, verdicts.length),
    citationPrecision: analyse ? ratio(relevant, analysedCitations) : null,
    citations: verdicts.reduce((n, v) => n + v.labels.length, 0),
    unresolvedCitations: verdicts.reduce((n, v) => n + v.unresolved.length, 0),
    uncitedSentences: sentences - verdicts.length,
    sentences,
  };
}
