import type { BenchResults } from '../results.ts';
import { compareHeading, formatCompare, formatFigure, formatTarget } from './format.ts';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The results as plain-text tables for the terminal: median (min–max over rounds). */
export function consoleReport(results: BenchResults): string {
  const out: string[] = [];
  for (const pair of results.pairs) {
    out.push(`\n${pair.id}. ${pair.title}`);
    if (!pair.available) {
      out.push(`   ${pair.notes.join(' ')}`);
      continue;
    }
    const header = ['metric', 'unit', pair.columns.a, ...(pair.columns.b ? [pair.columns.b] : []), compareHeading(pair)];
    const rows = pair.rows.map((row) => [
      row.metric,
      row.unit,
      formatFigure(row.a, row.unit),
      ...(pair.columns.b ? [formatFigure(row.b, row.unit)] : []),
      formatCompare(row),
    ]);
    out.push(table(header, rows));
    for (const target of pair.targets) out.push(`   ${formatTarget(target)}`);
  }
  out.push(`\n${results.pairs.length} pairs in ${Math.round(results.durationS)} s; median (min–max) over ${String(results.settings.rounds)} rounds.`);
  return out.join('\n');
}
