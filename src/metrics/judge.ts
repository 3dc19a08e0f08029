// What every fact-score judge answers: is this claim supported by these papers, how sure, and where.
export interface Evidence {
  paperId: string;
  title: string;
  abstract: string;
  /** A claim may name the authors ("Rei et al. show …"); their names are not content to check. */
  authors?: readonly string[];
}

export interface Span {
  paperId: string;
  /** The evidence sentences (one or two) that best match the claim. */
  text: string;
}

export interface Verdict {
  supported: boolean;
  /** 0–1; higher is more confident the claim is supported. */
  score: number;
  span: Span | null;
}

export interface Judge {
  readonly name: 'lexical' | 'engine';
  judge(claim: string, evidence: readonly Evidence[]): Promise<Verdict>;
}
