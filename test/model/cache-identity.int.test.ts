import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { modelFingerprint } from '../../core/model/model-fingerprint.ts';
import { writeTinyModel } from '../../core/model/tiny-model.ts';
import { startWorkerService } from '../../worker/worker-service.ts';
import { addApi, http, pollUntilDone, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-identity-'));

describe('a model fingerprint', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same content under any name, and differs for files that differ only in their weights', () => {
    mkdirSync(path.join(dir, 'a'));
    mkdirSync(path.join(dir, 'b'));
    writeTinyModel(path.join(dir, 'a', 'tiny.gguf'), 1);
    writeTinyModel(path.join(dir, 'b', 'tiny.gguf'), 2);
    copyFileSync(path.join(dir, 'a', 'tiny.gguf'), path.join(dir, 'copy.gguf'));
    const a = modelFingerprint(path.join(dir, 'a', 'tiny.gguf'));
    expect(modelFingerprint(path.join(dir, 'copy.gguf'))).toBe(a);
    expect(modelFingerprint(path.join(dir, 'b', 'tiny.gguf'))).not.toBe(a);
  });
});

/**
 * Results are cached under the model's identity. A worker that serves another file of the same
 * name and quantization, or the same file with another context, must not get the old answers.
 */
describe('the result cache across a change of the served model', () => {
  let stack: TestStack;
  const greedy = { prompt: 'Once upon a time', max_tokens: 8, temperature: 0 };
  const ask = async () => (await http(stack.baseUrl, 'POST', '/api/v1/generate', greedy)).body;

  /** Replaces the stack's worker with one of other settings, and waits until the API sees it. */
  async function replaceWorker(env: Record<string, string>) {
    await stack.worker?.close(0);
    const config = Object.freeze({ ...stack.config, ...env, CONTEXT_SIZE: Number(env.CONTEXT_SIZE ?? stack.config.CONTEXT_SIZE) });
    const worker = await startWorkerService(config, stack.config.REDIS_URL!, createLogger('test', 'silent'));
    stack.worker = worker;
    const before = stack.api.deps.modelId;
    await stack.api.models.refresh();
    return { before, after: stack.api.deps.modelId };
  }

  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: TINY_MODEL, CONTEXT_SIZE: '512' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers from the cache while the same model serves', async () => {
    expect((await ask()).cached).toBe(false);
    expect((await ask()).cached).toBe(true);
  });

  it('misses after the worker serves the same file with another context size', async () => {
    await replaceWorker({ CONTEXT_SIZE: '256' });
    const answer = await ask();
    expect(answer.cached).toBe(false);
    expect((await ask()).cached).toBe(true);
  });

  it('misses after the worker serves another file of the same name and quantization', async () => {
    // Same file name as the shared model, so the same id (`stories260K:Q8_0`), but other weights.
    const other = path.join(dir, 'other', path.basename(TINY_MODEL));
    mkdirSync(path.dirname(other), { recursive: true });
    writeTinyModel(other);
    // Its Q8_0 copy goes to a directory of its own: the shared one keeps the real model's.
    const { before, after } = await replaceWorker({ MODEL: other, CONTEXT_SIZE: '256', MODELS_DIR: path.join(dir, 'other-models') });
    expect(after).toBe(before);
    expect((await ask()).cached).toBe(false);
  });
});

/**
 * API processes started before any worker key results by the model's predicted identity. The first
 * request after a worker reports must use the reported one in every process, whether or not its
 * background refresh has run yet: otherwise two processes key the same request differently and
 * the second runs it again.
 */
describe('the result cache when the first worker has just started', () => {
  let stack: TestStack;
  let second: Awaited<ReturnType<typeof addApi>> | undefined;
  const greedy = { prompt: 'Once upon a time there was', max_tokens: 6, temperature: 0 };

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { MODEL: TINY_MODEL, CONTEXT_SIZE: '512' } });
    second = await addApi(stack);
  });
  afterAll(async () => {
    await second?.close();
    await stack?.close();
  });

  it('is keyed alike by a process that has refreshed its view and one that has not', async () => {
    const predicted = stack.api.lanes.cacheIdentity(stack.api.lanes.default.model.id);
    // Queued before any worker: keyed by the predicted identity.
    const early = { prompt: 'The little dog', max_tokens: 6, temperature: 0 };
    const queued = await http(stack.baseUrl, 'POST', '/api/v1/jobs', early);
    expect(queued.status).toBe(202);
    stack.worker = await startWorkerService(stack.config, stack.config.REDIS_URL!, createLogger('test', 'silent'));
    // Only the second process reads the worker's report; the first still holds the prediction.
    await second!.api.models.refresh();
    expect(stack.api.lanes.cacheIdentity(stack.api.lanes.default.model.id)).toBe(predicted);
    expect(second!.api.lanes.cacheIdentity(second!.api.lanes.default.model.id)).not.toBe(predicted);

    const first = await http(stack.baseUrl, 'POST', '/api/v1/generate', greedy);
    expect(first.status).toBe(200);
    expect(first.body.cached).toBe(false);
    const again = await http(second!.baseUrl, 'POST', '/api/v1/generate', greedy);
    expect(again.body.cached).toBe(true);
    expect(again.body.text).toBe(first.body.text);

    // The job queued before the worker answers later requests, keyed by the reported identity, too.
    const done = await pollUntilDone(stack.baseUrl, queued.body.id);
    expect(done.status).toBe('completed');
    for (const baseUrl of [stack.baseUrl, second!.baseUrl]) {
      const later = await http(baseUrl, 'POST', '/api/v1/generate', early);
      expect(later.body.cached).toBe(true);
      expect(later.body.text).toBe(done.result.text);
    }
  });
});
