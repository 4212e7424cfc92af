import { randomUUID } from 'node:crypto';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READY_LINE, spawnRole, stopRole, type RoleProcess } from '../support/processes.ts';
import { deletePrefix, http, redisUrl, TEST_MODELS_DIR, TINY_MODEL } from '../support/stack.ts';

const GRACE_MS = 1000;
/** What a stop may take past the grace period: cutting connections, handing jobs back, closing Redis. */
const OVERRUN_MS = 2000;
const LONG_TOKENS = 2000;

/** Reads a server-sent event stream until `event: <name>` has arrived; the stream stays open. */
async function readUntilEvent(reader: ReadableStreamDefaultReader<Uint8Array>, name: string): Promise<void> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(`event: ${name}`)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before "event: ${name}"; it carried:\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * `npm start` stopped by SIGTERM while clients hold connections open. A stopping process lets
 * requests finish for SHUTDOWN_GRACE_MS, as its worker lets jobs finish, and then cuts what is
 * still open: an event stream or a request waiting for its result must not hold up the exit.
 */
describe('a process stopped with SIGTERM while clients wait', () => {
  const prefix = `t-stop-${randomUUID().slice(0, 8)}`;
  const queueName = `stop-${randomUUID().slice(0, 8)}`;
  let all: RoleProcess;
  let base = '';
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    all = spawnRole('all', {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      QUEUE_NAME: queueName,
      MODEL: TINY_MODEL,
      MODELS_DIR: TEST_MODELS_DIR,
      CONTEXT_SIZE: '2048',
      POOL_THREADS: '1',
      LLAMA_THREADS: '1',
      SEQUENCES_PER_THREAD: '1',
      CACHE_TTL_SECONDS: '0',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      PORT: '0',
      DASHBOARD_PASSWORD: 'not-the-point-here',
    });
    const line = await all.waitForLine(READY_LINE.all, 90_000);
    base = (JSON.parse(line) as { url: string }).url;
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue(queueName, { connection: redis as ConnectionOptions, prefix });
  }, 120_000);

  afterAll(async () => {
    if (all) await stopRole(all, 1000);
    await queue?.close();
    if (redis) {
      await deletePrefix(redis, prefix);
      await redis.quit();
    }
  });

  it(`exits 0 within SHUTDOWN_GRACE_MS + ${OVERRUN_MS} ms with an event stream open and a generate request waiting`, async () => {
    const submitted = await http(base, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: LONG_TOKENS, cache: false });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const id = submitted.body.id as string;

    const events = await fetch(`${base}/api/v1/jobs/${id}/events`);
    expect(events.status).toBe(200);
    const reader = events.body!.getReader();
    await readUntilEvent(reader, 'token');

    // A second long job, whose client waits for the result (up to 2 minutes).
    const waiting = fetch(`${base}/api/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'One day, a little dog', max_tokens: LONG_TOKENS, cache: false, timeout_ms: 120_000 }),
    }).then(
      (response) => `answered ${response.status}`,
      (error: Error) => `cut (${error.message})`,
    );
    while ((await queue.getJobCountByTypes('active', 'wait', 'prioritized')) < 2) await new Promise((r) => setTimeout(r, 20));
    expect(await queue.getJobState(id)).toBe('active');

    const signalled = performance.now();
    all.kill('SIGTERM');
    const { code, signal } = await all.exited;
    const elapsedMs = performance.now() - signalled;
    await reader.cancel().catch(() => undefined);

    expect({ code, signal }, all.lines.slice(-10).join('\n')).toEqual({ code: 0, signal: null });
    expect(elapsedMs).toBeLessThan(GRACE_MS + OVERRUN_MS);
    // Cut at the end of the grace period, not before: the jobs had it to finish, the clients too.
    expect(elapsedMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(await waiting).toMatch(/^cut/);
    // The worker's drain was honoured: the unfinished job went back to the queue, neither failed nor lost.
    expect(['waiting', 'prioritized']).toContain(await queue.getJobState(id));
  });
});
