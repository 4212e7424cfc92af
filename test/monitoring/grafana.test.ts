import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { exposedSeriesNames, METRICS } from '../../core/metrics/names.ts';
import { projectRoot } from '../../core/paths.ts';

const grafana = path.join(projectRoot, 'monitoring', 'grafana');
const datasources = YAML.parse(readFileSync(path.join(grafana, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'));
const providers = YAML.parse(readFileSync(path.join(grafana, 'provisioning', 'dashboards', 'llm-orchestrator.yml'), 'utf8'));
const dashboard = JSON.parse(readFileSync(path.join(grafana, 'dashboards', 'llm-orchestrator.json'), 'utf8'));
const panels: any[] = dashboard.panels.filter((p: any) => p.type !== 'row');

describe('Grafana provisioning', () => {
  it('provisions one Prometheus data source on the compose network', () => {
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090', access: 'proxy', isDefault: true }),
    ]);
  });

  it('loads the dashboards from files, read-only in the UI', () => {
    expect(providers.providers).toEqual([
      expect.objectContaining({ type: 'file', allowUiUpdates: false, options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }) }),
    ]);
  });
});

describe('the llm-orchestrator dashboard', () => {
  it('queries only the provisioned data source', () => {
    const uid = datasources.datasources[0].uid;
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      for (const target of panel.targets) expect(target.datasource?.uid, panel.title).toBe(uid);
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource.uid).toBe(uid);
  });

  it('gives every panel a unique id, a title, a description and at least one query', () => {
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.title).toBeTruthy();
      expect(panel.description, panel.title).toBeTruthy();
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.expr, panel.title).toBeTruthy();
    }
  });

  it('lays panels out without overlaps on the 24-column grid', () => {
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect(cells.has(cell), `${panel.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('has the panels operators look for', () => {
    const byTitle = (title: string) => panels.find((p) => p.title === title)?.targets.map((t: any) => t.expr).join('\n') ?? '';
    expect(byTitle('Request rate by route')).toMatch(/llmo_http_request_duration_seconds_count/);
    expect(byTitle('Request latency percentiles')).toMatch(/histogram_quantile\(0\.95/);
    expect(byTitle('Queue depth by state')).toMatch(/queue_model_state:llmo_queue_jobs:max/);
    expect(byTitle('Time to first token')).toMatch(/llmo_time_to_first_token_seconds_bucket/);
    expect(byTitle('Tokens per second')).toMatch(/rate\(llmo_generation_tokens_total/);
    expect(byTitle('Cache hit ratio')).toMatch(/llmo_cache_requests_total\{model=~"\$model", result="hit"\}/);
    expect(byTitle('Failures and cancellations')).toMatch(/llmo_jobs_failed_total[\s\S]*llmo_jobs_cancelled_total/);
    expect(byTitle('Workers up')).toMatch(/up\{job="worker"\}/);
    expect(byTitle('Redis memory')).toMatch(/redis_memory_used_bytes[\s\S]*redis_memory_max_bytes/);
  });

  describe('the model variable', () => {
    const variable = () => dashboard.templating.list.find((v: any) => v.name === 'model');
    /** Series names that carry a `model` label: the catalog's, and the recorded per-model queue series. */
    const withModel = new Set([
      ...Object.values(METRICS).filter((m) => (m.labels as readonly string[]).includes('model')).flatMap(exposedSeriesNames),
      'queue_model_state:llmo_queue_jobs:max',
      'queue_model:llmo_queue_backlog:sum',
    ]);
    const selectors = (expr: string) => [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?(?=\s*[[)\s/*+-]|$)/g)];

    it('lists the models of the queue metrics, several at once or all', () => {
      expect(variable()).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
      expect(variable().query.query).toBe('label_values(llmo_queue_jobs, model)');
      expect(variable().definition).toBe('label_values(llmo_queue_jobs, model)');
    });

    it('filters every query of a series with a model label on the chosen models', () => {
      let filtered = 0;
      for (const panel of panels) {
        for (const target of panel.targets) {
          for (const [, name, matchers] of selectors(target.expr)) {
            if (!withModel.has(name!)) continue;
            expect(matchers ?? '', `${panel.title}: ${name}`).toContain('model=~"$model"');
            filtered++;
          }
        }
      }
      // Queue, jobs, inference and cache panels at least.
      expect(filtered).toBeGreaterThanOrEqual(20);
    });

    it('draws one series per model in the queue, jobs, inference and cache panels', () => {
      for (const title of ['Queue depth by state', 'Jobs submitted and completed', 'Failures and cancellations', 'Time waiting in the queue', 'Time to first token', 'Sequences busy', 'Cache hit ratio']) {
        const panel = panels.find((p) => p.title === title);
        expect(panel, title).toBeDefined();
        for (const target of panel.targets) {
          expect(target.expr, title).toMatch(/by \([^)]*\bmodel\b[^)]*\)/);
          expect(target.legendFormat, title).toContain('{{model}}');
        }
      }
    });

    it('has a selector reader that sees a missing filter', () => {
      const found = selectors('sum(rate(llmo_jobs_failed_total{queue=~"$queue"}[5m])) / sum(llmo_sequences_busy)').map((m) => [m[1], m[2]]);
      expect(found).toContainEqual(['llmo_jobs_failed_total', '{queue=~"$queue"}']);
      expect(found).toContainEqual(['llmo_sequences_busy', undefined]);
    });
  });
});
