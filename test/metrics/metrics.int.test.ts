import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { METRICS } from '../../core/metrics/names.ts';
import { startMetricsServer, type MetricsServer } from '../../core/metrics/server.ts';
import { createQueue, GENERATE_JOB, type GenerateQueue } from '../../core/queue.ts';
import { startWorkerService, type WorkerService } from '../../worker/worker-service.ts';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';
import { Scrape } from './exposition.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const PROMPTS = ['Once upon a time', 'The little dog', 'Lily went to the park'];

/**
 * The API and a worker in this process share the process registry, as in `npm start`; other
 * test files may have counted before, so every counter is read as an increase over a baseline.
 */
describe('/metrics after real jobs', () => {
  let stack: TestStack;
  let worker: WorkerService | undefined;
  let metricsServer: MetricsServer;
  let queueConnection: Redis;
  let queue: GenerateQueue;
  const metricsUrl = () => `${stack.baseUrl}/metrics`;
  const queueLabel = () => ({ queue: stack.config.QUEUE_NAME });

  beforeAll(async () => {
    // No worker yet: jobs stay queued, so identical requests are sure to share one.
    stack = await startStack({ worker: false });
    // The jobs queued now are keyed by the model identity predicted before any worker reported; the
    // cache hit asked for later by the reported one: the worker stores each result under both.
    metricsServer = await startMetricsServer({ port: 0, host: '127.0.0.1' });
    queueConnection = new Redis(stack.config.REDIS_URL!, { maxRetriesPerRequest: null });
    queue = createQueue(stack.config, queueConnection);
  });
  afterAll(async () => {
    await worker?.close(0);
    await metricsServer?.close();
    await queue?.close();
    await queueConnection?.quit();
    await stack?.close();
  });

  it('count submissions, cache results, tokens and latencies exactly as the jobs report them', async () => {
    const before = await Scrape.of(metricsUrl());

    // Three deterministic prompts (cache misses), one duplicate in flight (coalesced), one sampled request (not cacheable).
    const submitted: string[] = [];
    for (const prompt of PROMPTS) {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 24, temperature: 0 });
      expect(res.status).toBe(202);
      submitted.push(res.body.id);
    }
    const duplicate = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: PROMPTS[0], max_tokens: 24, temperature: 0 });
    expect(duplicate.body.id).toBe(submitted[0]);
    const sampled = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'A big red ball', max_tokens: 24, temperature: 0.8 });
    submitted.push(sampled.body.id);

    const queued = await Scrape.of(metricsUrl());
    expect(queued.value(METRICS.queueJobs.name, { ...queueLabel(), state: 'prioritized' })).toBe(4);
    expect(queued.value(METRICS.queueJobs.name, { ...queueLabel(), state: 'active' })).toBe(0);

    worker = await startWorkerService(stack.config, stack.config.REDIS_URL!, createLogger('test', 'silent'));
    await Promise.all(submitted.map((id) => pollUntilDone(stack.baseUrl, id, 60_000)));
    // Read again once finished: a poll can see the state change a moment before the result.
    const jobs = await Promise.all(submitted.map(async (id) => (await http(stack.baseUrl, 'GET', `/api/v1/jobs/${id}`)).body));
    expect(jobs.map((job) => job.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    const hit = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: PROMPTS[1], max_tokens: 24, temperature: 0 });
    expect(hit.status).toBe(200);

    const after = await Scrape.of(metricsUrl());
    const results = jobs.map((job) => job.result);
    const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((total, r) => total + f(r), 0);
    const model = { model: worker.modelId };

    expect(after.delta(before, METRICS.jobsSubmitted.name, queueLabel())).toBe(4);
    expect(after.delta(before, METRICS.cacheRequests.name, { result: 'miss' })).toBe(3);
    expect(after.delta(before, METRICS.cacheRequests.name, { result: 'coalesced' })).toBe(1);
    expect(after.delta(before, METRICS.cacheRequests.name, { result: 'hit' })).toBe(1);

    expect(after.delta(before, METRICS.generationTokens.name, model)).toBe(sum((r) => r.usage.completion_tokens));
    expect(after.delta(before, METRICS.promptTokens.name, model)).toBe(sum((r) => r.usage.prompt_tokens));
    for (const reason of ['stop', 'length']) {
      expect(after.delta(before, METRICS.jobsCompleted.name, { ...queueLabel(), finish_reason: reason })).toBe(
        results.filter((r) => r.finish_reason === reason).length,
      );
    }

    const count = (name: string, labels: Record<string, string>) => after.delta(before, `${name}_count`, labels);
    const seconds = (name: string, labels: Record<string, string>) => after.delta(before, `${name}_sum`, labels);
    expect(count(METRICS.queueWait.name, queueLabel())).toBe(4);
    expect(count(METRICS.e2eLatency.name, model)).toBe(4);
    expect(count(METRICS.generationDuration.name, model)).toBe(4);
    expect(count(METRICS.timeToFirstToken.name, model)).toBe(results.filter((r) => r.usage.completion_tokens > 0).length);
    expect(count(METRICS.timePerOutputToken.name, model)).toBe(results.filter((r) => r.usage.completion_tokens > 1).length);
    expect(seconds(METRICS.queueWait.name, queueLabel())).toBeCloseTo(sum((r) => r.timings.queued_ms) / 1000, 6);
    expect(seconds(METRICS.timeToFirstToken.name, model)).toBeCloseTo(sum((r) => r.timings.ttft_ms) / 1000, 6);
    expect(seconds(METRICS.generationDuration.name, model)).toBeCloseTo(sum((r) => r.timings.generation_ms) / 1000, 6);
    // End to end covers the queue wait and the generation of each job (Date.now() has 1 ms steps: 2 ms slack per job).
    const covered = sum((r) => r.timings.queued_ms + r.timings.generation_ms) / 1000;
    expect(seconds(METRICS.e2eLatency.name, model)).toBeGreaterThanOrEqual(covered - 0.002 * results.length);
    // Every observation lands in the +Inf bucket: the bucket series agree with the count.
    expect(after.delta(before, `${METRICS.e2eLatency.name}_bucket`, { ...model, le: '+Inf' })).toBe(4);

    expect(after.value(METRICS.queueJobs.name, { ...queueLabel(), state: 'completed' })).toBe(4);
    expect(after.value(METRICS.queueJobs.name, { ...queueLabel(), state: 'prioritized' })).toBe(0);
    expect(after.value(METRICS.sequencesCapacity.name, model)).toBe(worker.pool.capacity);
    expect(after.value(METRICS.sequencesBusy.name, model)).toBe(0);
    expect(after.matching(METRICS.modelInfo.name, { model: worker.modelId, architecture: 'llama' })).toHaveLength(1);
    expect(after.value(METRICS.modelLoad.name, model)).toBeGreaterThan(0);

    expect(after.delta(before, `${METRICS.httpRequestDuration.name}_count`, { method: 'POST', route: '/api/v1/jobs' })).toBe(6);
    expect(after.delta(before, `${METRICS.httpRequestDuration.name}_count`, { method: 'GET', route: '/api/v1/jobs/:id' })).toBeGreaterThanOrEqual(4);
  });

  it('count a waiting job cancelled by a client, and a job failed for good', async () => {
    await worker?.close(0);
    worker = undefined;
    const before = await Scrape.of(metricsUrl());

    const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Never run', max_tokens: 8, cache: false });
    expect((await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${res.body.id}`)).status).toBe(200);

    // A job without prompt or messages is refused by the worker as a deterministic failure: no retry.
    const bad = await queue.add(
      GENERATE_JOB,
      { sampling: { max_tokens: 8, temperature: 0, top_p: 1, top_k: 0, stop: [] }, acceptedAt: Date.now() },
      { jobId: randomUUID() },
    );
    worker = await startWorkerService(stack.config, stack.config.REDIS_URL!, createLogger('test', 'silent'));
    const failed = await pollUntilDone(stack.baseUrl, bad.id!, 30_000);
    expect(failed.status).toBe('failed');

    const after = await Scrape.of(metricsUrl());
    expect(after.delta(before, METRICS.jobsCancelled.name, queueLabel())).toBe(1);
    expect(after.delta(before, METRICS.jobsFailed.name, queueLabel())).toBe(1);
    expect(after.delta(before, METRICS.jobsRetried.name, queueLabel())).toBe(0);
    expect(after.value(METRICS.queueJobs.name, { ...queueLabel(), state: 'failed' })).toBe(1);
  });

  it('serve the same registry on the worker metrics server, with /health, and no label from a request', async () => {
    const base = `http://127.0.0.1:${metricsServer.port}`;
    const fromServer = await Scrape.of(`${base}/metrics`);
    expect(fromServer.has(METRICS.generationTokens.name)).toBe(true);
    expect(fromServer.has('process_cpu_seconds_total')).toBe(true);
    expect((await http(base, 'GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await http(base, 'GET', '/elsewhere')).status).toBe(404);

    for (const sample of fromServer.samples) {
      for (const value of Object.values(sample.labels)) {
        expect(value, sample.name).not.toMatch(UUID);
        for (const prompt of PROMPTS) expect(value, sample.name).not.toContain(prompt);
      }
    }
  });
});
