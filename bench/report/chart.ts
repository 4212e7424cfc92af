import type { BenchResults, TargetCheck } from '../results.ts';

/** One bar: a model's measured ratio for one target, with its spread over the rounds. */
interface Bar {
  run: number;
  check: TargetCheck;
}

interface Group {
  label: string;
  bars: Bar[];
}

const COLORS = ['#3b6ea8', '#d08a2e', '#5a9a5a', '#8a5aa8'];
const MET = '#2e7d32';
const MISSED = '#c62828';

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The target without its bound, e.g. "tokens/s (4 clients)", so that one row holds every model's bar. */
const rowLabel = (pairId: number, check: TargetCheck) =>
  `${pairId}. ${check.target.replace(/\s*[≥≤]\s*[\d.]+%( of)?/, (m) => (m.includes('of') ? ' ÷' : ''))}`;

/** Targets stated as a percentage (ratios to a baseline), grouped by what they compare. */
function groups(results: BenchResults): Group[] {
  const byLabel = new Map<string, Group>();
  results.runs.forEach((run, index) => {
    for (const pair of run.pairs) {
      for (const check of pair.targets) {
        if (check.unit !== '%' || !Number.isFinite(check.value)) continue;
        const label = rowLabel(pair.id, check);
        const group = byLabel.get(label) ?? { label, bars: [] };
        group.bars.push({ run: index, check });
        byLabel.set(label, group);
      }
    }
  });
  // In pair order (a target may first appear on the second model).
  return [...byLabel.values()].sort((a, b) => Number.parseInt(a.label, 10) - Number.parseInt(b.label, 10));
}

/**
 * The report at a glance, as SVG: per target, each model's median as a bar with the range over its
 * rounds as a whisker, and the target as a dashed line; the value is green where the target is met,
 * red where it is missed. Targets in milliseconds are in the tables only.
 */
export function renderChart(results: BenchResults): string {
  const rows = groups(results);
  const models = results.runs.map((run) => run.model.id);
  const labelWidth = 330;
  const plotWidth = 520;
  const barHeight = 14;
  const gap = 4;
  const groupGap = 14;
  const top = 56;
  const max = Math.max(150, ...rows.flatMap((g) => g.bars.flatMap((b) => [b.check.threshold, b.check.spread?.[1] ?? b.check.value]))) * 1.05;
  const x = (percent: number) => labelWidth + (Math.max(0, percent) / max) * plotWidth;
  const height = top + rows.reduce((h, g) => h + g.bars.length * (barHeight + gap) + groupGap, 0) + 30;
  const width = labelWidth + plotWidth + 150;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Orchestrator against its baselines: ratio per target (median, whisker: range over rounds; dashed: target)</text>`,
  ];
  models.forEach((model, i) => {
    const lx = 10 + i * 260;
    parts.push(`<rect x="${lx}" y="32" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 18}" y="42">${escapeXml(model)}${results.runs[i]?.model.randomWeights ? ' (random weights)' : ''}</text>`);
  });
  for (const tick of [0, 50, 100, 150, 200, 300, 400].filter((t) => t <= max)) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height - 24}" stroke="${tick === 100 ? '#888' : '#e0e0e0'}"/>`);
    parts.push(`<text x="${x(tick)}" y="${height - 10}" text-anchor="middle" fill="#555">${tick}%</text>`);
  }
  let y = top;
  for (const group of rows) {
    const groupHeight = group.bars.length * (barHeight + gap) - gap;
    parts.push(`<text x="${labelWidth - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end">${escapeXml(group.label)}</text>`);
    for (const bar of group.bars) {
      const { check } = bar;
      const color = COLORS[bar.run % COLORS.length];
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(check.value) - labelWidth)}" height="${barHeight}" fill="${color}"/>`);
      if (check.spread) {
        const [low, high] = check.spread;
        const mid = y + barHeight / 2;
        parts.push(`<line x1="${x(low)}" y1="${mid}" x2="${x(high)}" y2="${mid}" stroke="#222"/>`);
        parts.push(`<line x1="${x(low)}" y1="${mid - 4}" x2="${x(low)}" y2="${mid + 4}" stroke="#222"/>`);
        parts.push(`<line x1="${x(high)}" y1="${mid - 4}" x2="${x(high)}" y2="${mid + 4}" stroke="#222"/>`);
      }
      const tx = x(check.threshold);
      parts.push(`<line x1="${tx}" y1="${y - 2}" x2="${tx}" y2="${y + barHeight + 2}" stroke="#000" stroke-width="2" stroke-dasharray="3 2"/>`);
      const end = Math.max(x(check.value), x(check.spread?.[1] ?? check.value), tx);
      const bound = `${check.better === 'higher' ? '≥' : '≤'}${check.threshold}%`;
      parts.push(`<text x="${end + 6}" y="${y + barHeight - 3}" fill="${check.met ? MET : MISSED}">${Math.round(check.value)}% (${bound}) ${check.met ? 'met' : 'missed'}</text>`);
      y += barHeight + gap;
    }
    y += groupGap;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
