import type { Figure } from '../stats.ts';
import type { PairResult, Row, TargetCheck, Unit } from '../results.ts';

function number(value: number, unit: Unit | '%'): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (unit === '%' || abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const signed = (text: string, value: number) => (value > 0 ? `+${text}` : text);

/** "median (min–max)"; a single sample prints alone. */
export function formatFigure(figure: Figure | undefined, unit: Unit | '%', options: { signed?: boolean; scale?: number } = {}): string {
  if (!figure || figure.rounds.length === 0) return '';
  const scale = options.scale ?? 1;
  const show = (v: number) => (options.signed ? signed(number(v * scale, unit), v) : number(v * scale, unit));
  const suffix = unit === '%' ? '%' : '';
  if (figure.rounds.length === 1) return `${show(figure.median)}${suffix}`;
  return `${show(figure.median)}${suffix} (${show(figure.min)}–${show(figure.max)}${suffix})`;
}

export function formatCompare(row: Row): string {
  if (!row.compare) return '';
  if (row.compare.kind === 'ratio') return formatFigure(row.compare.figure, '%', { scale: 100 });
  return `${formatFigure(row.compare.figure, row.unit, { signed: true })} ${row.unit}`;
}

export function compareHeading(pair: PairResult): string {
  const kinds = new Set(pair.rows.map((r) => r.compare?.kind).filter(Boolean));
  if (kinds.size === 0) return '';
  if (kinds.size > 1) return 'difference / ratio';
  return kinds.has('ratio') ? `${pair.columns.a} ÷ ${pair.columns.b ?? 'default'}` : `${pair.columns.a} − ${pair.columns.b ?? ''}`;
}

export function formatTarget(target: TargetCheck): string {
  const unit = target.unit === '%' ? '%' : ` ${target.unit}`;
  const spread = target.spread ? ` (rounds: ${number(target.spread[0], target.unit)}–${number(target.spread[1], target.unit)}${unit})` : '';
  return `${target.met ? 'met' : 'MISSED'}: ${target.target} — ${target.measured} ${number(target.value, target.unit)}${unit}${spread}`;
}
