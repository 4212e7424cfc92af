import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { percentile } from '../stats.ts';

/** The part of autocannon's result the bench reads (the package ships no types). */
interface AutocannonResult {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  requests: { total: number };
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonOptions {
  url: string;
  method: 'POST';
  body: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}

type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => EventEmitter;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/**
 * Fixed-duration HTTP load with `connections` keep-alive connections. autocannon works in whole
 * seconds and keeps latencies at 1 ms resolution, so latencies are taken from its per-response
 * event (sub-millisecond) instead. Any non-2xx answer or error fails the run.
 */
export async function hammer(url: string, body: unknown, headers: Record<string, string>, connections: number, durationMs: number) {
  const latencies: number[] = [];
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        body: JSON.stringify(body),
        headers: { ...headers, 'content-type': 'application/json' },
        connections,
        duration: Math.max(1, Math.round(durationMs / 1000)),
      },
      (error, value) => (error ? reject(error) : resolve(value)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx answers (${JSON.stringify(result.statusCodeStats)}), ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { requestsPerSecond: result.requests.total / result.duration, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
