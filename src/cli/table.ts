// Markdown tables: the batch summary and the benchmarks print them so they paste into docs.
/** A Markdown table, so the output pastes straight into the README. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
