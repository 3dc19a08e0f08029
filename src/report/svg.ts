// Small inline-SVG charts for the report: no scripts, no external files. Labels are escaped.
import { escapeHtml } from './escape.js';

const OK = '#1a7f37';
const BAD = '#c62828';
const PALETTE = ['#0969da', '#1a7f37', '#bf8700', '#8250df', '#cf222e', '#57606a'];
const short = (s: string, n = 28) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const svg = (w: number, h: number, body: string, label: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="${escapeHtml(label)}">${body}</svg>`;

/** Histogram of values in [0, 1]. */
export function histogram(values: readonly number[], bins: number): string {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]!++;
  const max = Math.max(1, ...counts);
  const [w, h, left, bottom] = [360, 200, 30, 30];
  const bw = (w - left - 10) / bins;
  let body = `<line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#57606a"/>`;
  counts.forEach((c, i) => {
    const bh = ((h - bottom - 20) * c) / max;
    const x = left + i * bw;
    body += `<rect class="bar" x="${x + 1}" y="${h - bottom - bh}" width="${bw - 2}" height="${bh}" fill="#0969da"><title>${(i / bins) * 100}–${((i + 1) / bins) * 100}%: ${c}</title></rect>`;
    if (c) body += `<text x="${x + bw / 2}" y="${h - bottom - bh - 3}" text-anchor="middle">${c}</text>`;
    if (i % 2 === 0) body += `<text x="${x}" y="${h - bottom + 14}" text-anchor="middle">${(i / bins) * 100}%</text>`;
  });
  body += `<text x="${w - 10}" y="${h - bottom + 14}" text-anchor="end">100%</text><text x="${left}" y="${h - 4}">surveys by fact score</text>`;
  return svg(w, h, body, 'fact score histogram');
}

/** One group of bars (values in [0, 1] or null) per row, one colour per series. */
export function groupedBars(rows: readonly { label: string; values: (number | null)[] }[], series: readonly string[]): string {
  const rowH = series.length * 9 + 10;
  const [left, w] = [150, 380];
  const h = rows.length * rowH + 20 + series.length * 14;
  const scale = w - left - 40;
  let body = '';
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    body += `<text x="${left - 6}" y="${y + rowH / 2}" text-anchor="end">${escapeHtml(short(r.label, 22))}</text>`;
    r.values.forEach((v, j) => {
      if (v === null || !Number.isFinite(v)) return;
      const bw = Math.max(0, Math.min(1, v)) * scale;
      body += `<rect class="bar" x="${left}" y="${y + j * 9}" width="${bw}" height="8" fill="${PALETTE[j % PALETTE.length]}"><title>${escapeHtml(series[j] ?? '')}: ${(v * 100).toFixed(1)}%</title></rect>`;
    });
  });
  const ly = rows.length * rowH + 14;
  series.forEach((s, j) => {
    body += `<rect x="${left}" y="${ly + j * 14}" width="10" height="10" fill="${PALETTE[j % PALETTE.length]}"/><text x="${left + 14}" y="${ly + j * 14 + 9}">${escapeHtml(s)}</text>`;
  });
  return svg(w, h, body, 'metrics per survey');
}

/** Horizontal stacked bars: supported (green) and unsupported (red) counts per label. */
export function stackedBars(rows: readonly { label: string; ok: number; bad: number }[]): string {
  const [left, w, rowH] = [150, 380, 18];
  const h = rows.length * rowH + 30;
  const max = Math.max(1, ...rows.map((r) => r.ok + r.bad));
  const scale = w - left - 40;
  let body = '';
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    const a = (r.ok / max) * scale;
    const b = (r.bad / max) * scale;
    body += `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${escapeHtml(short(r.label, 22))}</text>`;
    body += `<rect class="bar ok" x="${left}" y="${y}" width="${a}" height="14" fill="${OK}"><title>supported: ${r.ok}</title></rect>`;
    body += `<rect class="bar bad" x="${left + a}" y="${y}" width="${b}" height="14" fill="${BAD}"><title>unsupported: ${r.bad}</title></rect>`;
    body += `<text x="${left + a + b + 4}" y="${y + 11}">${r.ok}/${r.ok + r.bad}</text>`;
  });
  const ly = rows.length * rowH + 12;
  body += `<rect x="${left}" y="${ly}" width="10" height="10" fill="${OK}"/><text x="${left + 14}" y="${ly + 9}">supported</text>`;
  body += `<rect x="${left + 90}" y="${ly}" width="10" height="10" fill="${BAD}"/><text x="${left + 104}" y="${ly + 9}">unsupported</text>`;
  return svg(w, h, body, 'supported and unsupported claims by section');
}

/** Horizontal bars of counts per label. */
export function fillBars(rows: readonly { label: string; value: number }[]): string {
  const [left, w, rowH] = [150, 380, 18];
  const h = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const scale = w - left - 40;
  let body = '';
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    body += `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${escapeHtml(short(r.label, 22))}</text>`;
    body += `<rect class="bar" x="${left}" y="${y}" width="${(r.value / max) * scale}" height="14" fill="#bf8700"/><text x="${left + (r.value / max) * scale + 4}" y="${y + 11}">${r.value}</text>`;
  });
  return svg(w, h, body, 'unresolved citations per survey');
}
