// The model judge: the engine reads the cited papers and the claim, and the verdict is the
// log-probability of " yes" against " no" as the next word. The evidence comes first in the
// prompt so claims citing the same papers share a prefix (the engine's prefix cache reuses it).
import type { Engine } from '../engine/types.js';
import { LexicalJudge } from './judge-lexical.js';
import type { Evidence, Judge, Verdict } from './judge.js';
import { fill, loadTemplate } from '../templates.js';
import { stripCitations } from './text.js';

/** Abstracts are cut to this many characters (fewer when many papers must share the context). */
const MAX_ABSTRACT_CHARS = 2000;
/** A conservative characters-per-token ratio for English prose, to size prompts to the context. */
export const CHARS_PER_TOKEN = 3;
/** Tokens left for the template, the claim and the answer. */
const PROMPT_RESERVE_TOKENS = 300;

export function judgePrompt(template: string, claim: string, evidence: readonly Evidence[], maxEvidenceChars = Infinity): string {
  const perPaper = Math.max(200, Math.min(MAX_ABSTRACT_CHARS, Math.floor(maxEvidenceChars / Math.max(1, evidence.length))));
  const text = evidence.map((e, i) => `[${i + 1}] ${e.title}\n${e.abstract.slice(0, perPaper)}`).join('\n\n');
  return fill(template, { evidence: text, claim: stripCitations(claim) });
}

export class EngineJudge implements Judge {
  readonly name = 'engine' as const;
  private readonly template: string;
  private readonly threshold: number;
  /** Finds the evidence sentences shown beside the verdict; the verdict itself is the model's. */
  private readonly aligner = new LexicalJudge();

  /**
   * `threshold`: the P(yes) ÷ (P(yes) + P(no)) at or above which a claim is supported; models lean
   * one way or the other, so calibrate it on the judge benchmark's dev half (`--tune`).
   */
  constructor(
    private readonly engine: Engine,
    opts: { template?: string; threshold?: number } = {},
  ) {
    this.template = opts.template ?? loadTemplate('judge').body.trimEnd();
    this.threshold = opts.threshold ?? 0.5;
  }

  async judge(claim: string, evidence: readonly Evidence[]): Promise<Verdict> {
    const span = this.aligner.align(claim, evidence);
    if (evidence.length === 0) return { supported: false, score: 0, span };
    const budget = (this.engine.info().contextSize - PROMPT_RESERVE_TOKENS) * CHARS_PER_TOKEN;
    const prompt = judgePrompt(this.template, claim, evidence, budget);
    const yes = await this.engine.score(prompt, ' yes');
    const no = await this.engine.score(prompt, ' no');
    const score = 1 / (1 + Math.exp(no.total - yes.total));
    return { supported: score >= this.threshold, score, span };
  }
}
