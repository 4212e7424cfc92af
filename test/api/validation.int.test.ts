import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

describe('request validation', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { MAX_TOKENS_LIMIT: '512', MAX_PROMPT_CHARS: '1000', MAX_WAIT_MS: '5000', DEFAULT_WAIT_MS: '5000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const bad: Array<[string, unknown, string]> = [
    ['a missing prompt', { max_tokens: 5 }, 'invalid_request'],
    ['an empty prompt', { prompt: '' }, 'invalid_request'],
    ['a prompt that is not a string', { prompt: 42 }, 'invalid_request'],
    ['a prompt over the configured size', { prompt: 'x'.repeat(1001) }, 'invalid_request'],
    ['a negative max_tokens', { prompt: 'hi', max_tokens: -1 }, 'invalid_request'],
    ['a huge max_tokens', { prompt: 'hi', max_tokens: 1e12 }, 'invalid_request'],
    ['max_tokens over the configured limit', { prompt: 'hi', max_tokens: 513 }, 'invalid_request'],
    ['a fractional max_tokens', { prompt: 'hi', max_tokens: 1.5 }, 'invalid_request'],
    ['a temperature as a string', { prompt: 'hi', temperature: '0.5' }, 'invalid_request'],
    ['a temperature out of range', { prompt: 'hi', temperature: 7 }, 'invalid_request'],
    ['top_p of zero', { prompt: 'hi', top_p: 0 }, 'invalid_request'],
    ['a negative seed', { prompt: 'hi', seed: -3 }, 'invalid_request'],
    ['stop that is not a list', { prompt: 'hi', stop: 'x' }, 'invalid_request'],
    ['an empty stop string', { prompt: 'hi', stop: [''] }, 'invalid_request'],
    ['a priority out of range', { prompt: 'hi', priority: 0 }, 'invalid_request'],
    ['an unknown field', { prompt: 'hi', promt: 'typo' }, 'unknown_field'],
    ['a JSON array', [{ prompt: 'hi' }], 'invalid_body'],
  ];

  describe('POST /api/v1/jobs', () => {
    for (const [what, body, code] of bad) {
      it(`answers 400 ${code} for ${what}`, async () => {
        const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe(code);
        expect(res.body.error.message).toBeTypeOf('string');
        expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.ts:\d+/);
      });
    }

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', '{"prompt": "hi"');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'invalid_json', message: 'the request body is not valid JSON' } });
    });

    it('answers 413 for a body over the limit', async () => {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'x'.repeat(300_000) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('body_too_large');
    });

    it('answers 400 for a body sent without a JSON content type', async () => {
      const res = await fetch(`${stack.baseUrl}/api/v1/jobs`, { method: 'POST', body: 'prompt=hi' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('invalid_body');
    });
  });

  describe('POST /api/v1/generate', () => {
    it('answers 400 for a timeout_ms over the configured maximum', async () => {
      const res = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'hi', timeout_ms: 5001 });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/timeout_ms/);
    });
  });

  describe('unknown routes', () => {
    it('answers 404 in the error shape', async () => {
      const res = await http(stack.baseUrl, 'GET', '/api/v2/nothing');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('route_not_found');
    });
  });

  describe('GET /api/ready', () => {
    it('answers 503 while no worker has reported', async () => {
      const res = await http(stack.baseUrl, 'GET', '/api/ready');
      expect(res.status).toBe(503);
      expect(res.body.checks).toEqual({ redis: 'ok', workers: 0 });
    });
  });

  describe('GET /api/health', () => {
    it('answers 200', async () => {
      const res = await http(stack.baseUrl, 'GET', '/api/health');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
    });
  });
});
