import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster, recordFigures, request } from './support/cluster.ts';

const KEY_A = 'replica-key-aaaaaaaaaaaaaaaa';
const KEY_B = 'replica-key-bbbbbbbbbbbbbbbb';
const LIMIT = 10;
const BURST = 25;

describe('rate limits across two API processes', () => {
  let cluster: ChaosCluster;
  let replicas: string[];

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_REQUESTS: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' });
    replicas = (await Promise.all([cluster.startApi(), cluster.startApi()])).map((api) => api.baseUrl);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('lets a burst through up to the shared limit, answers 429 with Retry-After beyond it, and spares other keys', async () => {
    const job = '/api/v1/jobs/00000000-0000-4000-8000-000000000000';
    // The burst alternates between the replicas, in parallel, as a load balancer spreads it.
    const burst = await Promise.all(
      Array.from({ length: BURST }, (_, i) => request(replicas[i % 2]!, 'GET', job, { headers: { authorization: `Bearer ${KEY_A}` } })),
    );
    const passed = burst.filter((r) => r.status === 404);
    const limited = burst.filter((r) => r.status === 429);
    const other = await Promise.all(replicas.map((url) => request(url, 'GET', job, { headers: { 'x-api-key': KEY_B } })));
    const afterBurst = await Promise.all(replicas.map((url) => request(url, 'GET', job, { headers: { authorization: `Bearer ${KEY_A}` } })));

    recordFigures('rate-limit', {
      limit: LIMIT,
      burst: BURST,
      replicas: replicas.length,
      passedOnReplica: [0, 1].map((r) => burst.filter((b, i) => i % 2 === r && b.status === 404).length),
      limited: limited.length,
      otherKey: other.map((r) => r.status),
    });

    expect(passed.length + limited.length).toBe(BURST);
    // Each replica alone would have let LIMIT through: together they let exactly LIMIT through.
    expect(passed.length).toBe(LIMIT);
    for (const answer of limited) {
      expect(answer.body.error.code).toBe('rate_limited');
      const retryAfter = Number(answer.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect(other.map((r) => r.status)).toEqual([404, 404]);
    expect(afterBurst.map((r) => r.status)).toEqual([429, 429]);
  });
});
