import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pollUntilDone, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-serving-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function complete(stack: TestStack, body: Record<string, unknown>) {
  const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { temperature: 0, cache: false, ...body });
  expect(res.status).toBe(202);
  const done = await pollUntilDone(stack.baseUrl, res.body.id);
  expect(done.status).toBe('completed');
  return done.result;
}

describe('GET /v1/models with USE_INT8 and an F32 model', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: TINY_MODEL, MODELS_DIR: dir } });
  });
  afterAll(() => stack?.close());

  it('lists the loaded Q8_0 model in the OpenAI list shape with its facts', async () => {
    const res = await http(stack.baseUrl, 'GET', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'list',
      data: [
        {
          id: 'stories260K:Q8_0',
          object: 'model',
          created: expect.any(Number),
          owned_by: 'llm-orchestrator',
          file: 'stories260K.q8_0.gguf',
          architecture: 'llama',
          parameters: 292_800,
          quantization: 'Q8_0',
          file_type: 7,
          context_size: 512,
          train_context_size: 2048,
          size_bytes: expect.any(Number),
          random_weights: false,
          has_chat_template: false,
          embedding_size: 64,
          load_ms: expect.any(Number),
          fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
          workers: 1,
          loaded_by: [stack.worker!.id],
          aliases: [],
          kind: 'generate',
          waiting: 0,
        },
      ],
    });
    expect(res.body.data[0].size_bytes).toBeLessThan(600_000);
    // OpenAI's `created` is in seconds.
    expect(Number.isInteger(res.body.data[0].created)).toBe(true);
    expect(res.body.data[0].created).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it('answers the same list at /api/v1/models', async () => {
    const [openAi, native] = await Promise.all([http(stack.baseUrl, 'GET', '/v1/models'), http(stack.baseUrl, 'GET', '/api/v1/models')]);
    expect(native.body.data.map((m: { id: string }) => m.id)).toEqual(openAi.body.data.map((m: { id: string }) => m.id));
  });

  it('reports Q8_0 in job results, the id the API uses too', async () => {
    const result = await complete(stack, { prompt: 'Once upon a time', max_tokens: 8 });
    expect(result.model).toBe('stories260K:Q8_0');
    expect(stack.api.deps.modelId).toBe('stories260K:Q8_0');
  });
});

describe('USE_INT8=false', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: TINY_MODEL, MODELS_DIR: dir, USE_INT8: 'false' } });
  });
  afterAll(() => stack?.close());

  it('serves the F32 original and says so', async () => {
    const result = await complete(stack, { prompt: 'Once upon a time', max_tokens: 8 });
    expect(result.model).toBe('stories260K:F32');
    const { body } = await http(stack.baseUrl, 'GET', '/v1/models');
    expect(body.data[0]).toMatchObject({ id: 'stories260K:F32', quantization: 'F32', file: 'stories260K.gguf' });
  });
});

describe('builtin:tiny', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: 'builtin:tiny', MODELS_DIR: dir } });
  });
  afterAll(() => stack?.close());

  it('loads and generates exactly the requested number of tokens', async () => {
    for (const maxTokens of [1, 17, 64]) {
      const result = await complete(stack, { prompt: 'Hello, world', max_tokens: maxTokens });
      expect(result.model).toBe('builtin-tiny:Q8_0');
      expect(result.finish_reason).toBe('length');
      expect(result.usage.completion_tokens).toBe(maxTokens);
      expect(result.text.length).toBeGreaterThanOrEqual(maxTokens);
    }
  });

  it('says in /v1/models that its weights are random', async () => {
    const { body } = await http(stack.baseUrl, 'GET', '/v1/models');
    expect(body.data[0]).toMatchObject({ id: 'builtin-tiny:Q8_0', random_weights: true, quantization: 'Q8_0' });
  });
});

describe('GET /v1/models with no worker', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: TINY_MODEL, MODELS_DIR: dir }, worker: false });
  });
  afterAll(() => stack?.close());

  it('answers an empty list', async () => {
    const res = await http(stack.baseUrl, 'GET', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ object: 'list', data: [] });
  });
});
