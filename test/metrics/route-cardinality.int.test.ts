import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../core/metrics/names.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { seededRandom as random } from '../support/seeded-random.ts';
import { parseExposition } from './exposition.ts';

const KEY = 'route-cardinality-test-key-0123456789';
/** Express routes the first seven; Node accepts the others, which no route of the API answers. */
const METHODS_SENT = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'MKCOL', 'SEARCH', 'PURGE', 'LOCK', 'REPORT', 'COPY'];

/**
 * Path shapes: every route and mount point of the API, paths under them that match nothing, and
 * paths outside them. `word` is a fresh token (an id, a file name, a typo).
 */
const SHAPES: Array<(word: () => string) => string> = [
  (w) => `/api/v1/jobs/${w()}`,
  (w) => `/api/v1/jobs/${w()}/events`,
  () => '/api/v1/jobs',
  () => '/api/v1/generate',
  () => '/api/v1/models',
  (w) => `/api/v1/${w()}`,
  () => '/v1/models',
  () => '/v1/chat/completions',
  () => '/v1/completions',
  (w) => `/v1/${w()}/${w()}`,
  () => '/api/docs',
  () => '/api/docs/assets/swagger-ui.css',
  (w) => `/api/docs/assets/${w()}.js`,
  (w) => `/api/docs/${w()}`,
  () => '/api/openapi.json',
  () => '/api/health',
  () => '/api/ready',
  () => '/metrics',
  (w) => `/admin/queues/${w()}`,
  (w) => `/${w()}`,
  (w) => `/${w()}/${w()}/${w()}.php?${w()}=${w()}`,
  (w) => `//${w()}//${w()}/`,
  (w) => `/api/v1/jobs/${w()}/`,
  (w) => `/%2e%2e/${w()}`,
];

/** Each letter upper or lower case at random: Express matches paths case-insensitively. */
const scramble = (path: string, next: () => number) => [...path].map((c) => (next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');

function send(base: URL, agent: http.Agent, method: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One entry per series of the orchestrator's own metrics: name (histogram suffixes folded) and labels (without `le`). */
async function seriesOf(baseUrl: string): Promise<{ series: Set<string>; routes: Set<string> }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const series = new Set<string>();
  const routes = new Set<string>();
  for (const sample of parseExposition(text)) {
    if (!sample.name.startsWith('llmo_')) continue;
    const { le: _le, ...labels } = sample.labels;
    series.add(`${sample.name.replace(/_(bucket|sum|count)$/, '')}${JSON.stringify(Object.entries(labels).sort())}`);
    if (sample.name === `${METRICS.httpRequestDuration.name}_count`) routes.add(labels.route ?? '');
  }
  return { series, routes };
}

describe.each([
  { name: 'without API keys', env: {} as Record<string, string> },
  { name: 'with API_KEYS set', env: { API_KEYS: KEY } },
])('the route label of the request duration histogram, $name', ({ env }) => {
  let stack: TestStack;
  let agent: http.Agent;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env });
    agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  });
  afterAll(async () => {
    agent?.destroy();
    await stack?.close();
  });

  /** Runs `count` requests, 8 at a time, each made by `make(i)`. */
  async function run(count: number, make: (i: number) => { method: string; path: string; withKey: boolean }): Promise<Map<number, number>> {
    const base = new URL(stack.baseUrl);
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < count; i = next++) {
          const { method, path, withKey } = make(i);
          const status = await send(base, agent, method, path, withKey ? { 'x-api-key': KEY } : {});
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    return statuses;
  }

  it('stays within a few new series through 2,000 requests with random paths, casing and methods', async () => {
    // Every method on every shape once, as written in the code, with and without the key: the
    // series that requests may legitimately make.
    const canonical = METHODS_SENT.flatMap((method) => SHAPES.flatMap((shape) => [true, false].map((withKey) => ({ method, path: shape(() => 'x'), withKey }))));
    await run(canonical.length, (i) => canonical[i]!);
    const before = await seriesOf(stack.baseUrl);

    const next = random(13);
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
    const word = () => Math.floor(next() * 36 ** 6).toString(36);
    const statuses = await run(2000, () => ({
      method: pick(METHODS_SENT),
      path: scramble(pick(SHAPES)(word), next),
      withKey: next() < 0.5,
    }));
    const after = await seriesOf(stack.baseUrl);

    // The requests reached the app: answered by routes, the guard (401 with keys) and 404s alike.
    expect([...statuses.keys()].every((status) => status >= 200 && status < 600)).toBe(true);
    const added = [...after.series].filter((series) => !before.series.has(series));
    expect(added.length, added.join('\n')).toBeLessThanOrEqual(10);
    expect([...after.routes].filter((route) => !before.routes.has(route))).toEqual([]);
  });
});
