// Scores one survey: parse, resolve references, judge every claim, compute content quality; and
// stores the result in SQLite (claims and metrics tables). The pipeline calls `evaluateSurvey` +
// `storeEvaluation` after assembling a survey; `litsurvey eval` calls them for Markdown files.
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/types.js';
import { SifEmbedder } from '../index/sif-embedder.js';
import { loadWordVectors } from '../index/word-vectors.js';
import type { Db } from '../store/db.js';
import { extractClaims, resolveReferences } from './claims.js';
import { contentQuality, rubricScores, type ContentQuality, type Library, type TextEmbedder } from './content-quality.js';
import { scoreFacts, type FactScore } from './fact-score.js';
import { EngineJudge } from './judge-engine.js';
import { LexicalJudge } from './judge-lexical.js';
import type { Judge } from './judge.js';
import type { PaperSource } from './papers.js';
import { parseSurvey } from './parse.js';

export interface EvaluateOptions {
  source: PaperSource;
  judge: Judge;
  /** For relevance and near-duplicate sentences; without it those use words only / are skipped. */
  embedder?: TextEmbedder;
  /** The library the survey was written from (coverage of papers and clusters). */
  library?: Library;
  /** Ids a reference survey cites (coverage recall). */
  referenceIds?: readonly string[];
  /** With an engine, the SurveyEval rubric is asked too. */
  rubricEngine?: Engine;
  /** Shown in reports: a file name or job id. */
  name?: string;
  citationAnalysis?: boolean;
  onClaim?: (done: number, total: number) => void;
}

export interface SurveyEvaluation {
  name: string;
  title: string;
  topic: string;
  /** From the front matter: 'extractive', 'engine', or 'unknown' for surveys that are not ours. */
  mode: string;
  /** Extractive surveys copy their cited sentences from the abstracts, so their fact score says little. */
  verbatimDerived: boolean;
  problems: string[];
  unknownReferences: { label: string; raw: string }[];
  /** The papers the claims cite, for showing them beside the verdicts. */
  papers: Record<string, { title: string; year: number | null; url: string }>;
  facts: FactScore;
  quality: ContentQuality;
  evaluatedAt: string;
}

export async function evaluateSurvey(markdown: string, opts: EvaluateOptions): Promise<SurveyEvaluation> {
  const parsed = parseSurvey(markdown);
  const resolution = await resolveReferences(parsed, opts.source);
  const claims = extractClaims(parsed, resolution);
  const facts = await scoreFacts(claims, resolution.papers, opts.judge, parsed.units.length, { citationAnalysis: opts.citationAnalysis, onClaim: opts.onClaim });
  const referencedIds = [...resolution.byLabel.values()].filter((id): id is string => Boolean(id));
  const quality = contentQuality({ parsed, claims: facts.claims, referencedIds, library: opts.library, referenceIds: opts.referenceIds, embedder: opts.embedder });
  const topic = String(parsed.frontMatter.topic ?? '') || parsed.title;
  if (opts.rubricEngine) quality.rubric = await rubricScores(opts.rubricEngine, topic, markdown);
  const mode = typeof parsed.frontMatter.mode === 'string' ? parsed.frontMatter.mode : 'unknown';
  return {
    name: opts.name ?? parsed.title,
    title: parsed.title,
    topic,
    mode,
    verbatimDerived: mode === 'extractive',
    problems: parsed.problems,
    unknownReferences: resolution.unknown.map((r) => ({ label: r.label, raw: r.raw })),
    papers: Object.fromEntries(
      [...new Set(facts.claims.flatMap((c) => c.paperIds))].flatMap((id) => {
        const p = resolution.papers.get(id);
        return p ? [[id, { title: p.title, year: p.year, url: p.url }]] : [];
      }),
    ),
    facts,
    quality,
    evaluatedAt: new Date().toISOString(),
  };
}

/** A stable id for a survey that has no job: its content hash. */
export function surveyIdFor(markdown: string): string {
  return `md-${createHash('sha256').update(markdown).digest('hex').slice(0, 16)}`;
}

/** The named numbers of an evaluation, as stored in the metrics table (absent values are left out). */
export function metricRows(e: SurveyEvaluation): { name: string; value: number; detail: unknown }[] {
  const q = e.quality;
  const f = e.facts;
  const rows: [string, number | null | undefined, unknown?][] = [
    ['fact_score', f.factScore, { judge: f.judge, claims: f.claims.length, supported: f.supported, verbatimDerived: e.verbatimDerived }],
    ['citation_recall', f.citationRecall],
    ['citation_precision', f.citationPrecision],
    ['unresolved_citations', f.unresolvedCitations, { unknownReferences: e.unknownReferences }],
    ['uncited_sentences', f.uncitedSentences, { sentences: f.sentences }],
    ['structure', q.structure.score, q.structure],
    ['coverage_papers', q.coverage.library?.share, q.coverage.library],
    ['coverage_clusters', q.coverage.library?.clusterShare, q.coverage.library],
    ['reference_recall', q.coverage.reference?.recall, q.coverage.reference],
    ['relevance', q.relevance?.mean, q.relevance],
    ['repeated_ngrams', q.redundancy.repeatedNgramShare, q.redundancy],
    ['near_duplicate_pairs', q.redundancy.nearDuplicatePairs],
    ['citations_per_100_words', q.density.citationsPer100Words, q.density],
    ['words', q.length.words, q.length],
    ...Object.entries(q.rubric ?? {}).map(([k, v]) => [`rubric_${k}`, v.expected, v] as [string, number, unknown]),
  ];
  return rows.filter((r): r is [string, number, unknown?] => typeof r[1] === 'number' && Number.isFinite(r[1])).map(([name, value, detail]) => ({ name, value, detail: detail ?? {} }));
}

/** Writes the survey (if new), its claims and metrics; earlier results for the survey are replaced. */
export function storeEvaluation(db: Db, e: SurveyEvaluation, survey: { id: string; markdown: string; jobId?: string | null }): void {
  db.transaction(() => {
    db.prepare(
      `INSERT OR IGNORE INTO surveys (id, job_id, topic, title, mode, markdown, front_matter, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(survey.id, survey.jobId ?? null, e.topic, e.title, e.mode, survey.markdown, JSON.stringify(parseSurvey(survey.markdown).frontMatter), Date.now());
    db.prepare('DELETE FROM claims WHERE survey_id = ?').run(survey.id);
    db.prepare('DELETE FROM metrics WHERE survey_id = ?').run(survey.id);
    const claim = db.prepare('INSERT INTO claims (survey_id, section, sentence, citations, judge, supported, score, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const c of e.facts.claims) {
      claim.run(
        survey.id,
        c.section,
        c.text,
        JSON.stringify({ labels: c.labels, paperIds: c.paperIds, unresolved: c.unresolved, citations: c.citations }),
        e.facts.judge,
        c.supported ? 1 : 0,
        c.score,
        c.span ? JSON.stringify(c.span) : '',
      );
    }
    const metric = db.prepare('INSERT INTO metrics (survey_id, name, value, detail) VALUES (?, ?, ?, ?)');
    for (const m of metricRows(e)) metric.run(survey.id, m.name, m.value, JSON.stringify(m.detail));
  })();
}

/** The library of a pipeline job (its 'library' step output: papers and per-section paper ids), if recorded. */
export function libraryFromJob(db: Db, jobId: string): Library | undefined {
  const row = db.prepare("SELECT output FROM job_steps WHERE job_id = ? AND step = 'library'").get(jobId) as { output: string } | undefined;
  if (!row) return undefined;
  let out: unknown;
  try {
    out = JSON.parse(row.output);
  } catch {
    return undefined;
  }
  const o = out as { papers?: { id?: unknown }[]; sectionPapers?: unknown };
  if (!Array.isArray(o.papers)) return undefined;
  const paperIds = o.papers.map((p) => p?.id).filter((id): id is string => typeof id === 'string');
  const clusters = Array.isArray(o.sectionPapers) ? o.sectionPapers.filter(Array.isArray).map((c: unknown[]) => c.filter((x): x is string => typeof x === 'string')) : [];
  return { paperIds, clusters };
}

export interface JobScoringOptions {
  source: PaperSource;
  /** Word vectors and SIF component cache (config.cacheDir). */
  cacheDir: string;
  /** With an engine: the engine judge (unless judge is 'lexical') and, if asked, the rubric. */
  engine?: Engine | null;
  judge?: 'lexical' | 'engine';
  rubric?: boolean;
  onClaim?: (done: number, total: number) => void;
}

/**
 * The pipeline's one call after it has written a job's survey row (surveys.id = job id): scores
 * the survey against the job's library and stores claims and metrics under the job id.
 */
export async function scoreJobSurvey(db: Db, jobId: string, markdown: string, opts: JobScoringOptions): Promise<SurveyEvaluation> {
  const useEngine = opts.engine && opts.judge !== 'lexical';
  const judge: Judge = useEngine ? new EngineJudge(opts.engine!) : new LexicalJudge({ vectors: loadWordVectors(opts.cacheDir) });
  const e = await evaluateSurvey(markdown, {
    source: opts.source,
    judge,
    embedder: new SifEmbedder(opts.cacheDir),
    library: libraryFromJob(db, jobId),
    rubricEngine: opts.rubric && opts.engine ? opts.engine : undefined,
    name: jobId,
    citationAnalysis: !useEngine,
    onClaim: opts.onClaim,
  });
  storeEvaluation(db, e, { id: jobId, markdown, jobId });
  return e;
}
