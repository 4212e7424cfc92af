import { getLlama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, TINY_MODEL, type TestStack } from '../support/stack.ts';

const KEY = 'limits-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };

const STORY =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. ' +
  'One day, she saw a big red ball in the park. She ran to it and kicked it very high. ';

/** A prefix of a long story whose prompt (text tokens + BOS, as the model evaluates it) has exactly `tokens` tokens. */
function promptOfTokens(model: LlamaModel, tokens: number): string {
  const text = STORY.repeat(Math.ceil((tokens * 8) / STORY.length) + 1);
  const count = (prefix: string) => model.tokenize(prefix, false, 'trimLeadingSpace').length + 1;
  for (let length = tokens; length <= text.length; length += 1) {
    const prefix = text.slice(0, length);
    if (count(prefix) === tokens && !prefix.endsWith(' ')) return prefix;
  }
  throw new Error(`no prefix with ${tokens} tokens`);
}

async function pollWithKey(baseUrl: string, id: string): Promise<any> {
  for (;;) {
    const { status, body } = await http(baseUrl, 'GET', `/api/v1/jobs/${id}`, undefined, auth);
    expect(status).toBe(200);
    if (body.status !== 'waiting' && body.status !== 'active') return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('request limits', () => {
  let stack: TestStack;
  let model: LlamaModel;

  beforeAll(async () => {
    stack = await startStack({ env: { API_KEYS: KEY, BODY_LIMIT_BYTES: '4096', MAX_PROMPT_CHARS: '100000', CACHE_TTL_SECONDS: '0' } });
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    model = await llama.loadModel({ modelPath: TINY_MODEL, vocabOnly: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 413 body_too_large to a body above BODY_LIMIT_BYTES', async () => {
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'x'.repeat(5000) }, auth);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('body_too_large');
  });

  it('answers 400 invalid_unicode to bytes that are not UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"prompt": "abc'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    const response = await fetch(`${stack.baseUrl}/api/v1/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.code).toBe('invalid_unicode');
  });

  it('answers 400 invalid_unicode to an unpaired surrogate, in a value or in a key', async () => {
    for (const body of ['{"prompt": "a\\ud800b"}', '{"prompt": "ok", "\\udfff": 1}']) {
      const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', body, auth);
      expect(response.status, body).toBe(400);
      expect(response.body.error.code).toBe('invalid_unicode');
    }
    const paired = await http(stack.baseUrl, 'POST', '/api/v1/jobs', '{"prompt": "rocket \\ud83d\\ude80", "max_tokens": 2}', auth);
    expect(paired.status).toBe(202);
  });

  it('refuses a prompt of exactly the context size with 400 prompt_too_long, and queues nothing', async () => {
    const contextSize = stack.config.CONTEXT_SIZE;
    const prompt = promptOfTokens(model, contextSize);
    const before = await stack.api.deps.redis.keys(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:*`);
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 1 }, auth);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({
      code: 'prompt_too_long',
      message: `prompt is ${contextSize} tokens; the context holds ${contextSize} tokens including the generated ones`,
    });
    const generate = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: `${prompt} more words here`, max_tokens: 1 }, auth);
    expect(generate.status).toBe(400);
    expect(generate.body.error.code).toBe('prompt_too_long');
    const after = await stack.api.deps.redis.keys(`${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:*`);
    expect(after.filter((key) => /:[0-9a-f-]{36}$/.test(key))).toEqual(before.filter((key) => /:[0-9a-f-]{36}$/.test(key)));
  });

  it('accepts a prompt one token shorter, which the worker then runs to completion', async () => {
    const prompt = promptOfTokens(model, stack.config.CONTEXT_SIZE - 1);
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: 8 }, auth);
    expect(response.status).toBe(202);
    const view = await pollWithKey(stack.baseUrl, response.body.id);
    expect(view.status).toBe('completed');
    expect(view.result.usage.prompt_tokens).toBe(stack.config.CONTEXT_SIZE - 1);
    expect(view.result.usage.completion_tokens).toBe(1);
  });

  it('sets security headers and a request id on answers of every kind', async () => {
    const answers = [
      await fetch(`${stack.baseUrl}/api/health`),
      await fetch(`${stack.baseUrl}/api/v1/jobs/nope`),
      await fetch(`${stack.baseUrl}/api/v1/jobs/nope`, { headers: auth }),
      await fetch(`${stack.baseUrl}/api/v1/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{bad' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 404, 400]);
    for (const answer of answers) {
      expect(answer.headers.get('x-powered-by')).toBeNull();
      expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(answer.headers.get('strict-transport-security')).toContain('max-age=');
      expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
  });
});
