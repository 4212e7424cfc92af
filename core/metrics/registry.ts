import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, type LabelsOf, type MetricKey } from './names.ts';

type CounterKey = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends 'counter' ? K : never }[MetricKey];
type GaugeKey = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends 'gauge' ? K : never }[MetricKey];
type HistogramKey = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends 'histogram' ? K : never }[MetricKey];

export type Counters = { [K in CounterKey]: Counter<LabelsOf<K>> };
export type Gauges = { [K in GaugeKey]: Gauge<LabelsOf<K>> };
export type Histograms = { [K in HistogramKey]: Histogram<LabelsOf<K>> };
export type MetricSet = Counters & Gauges & Histograms;

/**
 * One registry and one instance of every catalog metric. Gauges that read live state
 * (queue counts, pool occupancy) get their values at scrape time from sources attached later.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly m: MetricSet;
  private readonly scrapeHooks = new Set<() => Promise<void> | void>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const built: Record<string, unknown> = {};
    for (const [key, def] of Object.entries(METRICS)) {
      const base = { name: def.name, help: def.help, labelNames: [...def.labels], registers };
      if (def.type === 'counter') built[key] = new Counter(base);
      else if (def.type === 'histogram') built[key] = new Histogram({ ...base, buckets: [...def.buckets] });
      else {
        const gauge = new Gauge(base);
        // prom-client shows a gauge without labels as 0 until it is set: a reading that never came
        // (another role's metric, Redis away) must show no series rather than a false 0.
        if (def.labels.length === 0) gauge.remove();
        built[key] = gauge;
      }
    }
    this.m = built as MetricSet;
  }

  /** Runs `hook` before each scrape (to refresh gauges from live state); returns its removal. */
  onScrape(hook: () => Promise<void> | void): () => void {
    this.scrapeHooks.add(hook);
    return () => void this.scrapeHooks.delete(hook);
  }

  /** The exposition text. Hooks run together; one that fails leaves its gauges empty rather than failing the scrape. */
  async render(): Promise<string> {
    await Promise.allSettled([...this.scrapeHooks].map(async (hook) => await hook()));
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

let shared: Metrics | undefined;

/**
 * The metrics of this process. Every role in one process (as `npm start` runs them) shares it,
 * so each metric is registered exactly once.
 */
export function processMetrics(): Metrics {
  shared ??= new Metrics();
  return shared;
}
