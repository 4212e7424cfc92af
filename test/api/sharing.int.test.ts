import { randomUUID } from 'node:crypto';
import { Job, Worker, type ConnectionOptions } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

/**
 * Identical deterministic requests in flight share one job. No worker runs here: the test takes
 * jobs itself (BullMQ's manual processing), so a job stays active, or waiting, as long as needed.
 */
describe('a request that shares an identical job in flight', () => {
  let stack: TestStack;
  let taker: Worker;
  const body = (priority: number) => ({ prompt: `Once upon a time ${randomUUID()}`, max_tokens: 8, temperature: 0, priority });

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    taker = new Worker(stack.config.QUEUE_NAME, null, {
      connection: stack.redis.duplicate({ maxRetriesPerRequest: null }) as ConnectionOptions,
      prefix: stack.config.REDIS_PREFIX,
      lockDuration: 30_000,
    });
  });
  afterAll(async () => {
    await taker?.close(true);
    await stack?.close();
  });

  it('does not join a job that is being cancelled: it gets a job of its own', async () => {
    const request = body(5);
    const first = await http(stack.baseUrl, 'POST', '/api/v1/jobs', request);
    expect(first.status).toBe(202);
    const token = randomUUID();
    const active = await taker.getNextJob(token);
    expect(active?.id).toBe(first.body.id);

    // The taker never stops the job, so it stays active and being cancelled: DELETE answers 202.
    const cancelling = await fetch(`${stack.baseUrl}/api/v1/jobs/${first.body.id}`, { method: 'DELETE' });
    const again = await http(stack.baseUrl, 'POST', '/api/v1/jobs', request);
    expect((await cancelling.json()).status).toBe('active');

    expect(again.status).toBe(202);
    expect(again.body.id).not.toBe(first.body.id);
    expect(await stack.api.queue.getJobState(again.body.id)).toBe('prioritized');
    await active?.moveToFailed(new Error('test over'), token, false);
    await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${again.body.id}`);
  });

  it('joins a waiting job at a more urgent priority and raises the job to it', async () => {
    const request = body(9);
    const shared = await http(stack.baseUrl, 'POST', '/api/v1/jobs', request);
    const middle = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { ...body(5) });
    const joined = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { ...request, priority: 2 });
    expect(joined.body.id).toBe(shared.body.id);
    expect((await Job.fromId(stack.api.queue, shared.body.id))?.priority).toBe(2);

    // A less urgent joiner leaves it as it is.
    await http(stack.baseUrl, 'POST', '/api/v1/jobs', { ...request, priority: 7 });
    expect((await Job.fromId(stack.api.queue, shared.body.id))?.priority).toBe(2);

    // The queue runs it before the job at priority 5 that was submitted after it, not behind it.
    const token = randomUUID();
    const next = await taker.getNextJob(token);
    expect(next?.id).toBe(shared.body.id);
    await next?.moveToFailed(new Error('test over'), token, false);
    const after = await taker.getNextJob(token);
    expect(after?.id).toBe(middle.body.id);
    await after?.moveToFailed(new Error('test over'), token, false);
  });
});
