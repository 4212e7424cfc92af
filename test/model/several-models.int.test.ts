import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { startWorkerService, type WorkerService } from '../../worker/worker-service.ts';
import { freePort } from '../../core/local-redis.ts';
import { startRole, stopRole } from '../support/processes.ts';
import { http, pollUntilDone, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

/**
 * Several models in one deployment (docs/models.md), through the real stack: one API, workers that
 * serve some of the models each, real llama.cpp on stories260K, a second copy of it under another
 * id, and builtin:tiny. Every model is planned on one pool thread of one llama.cpp thread.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-models-'));
const copy = path.join(dir, 'stories-copy.gguf');
const modelsFile = path.join(dir, 'models.yml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const threads = 'pool_threads: 1\n    llama_threads: 1\n    context_size: 256';

function writeModelsFile(): void {
  copyFileSync(TINY_MODEL, copy);
  writeFileSync(
    modelsFile,
    `models:
  - id: story
    source: ${TINY_MODEL}
    aliases: [gpt-4o-mini, storyteller]
    ${threads}
  - id: tiny
    source: builtin:tiny
    ${threads}
  - id: story-copy
    source: ${copy}
    ${threads}
  - id: unserved
    source: builtin:tiny
    ${threads}
  - id: embedder
    source: builtin:tiny
    kind: embedding
    ${threads}
`,
  );
}

async function startWorker(stack: TestStack, env: Record<string, string>): Promise<WorkerService> {
  const config = loadConfig({ ...Object.fromEntries(Object.entries(stack.config).map(([k, v]) => [k, String(v)])), ...env });
  return await startWorkerService({ ...stack.config, ...config, REDIS_URL: stack.config.REDIS_URL }, stack.config.REDIS_URL!, createLogger('test', stack.config.LOG_LEVEL));
}

/** Every job's final view, polled a few times a second (one request per unfinished job each round). */
async function allDone(stack: TestStack, ids: string[], timeoutMs: number): Promise<any[]> {
  const views = new Map<string, any>();
  const deadline = Date.now() + timeoutMs;
  while (views.size < ids.length) {
    if (Date.now() > deadline) throw new Error(`${ids.length - views.size} of ${ids.length} jobs unfinished after ${timeoutMs} ms`);
    for (const id of ids.filter((i) => !views.has(i))) {
      const { status, body } = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${id}`);
      expect(status, JSON.stringify(body)).toBe(200);
      if (body.status !== 'waiting' && body.status !== 'active') views.set(id, body);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return ids.map((id) => views.get(id));
}

const complete = (stack: TestStack, model: string, prompt = 'Once upon a time') =>
  http(stack.baseUrl, 'POST', '/v1/completions', { model, prompt, max_tokens: 6, temperature: 0, cache: false });

describe('a deployment of several models (MODELS_FILE)', () => {
  let stack: TestStack;
  let storyWorker: WorkerService;
  let otherWorker: WorkerService;

  beforeAll(async () => {
    writeModelsFile();
    stack = await startStack({ worker: false, env: { MODELS_FILE: modelsFile } });
    storyWorker = await startWorker(stack, { WORKER_MODELS: 'story' });
    otherWorker = await startWorker(stack, { WORKER_MODELS: 'tiny,story-copy' });
    await stack.api.models.refresh();
  }, 120_000);
  afterAll(async () => {
    await storyWorker?.close(0);
    await otherWorker?.close(0);
    await stack?.close();
  });

  it('answers with each model, under its own id', async () => {
    for (const model of ['story', 'tiny', 'story-copy']) {
      const res = await complete(stack, model);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.model).toBe(model);
      expect(res.body.choices[0].text.length).toBeGreaterThan(0);
    }
    // The two copies of stories260K write the same story; builtin:tiny writes noise.
    const [story, storyCopy] = await Promise.all([complete(stack, 'story'), complete(stack, 'story-copy')]);
    expect(storyCopy.body.choices[0].text).toBe(story.body.choices[0].text);
  });

  it('resolves aliases to their model, on the OpenAI and the native API', async () => {
    const alias = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 });
    expect(alias.status, JSON.stringify(alias.body)).toBe(200);
    expect(alias.body.model).toBe('story');
    const native = await http(stack.baseUrl, 'POST', '/api/v1/generate', { model: 'storyteller', prompt: 'The dog', max_tokens: 4, temperature: 0 });
    expect(native.status, JSON.stringify(native.body)).toBe(200);
    expect(native.body.model).toBe('story');
    const tiny = await http(stack.baseUrl, 'POST', '/api/v1/generate', { model: 'tiny', prompt: 'The dog', max_tokens: 4, temperature: 0 });
    expect(tiny.body.model).toBe('tiny');
  });

  it('answers 404 model_not_found for an unknown model, in each API\'s shape, and queues nothing', async () => {
    const before = await stack.api.lanes.waitingJobs();
    const openai = await complete(stack, 'gpt-5');
    expect(openai.status).toBe(404);
    expect(openai.body.error).toMatchObject({ code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
    const native = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model: 'gpt-5', prompt: 'x' });
    expect(native.status).toBe(404);
    expect(native.body.error.code).toBe('model_not_found');
    // An embedding model computes embeddings, and refuses to generate.
    const generate = await complete(stack, 'embedder');
    expect(generate.status).toBe(400);
    expect(generate.body.error).toMatchObject({ code: 'model_not_supported', param: 'model' });
    expect(await stack.api.lanes.waitingJobs()).toBe(before);
    // Nobody serves it here: the job waits in its model's queue.
    const embed = await http(stack.baseUrl, 'POST', '/api/v1/embeddings', { model: 'embedder', input: 'x', timeout_ms: 0 });
    expect(embed.status, JSON.stringify(embed.body)).toBe(202);
    expect(await stack.api.lanes.lane('embedder').queue.getJobState(embed.body.id)).toMatch(/waiting|prioritized/);
  });

  it('shows one queue per model in Bull Board', async () => {
    const port = await freePort();
    const board = await startRole('dashboard', {
      REDIS_URL: stack.config.REDIS_URL!,
      REDIS_PREFIX: stack.config.REDIS_PREFIX,
      MODELS_FILE: modelsFile,
      DASHBOARD_PORT: String(port),
      DASHBOARD_PASSWORD: 'board-password-for-tests',
    });
    try {
      const auth = { authorization: `Basic ${Buffer.from('admin:board-password-for-tests').toString('base64')}` };
      const res = await http(`http://127.0.0.1:${port}`, 'GET', '/admin/queues/api/queues', undefined, auth);
      expect(res.status).toBe(200);
      expect(res.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(
        ['generate-batches', 'generate-embedder', 'generate-story', 'generate-story-copy', 'generate-tiny', 'generate-unserved'].sort(),
      );
    } finally {
      await stopRole(board);
    }
  });

  it('runs each job on a worker that serves its model, and no other', async () => {
    const submitted: { id: string; model: string }[] = [];
    for (let i = 0; i < 18; i += 1) {
      const model = ['story', 'tiny', 'story-copy'][i % 3]!;
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model, prompt: `Tale ${i}`, max_tokens: 4, cache: false });
      expect(res.status).toBe(202);
      submitted.push({ id: res.body.id, model });
    }
    for (const { id } of submitted) expect((await pollUntilDone(stack.baseUrl, id)).status).toBe('completed');
    for (const { id, model } of submitted) {
      const job = await Job.fromId(stack.api.lanes.lane(model).queue, id);
      expect(job?.processedBy, `${model} job ${id}`).toBe(model === 'story' ? storyWorker.id : otherWorker.id);
    }
  });

  it('lists every configured model with the workers that loaded it and the jobs waiting for it', async () => {
    // Nobody serves `unserved`: its jobs wait, and the list says so.
    for (const prompt of ['a', 'b']) expect((await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model: 'unserved', prompt })).status).toBe(202);
    for (const route of ['/v1/models', '/api/v1/models']) {
      const res = await http(stack.baseUrl, 'GET', route);
      expect(res.status).toBe(200);
      const byId = Object.fromEntries((res.body.data as { id: string }[]).map((model) => [model.id, model]));
      expect(Object.keys(byId).sort()).toEqual(['embedder', 'story', 'story-copy', 'tiny', 'unserved']);
      expect(byId.embedder).toMatchObject({ kind: 'embedding', workers: 0 });
      expect(byId.story).toMatchObject({ aliases: ['gpt-4o-mini', 'storyteller'], workers: 1, loaded_by: [storyWorker.id], quantization: 'Q8_0', waiting: 0 });
      expect(byId.tiny).toMatchObject({ workers: 1, loaded_by: [otherWorker.id], random_weights: true });
      expect(byId['story-copy']).toMatchObject({ workers: 1, loaded_by: [otherWorker.id], size_bytes: expect.any(Number) });
      expect(byId.unserved).toMatchObject({ workers: 0, loaded_by: [], waiting: 2, object: 'model' });
      expect(byId.unserved).not.toHaveProperty('quantization');
    }
  });
});

describe('a worker whose two models do not fit its memory budget', () => {
  let stack: TestStack;
  let worker: WorkerService;

  beforeAll(async () => {
    // 100 clients polling at once would meet the per-client rate limit: this test is about loads.
    stack = await startStack({ worker: false, env: { MODELS_FILE: modelsFile, RATE_LIMIT_REQUESTS: '0' } });
  }, 60_000);
  afterAll(async () => {
    await worker?.close(0);
    await stack?.close();
  });

  it('completes 100 alternating requests, every one, with at most 10 loads', { timeout: 240_000 }, async () => {
    // The budget fits either model alone, not both: learnt from a worker that plans them.
    const probe = await startWorker(stack, { WORKER_MODELS: 'story,tiny', WORKER_MEMORY_BUDGET: String(2 ** 40) });
    const sizes = Object.values(probe.host.plannedBytes);
    await probe.close(0);
    const budget = Math.max(...sizes);
    expect(budget).toBeLessThan(sizes.reduce((a, b) => a + b, 0));

    worker = await startWorker(stack, { WORKER_MODELS: 'story,tiny', WORKER_MEMORY_BUDGET: String(budget), MODEL_SWITCH_AFTER_MS: '300' });
    expect(worker.host.onDemand).toBe(true);
    const loadsAtStart = worker.host.loads;
    const started = Date.now();
    const ids = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model: i % 2 === 0 ? 'story' : 'tiny', prompt: `Story ${i}`, max_tokens: 8, cache: false });
        expect(res.status).toBe(202);
        return res.body.id as string;
      }),
    );
    const done = await allDone(stack, ids, 150_000);
    const models = done.map((job) => job.result?.model);
    expect(done.map((job) => job.status)).toEqual(Array(100).fill('completed'));
    expect(models.filter((model) => model === 'story')).toHaveLength(50);
    expect(models.filter((model) => model === 'tiny')).toHaveLength(50);
    const loads = worker.host.loads;
    console.log(`100 alternating requests, 2 models, budget ${budget} bytes: ${loads} loads (${loadsAtStart} at start) in ${Date.now() - started} ms`);
    expect(loads).toBeLessThanOrEqual(10);
    // Each switch loads one model; the counter the worker exports agrees.
    const metrics = await http(stack.baseUrl, 'GET', '/metrics');
    const exported = [...String(metrics.body).matchAll(/^llmo_model_loads_total\{model="(story|tiny)"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
    expect(exported).toBeGreaterThanOrEqual(loads);
  });
});
