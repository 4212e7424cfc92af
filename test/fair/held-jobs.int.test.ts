import { Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FairQueue } from '../../core/fair/fair-queue.ts';
import { redisKeys } from '../../core/keys.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { API_KEYS, auth, submitInOrder } from './tenants.ts';

const JOB = { prompt: 'Once upon a time', max_tokens: 4, cache: false };

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** API alone (nothing takes jobs), a ready set of `depth` jobs. */
async function apiOnly(env: Record<string, string>): Promise<TestStack> {
  stack = await startStack({ worker: false, env: { API_KEYS, ...env } });
  return stack;
}

const keysOf = (s: TestStack) => redisKeys(s.config.REDIS_PREFIX);
const state = (s: TestStack, id: string) => s.api.queue.getJobState(id);
const backlog = (s: TestStack, tenant: string) => s.redis.zrange(keysOf(s).fairBacklog(tenant), 0, -1);

/** The fair schedule's keys that exist now. */
async function fairKeys(s: TestStack): Promise<string[]> {
  return (await s.redis.keys(`${s.config.REDIS_PREFIX}:fair:*`)).sort();
}

describe('Held jobs', () => {
  it('are held beyond the ready set, as delayed jobs in their tenant\'s backlog, in priority class then arrival order', async () => {
    const s = await apiOnly({ FAIR_READY_DEPTH: '2' });
    const ready = await submitInOrder(s, 'a', [JOB, JOB]);
    const routine = await submitInOrder(s, 'a', [
      { ...JOB, priority: 9 },
      { ...JOB, priority: 9 },
      { ...JOB, priority: 9 },
    ]);
    const [urgent] = await submitInOrder(s, 'a', [{ ...JOB, priority: 1 }]);

    expect(await Promise.all(ready.map((id) => state(s, id)))).toEqual(['prioritized', 'prioritized']);
    expect(await Promise.all([...routine, urgent!].map((id) => state(s, id)))).toEqual(['delayed', 'delayed', 'delayed', 'delayed']);
    expect(await backlog(s, 'a')).toEqual([urgent, ...routine]);
    // Their positions say the same: after the ready set, the priority-1 job first.
    const positions = await Promise.all([...ready, urgent!, ...routine].map(async (id) => (await http(s.baseUrl, 'GET', `/api/v1/jobs/${id}`, undefined, auth('a'))).body.queue_position));
    expect(positions).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('of one tenant are admitted by priority: a priority-1 job before the earlier priority-9 ones', async () => {
    const s = await apiOnly({ FAIR_READY_DEPTH: '2' });
    const ready = await submitInOrder(s, 'a', [JOB, JOB]);
    const routine = await submitInOrder(s, 'a', [
      { ...JOB, priority: 9 },
      { ...JOB, priority: 9 },
    ]);
    const [urgent] = await submitInOrder(s, 'a', [{ ...JOB, priority: 1 }]);

    // A cancel makes room in the ready set, and the admission that follows fills it.
    expect((await http(s.baseUrl, 'DELETE', `/api/v1/jobs/${ready[0]}`, undefined, auth('a'))).body.status).toBe('cancelled');
    expect(await state(s, urgent!)).toBe('prioritized');
    expect(await Promise.all(routine.map((id) => state(s, id)))).toEqual(['delayed', 'delayed']);
    expect(await backlog(s, 'a')).toEqual(routine);
  });

  it('leave their backlog when cancelled, and the schedule\'s keys go with the last of them', async () => {
    const s = await apiOnly({ FAIR_READY_DEPTH: '1' });
    const [first, second, third] = await submitInOrder(s, 'a', [JOB, JOB, JOB]);
    const [other] = await submitInOrder(s, 'b', [JOB]);
    expect(await backlog(s, 'a')).toEqual([second, third]);
    expect(await fairKeys(s)).toEqual([`${s.config.REDIS_PREFIX}:fair:backlog:a`, `${s.config.REDIS_PREFIX}:fair:backlog:b`, `${s.config.REDIS_PREFIX}:fair:held`, `${s.config.REDIS_PREFIX}:fair:tenants`]);

    expect((await http(s.baseUrl, 'DELETE', `/api/v1/jobs/${second}`, undefined, auth('a'))).body.status).toBe('cancelled');
    expect(await backlog(s, 'a')).toEqual([third]);
    expect(await s.redis.hexists(keysOf(s).fairHeld, second!)).toBe(0);
    expect(await s.redis.zrange(keysOf(s).fairTenants, 0, -1)).toEqual(['a', 'b']);

    expect((await http(s.baseUrl, 'DELETE', `/api/v1/jobs/${third}`, undefined, auth('a'))).body.status).toBe('cancelled');
    expect(await s.redis.zrange(keysOf(s).fairTenants, 0, -1)).toEqual(['b']);
    // The ready job's cancel leaves room, which b's held job takes; nothing is held any more.
    expect((await http(s.baseUrl, 'DELETE', `/api/v1/jobs/${first}`, undefined, auth('a'))).body.status).toBe('cancelled');
    expect(await state(s, other!)).toBe('prioritized');
    expect(await fairKeys(s)).toEqual([]);
  });

  it('are promoted by BullMQ itself after MAX_WAIT_BEFORE_BOOST_SECONDS, even when no admission runs: none waits forever', { timeout: 30_000 }, async () => {
    const s = await apiOnly({ FAIR_READY_DEPTH: '1', MAX_WAIT_BEFORE_BOOST_SECONDS: '1' });
    // No admission from here on: not the API's timer, and the worker below is BullMQ's bare one.
    s.api.admission.close();
    const [ready, held] = await submitInOrder(s, 'a', [JOB, JOB]);
    expect(await state(s, held!)).toBe('delayed');

    const connection = new Redis(s.config.REDIS_URL!, { maxRetriesPerRequest: null });
    const processed: string[] = [];
    const bare = new Worker(
      s.config.QUEUE_NAME,
      async (job) => {
        processed.push(job.id!);
        return { text: '' };
      },
      { connection: connection as ConnectionOptions, prefix: s.config.REDIS_PREFIX },
    );
    try {
      for (let polls = 0; (await state(s, held!)) !== 'completed'; polls++) {
        if (polls > 200) throw new Error(`the held job is still ${await state(s, held!)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await bare.close();
      await connection.quit();
    }
    expect(processed).toEqual([ready, held]);
    // Its backlog entry outlived it; the next admission drops it without promoting anything.
    expect(await backlog(s, 'a')).toEqual([held]);
    const fair = new FairQueue({ redis: s.redis, queue: s.api.queue, keys: keysOf(s), readyDepth: 1, boostAfterMs: 1000, logger: s.api.deps.logger });
    expect(await fair.admit()).toEqual({ admitted: 0, backlogged: 0 });
    expect(await fairKeys(s)).toEqual([]);
  });
});
