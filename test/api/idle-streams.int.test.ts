import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRedis } from '../../core/local-redis.ts';
import { readSse, type WireEvent } from '../openai/sse.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

const FEW = 10;
const MANY = 1000;
/** Longer than every periodic read of an API process (XREAD blocks, the watcher's sweep, the stream followers' 2 s). */
const WINDOW_MS = 6000;

interface Follower {
  events: WireEvent[];
  ended: Promise<void>;
  abort(): void;
}

async function follow(stack: TestStack, id: string): Promise<Follower> {
  const controller = new AbortController();
  const response = await fetch(`${stack.baseUrl}/api/v1/jobs/${id}/events`, { signal: controller.signal });
  expect(response.status).toBe(200);
  const events: WireEvent[] = [];
  const ended = readSse(response, (event) => void events.push(event)).catch(() => undefined);
  return { events, ended, abort: () => controller.abort() };
}

/** Commands Redis executed (Lua scripts' included) while `ms` passed, less the two INFOs that count them. */
async function commandsOver(admin: Redis, ms: number): Promise<number> {
  const total = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
  const before = await total();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await total()) - before - 1;
}

describe('Event streams waiting on a queued job', () => {
  // A Redis of its own: the commands counted are this API's alone.
  let redis: LocalRedis;
  let admin: Redis;
  let stack: TestStack;
  const followers: Follower[] = [];

  beforeAll(async () => {
    redis = await LocalRedis.start();
    admin = new Redis(redis.url);
    stack = await startStack({ worker: false, env: { REDIS_URL: redis.url, MAX_STREAMS_PER_CLIENT: String(MANY + FEW) } });
  }, 30_000);
  afterAll(async () => {
    for (const follower of followers) follower.abort();
    await stack?.close();
    await admin?.quit();
    await redis?.stop();
  });

  it('cost Redis as many commands for a thousand clients as for ten, and all end when the job does', { timeout: 60_000 }, async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Nobody runs me', max_tokens: 5 });
    const open = async (count: number) => {
      for (let i = 0; i < count; i += 100) {
        followers.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => follow(stack, body.id)))));
      }
      // Past the first look at newly followed jobs and the replays of the connection burst.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    };

    await open(FEW);
    const few = await commandsOver(admin, WINDOW_MS);
    await open(MANY - FEW);
    const many = await commandsOver(admin, WINDOW_MS);

    // The handful of commands either window may have besides (a sweep or an XREAD timing out once more).
    expect(many, `${few} commands with ${FEW} clients, ${many} with ${MANY}`).toBeLessThanOrEqual(few + 15);
    expect(followers.every((follower) => follower.events.length === 0)).toBe(true);
    expect((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${body.id}`)).body.status).toBe('waiting');

    // One removal, learnt from the queue events, ends every follower.
    expect((await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${body.id}`)).body.status).toBe('cancelled');
    await Promise.all(followers.map((follower) => follower.ended));
    for (const follower of followers) {
      expect(follower.events.map((event) => event.event)).toEqual(['end']);
      expect(JSON.parse(follower.events[0]!.data).result.finish_reason).toBe('cancelled');
    }
    expect(stack.api.deps.jobStates.size).toBe(0);
  });
});
