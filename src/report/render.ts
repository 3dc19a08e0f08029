// The evaluation report: one self-contained HTML file (templates/report.html, CSS inline, charts
// as inline SVG, no scripts). Everything that comes from a survey is HTML-escaped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config.js';
import type { SurveyEvaluation } from '../metrics/evaluate.js';
import { fill } from '../templates.js';
import { escapeHtml } from './escape.js';
import { fillBars, groupedBars, histogram, stackedBars } from './svg.js';

const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const mean = (xs: (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
/** Only http(s) links are rendered as links. */
const safeUrl = (u: string) => (/^https?:\/\//i.test(u) ? u : '');

export interface ReportOptions {
  title?: string;
  /** Shown under the title, e.g. the command that made the report. */
  subtitle?: string;
}

export function renderReport(evaluations: readonly SurveyEvaluation[], opts: ReportOptions = {}): string {
  const template = readFileSync(join(packageRoot, 'templates', 'report.html'), 'utf8');
  const claims = evaluations.flatMap((e) => e.facts.claims);
  const supported = claims.filter((c) => c.supported).length;
  const judges = [...new Set(evaluations.map((e) => e.facts.judge))].join(', ') || '–';
  const verbatim = evaluations.filter((e) => e.verbatimDerived).length;
  const title = opts.title ?? (evaluations.length === 1 ? `Evaluation: ${evaluations[0]!.title || evaluations[0]!.name}` : `Evaluation of ${evaluations.length} surveys`);
  const cards: [string, string][] = [
    ['surveys', String(evaluations.length)],
    ['claims', String(claims.length)],
    ['fact score (all claims)', pct(claims.length ? supported / claims.length : null)],
    ['mean fact score per survey', pct(mean(evaluations.map((e) => e.facts.factScore)))],
    ['citation precision', pct(mean(evaluations.map((e) => e.facts.citationPrecision)))],
    ['unresolved citations', String(evaluations.reduce((n, e) => n + e.facts.unresolvedCitations, 0))],
    ['uncited sentences', String(evaluations.reduce((n, e) => n + e.facts.uncitedSentences, 0))],
    ['structure', num(mean(evaluations.map((e) => e.quality.structure.score)))],
    ['relevance', num(mean(evaluations.map((e) => e.quality.relevance?.mean)))],
  ];
  const rubric = mean(evaluations.map(rubricMean));
  if (rubric !== null) cards.push(['rubric (1–5)', num(rubric)]);
  const note = [
    `Judge: ${judges}. A claim is a sentence or list item with at least one citation; it is supported when its cited papers' titles and abstracts support it.`,
    verbatim ? `${verbatim} survey(s) were written in extractive mode: their fact scores are verbatim-derived (cited sentences are copied from the abstracts) and say little about a writer.` : '',
  ]
    .filter(Boolean)
    .join(' ');

  return fill(template, {
    title: escapeHtml(title),
    subtitle: escapeHtml(opts.subtitle ?? `litsurvey evaluation report, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`),
    cards: cards.map(([label, value]) => `<div class="card"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`).join(''),
    note: escapeHtml(note),
    charts: charts(evaluations),
    table: surveyTable(evaluations),
    claims: evaluations.map((e) => claimList(e, evaluations.length <= 3)).join('\n'),
  });
}

function rubricMean(e: SurveyEvaluation): number | null {
  return e.quality.rubric ? mean(Object.values(e.quality.rubric).map((r) => r.expected)) : null;
}

function charts(evaluations: readonly SurveyEvaluation[]): string {
  const figure = (caption: string, svg: string) => `<figure><figcaption>${escapeHtml(caption)}</figcaption>${svg}</figure>`;
  const scores = evaluations.map((e) => e.facts.factScore).filter((x): x is number => x !== null);
  const bySection = new Map<string, { ok: number; bad: number }>();
  for (const e of evaluations) {
    for (const c of e.facts.claims) {
      const name = c.section.split(' › ').pop() || '(before the first heading)';
      const s = bySection.get(name) ?? { ok: 0, bad: 0 };
      if (c.supported) s.ok++;
      else s.bad++;
      bySection.set(name, s);
    }
  }
  const sections = [...bySection.entries()].sort((a, b) => b[1].ok + b[1].bad - (a[1].ok + a[1].bad)).slice(0, 20);
  const metricNames = ['fact score', 'citation precision', 'structure', 'relevance', 'paper coverage'];
  const metricRows = evaluations.slice(0, 30).map((e) => ({
    label: e.name,
    values: [e.facts.factScore, e.facts.citationPrecision, e.quality.structure.score, e.quality.relevance?.mean ?? null, e.quality.coverage.library?.share ?? e.quality.coverage.reference?.recall ?? null],
  }));
  return [
    figure('Fact score across surveys', scores.length ? histogram(scores, 10) : '<p class="note">No survey made a claim.</p>'),
    figure('Metrics per survey (0–1)', groupedBars(metricRows, metricNames)),
    figure('Supported vs unsupported claims by section', sections.length ? stackedBars(sections.map(([label, s]) => ({ label, ok: s.ok, bad: s.bad }))) : '<p class="note">No claims.</p>'),
    figure('Unresolved citations per survey', fillBars(evaluations.slice(0, 30).map((e) => ({ label: e.name, value: e.facts.unresolvedCitations })))),
  ].join('\n');
}

function surveyTable(evaluations: readonly SurveyEvaluation[]): string {
  const head = ['survey', 'mode', 'claims', 'fact score', 'cit. precision', 'cit. recall', 'unresolved', 'uncited', 'structure', 'relevance', 'coverage', 'ref. recall', 'repeated 4-grams', 'near-dup pairs', 'cites/100 words', 'words', 'rubric'];
  const rows = evaluations.map((e) => {
    const q = e.quality;
    const cells = [
      `${escapeHtml(e.name)}${e.title && e.title !== e.name ? `<br><span class="note">${escapeHtml(e.title)}</span>` : ''}`,
      `${escapeHtml(e.mode)}${e.verbatimDerived ? '<span class="badge" title="extractive mode: cited sentences are copied from abstracts">verbatim-derived</span>' : ''}`,
      String(e.facts.claims.length),
      pct(e.facts.factScore),
      pct(e.facts.citationPrecision),
      pct(e.facts.citationRecall),
      String(e.facts.unresolvedCitations),
      String(e.facts.uncitedSentences),
      num(q.structure.score),
      num(q.relevance?.mean),
      pct(q.coverage.library?.share),
      pct(q.coverage.reference?.recall),
      pct(q.redundancy.repeatedNgramShare),
      String(q.redundancy.nearDuplicatePairs),
      num(q.density.citationsPer100Words, 1),
      String(q.length.words),
      num(rubricMean(e)),
    ];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** `open`: show the claims unfolded (small reports); batch reports start folded. */
function claimList(e: SurveyEvaluation, open: boolean): string {
  const problems = [...e.problems, ...e.unknownReferences.map((r) => `reference [${r.label}] not found in the index: ${r.raw.slice(0, 160)}`)];
  const items = e.facts.claims.map((c) => {
    const cls = c.paperIds.length === 0 ? 'no-evidence' : c.supported ? 'supported' : 'unsupported';
    const verdict = c.paperIds.length === 0 ? 'no evidence' : c.supported ? 'supported' : 'unsupported';
    const cites = [
      ...c.paperIds.map((id) => {
        const p = e.papers[id];
        const label = p ? `${p.title}${p.year ? ` (${p.year})` : ''}` : id;
        const url = p ? safeUrl(p.url) : '';
        const rel = c.citations.find((x) => x.paperId === id);
        const mark = rel ? (rel.relevant ? ' ✓' : ' ✗') : '';
        return `${url ? `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>` : escapeHtml(label)} <code>${escapeHtml(id)}</code>${mark}`;
      }),
      ...c.unresolved.map((l) => `<span class="problems">[${escapeHtml(l)}] unresolved</span>`),
    ];
    return `<li class="${cls}"><span class="verdict">${verdict}</span> <span class="note">score ${num(c.score)}</span> <span class="section">${escapeHtml(c.section)}</span>
<p class="claim">${escapeHtml(c.plain)}</p>
<p class="cites">Cites: ${cites.join('; ')}</p>
${c.span ? `<p class="evidence">Evidence: <q>${escapeHtml(c.span.text)}</q></p>` : ''}</li>`;
  });
  const header = `${escapeHtml(e.name)} — ${e.facts.claims.length} claims, fact score ${pct(e.facts.factScore)}${e.verbatimDerived ? ' (verbatim-derived)' : ''}`;
  return `<details${open && e.facts.claims.length <= 200 ? ' open' : ''}><summary>${header}</summary>
${problems.length ? `<ul class="problems">${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : ''}
${items.length ? `<ol class="claims">${items.join('\n')}</ol>` : '<p class="note">&nbsp;&nbsp;No claims (no sentence cites a paper).</p>'}</details>`;
}
