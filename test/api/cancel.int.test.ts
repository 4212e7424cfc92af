import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { startWorkerService, type WorkerService } from '../../worker/worker-service.ts';
import { http, pollUntilDone, redisUrl, startStack, type TestStack } from '../support/stack.ts';

async function waitForTokens(baseUrl: string, id: string, atLeast: number) {
  for (;;) {
    const { body } = await http(baseUrl, 'GET', `/api/v1/jobs/${id}`);
    if (body.status === 'active' && body.progress.tokens >= atLeast) return body;
    if (body.status !== 'waiting' && body.status !== 'active') throw new Error(`job ended ${body.status} before cancel`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DELETE /api/v1/jobs/:id', () => {
  let stack: TestStack;
  const long = { prompt: 'Once upon a time', max_tokens: 2000, cache: false };

  beforeAll(async () => {
    // One sequence, no prefetched job, a long context: a job can be held active while another waits.
    stack = await startStack({ env: { CONTEXT_SIZE: '2048', SEQUENCES_PER_THREAD: '1', PREFETCH_PER_THREAD: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stops an active job in its worker; it ends cancelled with the partial text', async () => {
    const created = await http(stack.baseUrl, 'POST', '/api/v1/jobs', long);
    const active = await waitForTokens(stack.baseUrl, created.body.id, 1);
    const res = await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    const job = await pollUntilDone(stack.baseUrl, created.body.id);
    expect(job.status).toBe('cancelled');
    expect(job.result.finish_reason).toBe('cancelled');
    expect(job.result.usage.completion_tokens).toBeGreaterThanOrEqual(active.progress.tokens);
    expect(job.result.usage.completion_tokens).toBeLessThan(2000);
    expect(job.result.text.length).toBeGreaterThan(0);
    expect(job.finished_at).toBeDefined();
  });

  it('leaves the thread serving the next job with the same model (no reload, no crash)', async () => {
    const loadMs = stack.worker!.pool.model.loadMs;
    const res = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'Once upon a time', max_tokens: 12, temperature: 0, cache: false });
    expect(res.status).toBe(200);
    expect(res.body.finish_reason).toBe('length');
    expect(res.body.text).toMatch(/^, there was a little/);
    expect(stack.worker!.pool.model.loadMs).toBe(loadMs);
  });

  it('removes a waiting job; it reads as cancelled', async () => {
    const blocker = await http(stack.baseUrl, 'POST', '/api/v1/jobs', long);
    await waitForTokens(stack.baseUrl, blocker.body.id, 1);
    const queued = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { ...long, max_tokens: 5 });
    const res = await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${queued.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('cancelled');
    expect((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${queued.body.id}`)).body.status).toBe('cancelled');
    expect(await stack.api.queue.getJob(queued.body.id)).toBeUndefined();
    await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${blocker.body.id}`);
  });

  it('answers 409 for a finished job and 404 for an unknown one', async () => {
    const done = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'Hi', max_tokens: 2, cache: false });
    const res = await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${done.body.id}`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('job_finished');
    const unknown = await http(stack.baseUrl, 'DELETE', '/api/v1/jobs/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
  });
});

describe('DELETE /api/v1/jobs/:id of a prefetched job', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ env: { CONTEXT_SIZE: '2048', SEQUENCES_PER_THREAD: '1', PREFETCH_PER_THREAD: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stops a job waiting in its pool thread for a sequence before it starts: cancelled, no text', async () => {
    const blocker = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 2000, cache: false });
    await waitForTokens(stack.baseUrl, blocker.body.id, 1);
    const prefetched = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 50, cache: false });
    // Taken by the worker (active) while the only sequence is busy.
    for (;;) {
      const { body } = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${prefetched.body.id}`);
      if (body.status === 'active') break;
      expect(body.status).toBe('waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(stack.worker!.pool.busy).toBe(1);
    const res = await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${prefetched.body.id}`);
    expect(res.status).toBe(200);
    const job = await pollUntilDone(stack.baseUrl, prefetched.body.id);
    expect(job.status).toBe('cancelled');
    expect(job.result).toMatchObject({ text: '', finish_reason: 'cancelled', usage: { completion_tokens: 0 } });

    // The blocker was generating all along and still is; cancelled, it ends with its text.
    expect((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${blocker.body.id}`)).body.status).toBe('active');
    await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${blocker.body.id}`);
    const ended = await pollUntilDone(stack.baseUrl, blocker.body.id);
    expect(ended.result.text.length).toBeGreaterThan(0);
  });
});

describe('a job cancelled just as a worker takes it', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // No worker yet: the jobs wait until one starts.
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' }, worker: false });
  });
  afterAll(async () => {
    await worker?.close(0);
    await stack?.close();
  });
  let worker: WorkerService | undefined;

  it('ends cancelled, not failed, even when the cancel lands before its first token', async () => {
    // Chat jobs with a long prompt: the cancel reaches the thread while the prompt is evaluated,
    // before any token (where node-llama-cpp's chat throws rather than returning what it has).
    const messages = [{ role: 'user', content: 'Once upon a time there was a little cat. '.repeat(120) }];
    const answers = [0, 1, 2, 3].map((seed) =>
      fetch(`${stack.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: stack.api.deps.modelId, messages, max_tokens: 200, seed, cache: false }),
      }),
    );
    let ids: string[] = [];
    while (ids.length < 4) {
      await new Promise((r) => setTimeout(r, 20));
      ids = (await stack.api.queue.getJobs(['waiting', 'prioritized'])).map((job) => job.id!);
    }
    // What the API leaves when a job became active under its cancel: the flag the worker reads.
    for (const id of ids) await stack.redis.set(stack.api.deps.keys.cancelFlag(id), '1', 'EX', 60);
    worker = await startWorkerService(stack.config, stack.config.REDIS_URL ?? redisUrl(), createLogger('test', 'silent'));
    for (const id of ids) {
      const job = await pollUntilDone(stack.baseUrl, id);
      expect(job.status).toBe('cancelled');
      expect(job.result.finish_reason).toBe('cancelled');
      // Run once: a cancel is not a failure to retry.
      expect((await stack.api.queue.getJob(id))?.attemptsStarted).toBe(1);
    }
    for (const answer of await Promise.all(answers)) expect(answer.status).toBe(200);
  });
});
