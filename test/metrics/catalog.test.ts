import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, METRIC_PREFIX, METRICS, exposedSeriesNames } from '../../core/metrics/names.ts';
import { Metrics, processMetrics } from '../../core/metrics/registry.ts';
import { parseExposition } from './exposition.ts';

/** Labels that would carry per-request or per-process values and explode cardinality, or clash with Prometheus's. */
const FORBIDDEN_LABELS = ['job', 'instance', 'job_id', 'id', 'prompt', 'text', 'user', 'api_key', 'key', 'worker_id', 'pid', 'hostname', 'path', 'url'];

describe('the metric catalog', () => {
  it('names every metric once, with the llmo_ prefix', () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
    for (const name of METRIC_NAMES) expect(name).toMatch(new RegExp(`^${METRIC_PREFIX}[a-z0-9_]+$`));
  });

  it('follows Prometheus naming: counters end in _total, nothing else does, durations are in seconds', () => {
    for (const def of Object.values(METRICS)) {
      if (def.type === 'counter') expect(def.name, def.name).toMatch(/_total$/);
      else expect(def.name, def.name).not.toMatch(/_total$/);
      if (def.type === 'histogram') expect(def.name, def.name).toMatch(/_seconds$/);
    }
  });

  it('uses no label that identifies a request, a client or a process', () => {
    for (const def of Object.values(METRICS)) {
      for (const label of def.labels) expect(FORBIDDEN_LABELS, `${def.name}{${label}}`).not.toContain(label);
    }
  });

  it('gives histograms increasing buckets', () => {
    for (const def of Object.values(METRICS)) {
      if (def.type !== 'histogram') continue;
      const buckets = [...def.buckets];
      expect(buckets, def.name).toEqual([...buckets].sort((a, b) => a - b));
      expect(new Set(buckets).size, def.name).toBe(buckets.length);
    }
  });
});

describe('Metrics (the registry)', () => {
  it('registers every catalog metric with its help, type and Node process metrics', async () => {
    const metrics = new Metrics();
    metrics.m.jobsSubmitted.inc({ queue: 'generate' });
    metrics.m.httpRequestDuration.observe({ method: 'GET', route: '/api/health', status_code: '200' }, 0.002);
    const text = await metrics.render();
    for (const def of Object.values(METRICS)) {
      expect(text).toContain(`# HELP ${def.name} ${def.help}`);
      expect(text).toContain(`# TYPE ${def.name} ${def.type}`);
    }
    const names = new Set(parseExposition(text).map((s) => s.name));
    expect(names).toContain('process_resident_memory_bytes');
    expect(names).toContain('nodejs_eventloop_lag_p99_seconds');
    for (const series of exposedSeriesNames(METRICS.httpRequestDuration)) expect(names).toContain(series);
  });

  it('keeps separate instances apart, and one instance per process', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.m.generationTokens.inc({ model: 'm' }, 5);
    expect(await a.registry.getSingleMetricAsString(METRICS.generationTokens.name)).toContain('llmo_generation_tokens_total{model="m"} 5');
    expect(await b.registry.getSingleMetricAsString(METRICS.generationTokens.name)).not.toContain('model="m"');
    expect(processMetrics()).toBe(processMetrics());
  });

  it('shows no series for a gauge without labels until it is set, rather than a false 0', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const unlabelled = Object.values(METRICS).filter((def) => def.type === 'gauge' && def.labels.length === 0);
    expect(unlabelled.map((def) => def.name)).toContain(METRICS.redisMemoryMax.name);
    let names = new Set(parseExposition(await metrics.render()).map((s) => s.name));
    for (const def of unlabelled) expect(names.has(def.name), def.name).toBe(false);
    metrics.m.redisMemoryMax.set(0);
    names = new Set(parseExposition(await metrics.render()).map((s) => s.name));
    expect(names.has(METRICS.redisMemoryMax.name)).toBe(true);
  });

  it('still answers a scrape when a live source fails', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.onScrape(async () => {
      throw new Error('Redis is away');
    });
    metrics.m.jobsFailed.inc({ queue: 'generate' });
    expect(await metrics.render()).toContain('llmo_jobs_failed_total{queue="generate"} 1');
  });
});
