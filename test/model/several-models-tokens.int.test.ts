import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

/**
 * With several models the API measures a prompt with the vocabulary and context of the model the
 * request names (docs/models.md): too long for that model is a 400 before anything is queued, while
 * the same prompt for a model of a larger context is accepted. No worker runs: only the API counts.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-model-tokens-'));
const modelsFile = path.join(dir, 'models.yml');
/** About 100 tokens of stories260K: over a 64-token context, well within 512. */
const PROMPT = 'Once upon a time there was a dog. '.repeat(10);

describe('prompt lengths with several models', () => {
  let stack: TestStack;
  const waiting = async (model: string) => (await stack.api.lanes.lane(model).queue.getJobCounts('waiting', 'prioritized')) as Record<string, number>;
  const queued = async (model: string) => Object.values(await waiting(model)).reduce((sum, n) => sum + n, 0);

  beforeAll(async () => {
    writeFileSync(
      modelsFile,
      `models:
  - id: story
    source: ${TINY_MODEL}
    context_size: 512
  - id: short
    source: ${TINY_MODEL}
    aliases: [short-alias]
    context_size: 64
  - id: vectors
    source: ${TINY_MODEL}
    kind: embedding
    context_size: 64
`,
    );
    stack = await startStack({ worker: false, env: { MODELS_FILE: modelsFile, RATE_LIMIT_REQUESTS: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a prompt too long for the named model's context, by id or alias, on both APIs, and queues nothing", async () => {
    for (const model of ['short', 'short-alias']) {
      const native = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model, prompt: PROMPT, max_tokens: 4, cache: false });
      expect(native.status, JSON.stringify(native.body)).toBe(400);
      expect(native.body.error.code).toBe('prompt_too_long');
      expect(native.body.error.message).toMatch(/context holds 64 tokens/);
      const openai = await http(stack.baseUrl, 'POST', '/v1/completions', { model, prompt: PROMPT, max_tokens: 4 });
      expect(openai.status).toBe(400);
      expect(openai.body.error).toMatchObject({ code: 'prompt_too_long', type: 'invalid_request_error' });
    }
    expect(await queued('short')).toBe(0);
  });

  it('accepts the same prompt for a model of a larger context, named or by default', async () => {
    const named = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model: 'story', prompt: PROMPT, max_tokens: 4, cache: false });
    expect(named.status, JSON.stringify(named.body)).toBe(202);
    const byDefault = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: PROMPT, max_tokens: 4, cache: false });
    expect(byDefault.status, JSON.stringify(byDefault.body)).toBe(202);
    expect(await queued('story')).toBe(2);
  });

  it("measures embedding inputs with the embedding model's context", async () => {
    const long = await http(stack.baseUrl, 'POST', '/v1/embeddings', { model: 'vectors', input: ['Short.', PROMPT] });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('prompt_too_long');
    expect(long.body.error.message).toMatch(/^input\[1\] is \d+ tokens; an embedding input must be shorter than the context \(64 tokens\)$/);
    expect(await queued('vectors')).toBe(0);
  });

  it('leaves to the route what is not a length question: an unknown model, generation from an embedding model', async () => {
    const unknown = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { model: 'nope', prompt: PROMPT, max_tokens: 4 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('model_not_found');
    const generation = await http(stack.baseUrl, 'POST', '/v1/completions', { model: 'vectors', prompt: PROMPT, max_tokens: 4 });
    expect(generation.status).toBe(400);
    expect(generation.body.error.code).toBe('model_not_supported');
  });

  it("checks a logit_bias against the named model's vocabulary", async () => {
    // stories260K has 512 tokens: 600 is none of them.
    const refused = await http(stack.baseUrl, 'POST', '/v1/completions', { model: 'story', prompt: 'Once', max_tokens: 4, logit_bias: { '600': 5 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'logit_bias.600' });
  });
});
