import type { BenchResults, ModelRun } from '../results.ts';
import { compareHeading, formatCompare, formatFigure, formatTarget } from './format.ts';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The results as plain-text tables for the terminal: median (min–max over rounds). */
export function consoleReport(results: BenchResults): string {
  const out: string[] = [];
  for (const run of results.runs) {
    out.push(`\n== ${run.model.id} (${String(run.settings.rounds)} rounds; defaults ${String(run.settings.defaultsChosen ?? '').split(':')[0]}) ==`);
    runReport(run, out);
  }
  out.push(`\n${results.runs.length} model(s) in ${Math.round(results.durationS)} s; median (min–max) over the rounds.`);
  return out.join('\n');
}

function runReport(run: ModelRun, out: string[]): void {
  for (const pair of run.pairs) {
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
}
