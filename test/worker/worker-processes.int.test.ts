import { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRole, stopRole, type RoleProcess } from '../support/processes.ts';
import { http, pollUntilDone, startStack, TEST_MODELS_DIR, TINY_MODEL, type TestStack } from '../support/stack.ts';

/** Worker processes, started as operators start them, next to an in-process API. */
describe('worker processes', () => {
  let stack: TestStack;
  let workers: RoleProcess[] = [];
  const workerEnv = (extra: Record<string, string> = {}) => ({
    REDIS_URL: stack.config.REDIS_URL!,
    REDIS_PREFIX: stack.config.REDIS_PREFIX,
    MODEL: TINY_MODEL,
    MODELS_DIR: TEST_MODELS_DIR,
    LLAMA_THREADS: '1',
    POOL_THREADS: '1',
    WORKER_METRICS_PORT: '0',
    ...extra,
  });

  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => stopRole(w)));
    workers = [];
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('two workers on one queue split the jobs, and all complete', async () => {
    workers = await Promise.all([startRole('worker', workerEnv()), startRole('worker', workerEnv())]);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: `Once upon a time ${i}`, max_tokens: 48, cache: false });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    const done = await Promise.all(ids.map((id) => pollUntilDone(stack.baseUrl, id, 60_000)));
    expect(done.map((j) => j.status)).toEqual(ids.map(() => 'completed'));

    const ranBy = new Map<string, number>();
    for (const id of ids) {
      const job = await Job.fromId(stack.api.queue, id);
      const worker = job?.processedBy ?? 'unknown';
      ranBy.set(worker, (ranBy.get(worker) ?? 0) + 1);
    }
    expect(ranBy.has('unknown')).toBe(false);
    expect(ranBy.size).toBe(2);
  });

  it('on SIGTERM finishes its active job, takes no new one, and exits 0', async () => {
    const worker = await startRole('worker', workerEnv({ SEQUENCES_PER_THREAD: '1', CONTEXT_SIZE: '2048' }));
    workers = [worker];
    const long = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 1500, cache: false });
    for (;;) {
      const { body } = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${long.body.id}`);
      if (body.status === 'active' && body.progress.tokens > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    worker.kill('SIGTERM');
    await worker.waitForLine('shutting down');
    const after = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'After the signal', max_tokens: 4, cache: false });

    const { code } = await worker.exited;
    expect(code).toBe(0);
    const job = await pollUntilDone(stack.baseUrl, long.body.id, 1000);
    expect(job.status).toBe('completed');
    expect(job.result.finish_reason).toBe('length');
    expect(job.result.usage.completion_tokens).toBe(1500);
    expect((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${after.body.id}`)).body.status).toBe('waiting');
  });
});
