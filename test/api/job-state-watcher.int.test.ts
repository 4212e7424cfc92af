import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStateWatcher } from '../../api/job-state-watcher.ts';
import { createQueueEvents, GENERATE_JOB } from '../../core/queue.ts';
import { createRedis } from '../../core/redis.ts';
import { startStack, type TestStack } from '../support/stack.ts';

const data = { prompt: 'Watched', sampling: { max_tokens: 5 }, acceptedAt: 0 } as never;

describe('JobStateWatcher', () => {
  let stack: TestStack;
  let watcher: JobStateWatcher | undefined;
  const events = () => {
    const connection = createRedis(stack.config.REDIS_URL!, 'worker', stack.api.deps.logger, 'test-events');
    return createQueueEvents(stack.config, connection);
  };
  const start = async (options: ConstructorParameters<typeof JobStateWatcher>[1]) => {
    const queueEvents = events();
    await queueEvents.waitUntilReady();
    watcher = new JobStateWatcher({ events: queueEvents, queue: stack.api.queue, redis: stack.redis, logger: stack.api.deps.logger }, options);
    return { watcher, queueEvents };
  };
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterEach(async () => {
    watcher?.close();
    await close?.();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('learns from the queue events that a job is gone, without a check', async () => {
    const { watcher, queueEvents } = await start({ sweepMs: 600_000, freshMs: 600_000 });
    close = () => queueEvents.close();
    const job = await stack.api.queue.add(GENERATE_JOB, data);
    const watches = [watcher.watch(job.id!), watcher.watch(job.id!)];
    expect(watcher.size).toBe(1);
    expect(watches.some((watch) => watch.settled)).toBe(false);
    await job.remove();
    await Promise.all(watches.map((watch) => watch.whenSettled()));
    expect(watches.every((watch) => watch.settled)).toBe(true);
    for (const watch of watches) watch.close();
    expect(watcher.size).toBe(0);
  });

  it('learns from its periodic check what no event announced', async () => {
    const { watcher, queueEvents } = await start({ sweepMs: 100, freshMs: 600_000 });
    close = () => queueEvents.close();
    const job = await stack.api.queue.add(GENERATE_JOB, data);
    const watch = watcher.watch(job.id!);
    // The job's keys go as retention takes them: no event says so.
    await stack.redis.del(stack.api.queue.toKey(job.id!));
    await watch.whenSettled();
    expect(watch.settled).toBe(true);
    watch.close();
  });

  it('soon learns that a job finished before it was watched', async () => {
    const { watcher, queueEvents } = await start({ sweepMs: 600_000, freshMs: 50 });
    close = () => queueEvents.close();
    const job = await stack.api.queue.add(GENERATE_JOB, data);
    await job.remove();
    const watch = watcher.watch(job.id!);
    await watch.whenSettled();
    expect(watch.settled).toBe(true);
    watch.close();
  });

  it('looks again at a job that a read found still running after all', async () => {
    const { watcher, queueEvents } = await start({ sweepMs: 600_000, freshMs: 50 });
    close = () => queueEvents.close();
    const job = await stack.api.queue.add(GENERATE_JOB, data);
    const watch = watcher.watch(job.id!);
    // A stale report, as from a completion event of a job that was then retried.
    queueEvents.emit('removed', { jobId: job.id!, prev: 'waiting' }, '0-0');
    expect(watch.settled).toBe(true);
    watch.unsettle();
    expect(watch.settled).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The look found it waiting: still unsettled.
    expect(watch.settled).toBe(false);
    await job.remove();
    await watch.whenSettled();
    expect(watch.settled).toBe(true);
    watch.close();
  });

  it('stops waiting when the waiter leaves', async () => {
    const { watcher, queueEvents } = await start({ sweepMs: 600_000, freshMs: 600_000 });
    close = () => queueEvents.close();
    const watch = watcher.watch('00000000-0000-4000-8000-000000000000');
    const leave = new AbortController();
    const waiting = watch.whenSettled(leave.signal);
    leave.abort();
    await waiting;
    expect(watch.settled).toBe(false);
    watch.close();
  });
});
