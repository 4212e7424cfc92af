import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { exposedSeriesNames, METRIC_PREFIX, METRICS } from '../../core/metrics/names.ts';
import { Metrics } from '../../core/metrics/registry.ts';
import { projectRoot } from '../../core/paths.ts';
import { metricNames, withGrafanaVariablesResolved } from './promql.ts';

const read = (...parts: string[]) => readFileSync(path.join(projectRoot, ...parts), 'utf8');

const rules = YAML.parse(read('monitoring', 'prometheus', 'alerts.yml')) as { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
const ruleList = rules.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('monitoring', 'grafana', 'dashboards', 'llm-orchestrator.json'));
const panelQueries: { panel: string; expr: string }[] = dashboard.panels.flatMap((p: { title: string; targets?: { expr: string }[] }) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);
const variableQueries: { panel: string; expr: string }[] = dashboard.templating.list.map((v: { name: string; query: { query: string } }) => ({
  panel: `$${v.name}`,
  // label_values(metric, label) selects `metric`.
  expr: v.query.query.replace(/^label_values\(([^,]+),.*\)$/, '$1'),
}));

/** Every series name the catalog's metrics can show in a scrape. */
const catalogSeries = new Set(Object.values(METRICS).flatMap(exposedSeriesNames));
const recorded = new Set(ruleList.flatMap((r) => (r.record ? [r.record] : [])));

/** The "Metrics from other exporters" table of docs/metrics.md: the documented list of foreign names. */
function documentedExporterMetrics(): Set<string> {
  const doc = read('docs', 'metrics.md');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Metrics from other exporters'));
  if (!section) throw new Error('docs/metrics.md has no "Metrics from other exporters" section');
  return new Set([...section.matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|/gm)].map((m) => m[1]!));
}

function referencedBy(queries: { panel: string; expr: string }[]) {
  return queries.flatMap(({ panel, expr }) => metricNames(expr).map((name) => ({ panel, name })));
}

describe('metric names in alert rules and dashboards', () => {
  const sources = {
    'alert rules': ruleList.map((r) => ({ panel: r.alert ?? r.record ?? '?', expr: r.expr })),
    'Grafana dashboard': [...panelQueries, ...variableQueries],
  };

  for (const [source, queries] of Object.entries(sources)) {
    it(`every llmo_ metric the ${source} use exists in core/metrics/names.ts`, () => {
      const used = referencedBy(queries).filter((r) => r.name.startsWith(METRIC_PREFIX));
      expect(used.length).toBeGreaterThanOrEqual(4);
      for (const { panel, name } of used) expect(catalogSeries.has(name), `${panel}: ${name}`).toBe(true);
    });

    it(`every recorded series the ${source} use is defined by a recording rule`, () => {
      for (const { panel, name } of referencedBy(queries).filter((r) => r.name.includes(':'))) {
        expect(recorded.has(name), `${panel}: ${name}`).toBe(true);
      }
    });

    it(`every other metric the ${source} use is in the documented exporter list`, () => {
      const documented = documentedExporterMetrics();
      for (const { panel, name } of referencedBy(queries)) {
        if (name.startsWith(METRIC_PREFIX) || name.includes(':')) continue;
        expect(documented.has(name), `${panel}: ${name} (add it to docs/metrics.md)`).toBe(true);
      }
    });
  }

  it('the Node process metrics in the documented list are ones our processes export', async () => {
    const exported = new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const ours = [...documentedExporterMetrics()].filter((name) => /^(process|nodejs)_/.test(name));
    expect(ours.length).toBeGreaterThan(0);
    for (const name of ours) expect(exported.has(name), name).toBe(true);
  });

  it('a renamed metric would be caught', () => {
    const renamed = metricNames('sum(rate(llmo_generated_tokens_total[5m]))');
    expect(renamed).toEqual(['llmo_generated_tokens_total']);
    expect(catalogSeries.has(renamed[0]!)).toBe(false);
  });

  it('every dashboard query is valid PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-dashboard-'));
    try {
      const file = path.join(dir, 'panels.yml');
      const checks = panelQueries.map(({ expr }, i) => ({ record: `dashboard_query_${i}`, expr: withGrafanaVariablesResolved(expr) }));
      writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: checks }] }));
      const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      if (run.error) throw new Error(`promtool not runnable (${run.error.message}): apt-get install -y prometheus`);
      expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toContain(`SUCCESS: ${checks.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docs/metrics.md', () => {
  it('documents every metric of the catalog with its type and labels', () => {
    const doc = read('docs', 'metrics.md');
    for (const def of Object.values(METRICS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${def.name}\` |`));
      expect(row, def.name).toBeDefined();
      const [, , type, labels] = row!.split('|').map((cell) => cell.trim());
      expect(type, def.name).toBe(def.type);
      expect([...labels!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]), def.name).toEqual([...def.labels]);
    }
  });
});
