import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { parseSse } from './sse.ts';

async function rawStream(stack: TestStack, path: string, body: object) {
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: stack.api.deps.modelId, temperature: 0, stream: true, ...body }),
  });
  const text = await response.text();
  return { response, text, events: parseSse(text) };
}

describe('streamed answers of /v1 on the wire', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are well-formed server-sent events: every data parses, [DONE] comes last', async () => {
    const { response, events } = await rawStream(stack, '/v1/chat/completions', {
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      max_tokens: 80,
      cache: false,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toContain('no-cache');
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(events.filter((e) => e.data === '[DONE]')).toHaveLength(1);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    const jobId = response.headers.get('x-job-id');
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: `chatcmpl-${jobId}`, object: 'chat.completion.chunk', model: stack.api.deps.modelId });
      expect(chunk).not.toHaveProperty('usage');
      expect(chunk.choices).toHaveLength(1);
    }
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-1).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'length' });
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    // Every chunk of one answer has the same creation time, as OpenAI's do.
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
  });

  it('end with a usage chunk (and no choices) before [DONE] when include_usage is set', async () => {
    const { events } = await rawStream(stack, '/v1/completions', {
      prompt: 'The sun was',
      max_tokens: 20,
      stream_options: { include_usage: true },
      cache: false,
    });
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 20, total_tokens: last.usage.prompt_tokens + 20 });
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.object).toBe('text_completion');
      expect(chunk.usage).toBeNull();
    }
    expect(chunks.at(-2).choices[0].finish_reason).toBe('length');
    const job = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${chunks[0].id.slice('cmpl-'.length)}`);
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(job.body.result.text);
  });

  it('stream a cached answer in the same format, at once', async () => {
    const body = { messages: [{ role: 'user', content: 'A cached question.' }], max_tokens: 10 };
    await fetch(`${stack.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.api.deps.modelId, temperature: 0, ...body }),
    }).then((r) => r.json());
    const { response, events } = await rawStream(stack, '/v1/chat/completions', body);
    expect(response.headers.get('x-job-id')).toMatch(/^c-/);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('').length).toBeGreaterThan(0);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('send a failure as an error event in OpenAI shape, then [DONE]', async () => {
    // A conversation longer than the context fails in the worker (the chat template decides its length).
    const long = 'word '.repeat(600);
    const { events } = await rawStream(stack, '/v1/chat/completions', { messages: [{ role: 'user', content: long }], max_tokens: 5 });
    expect(events.at(-1)?.data).toBe('[DONE]');
    const error = JSON.parse(events.at(-2)!.data);
    expect(error).toEqual({
      error: { message: expect.stringMatching(/context holds 512 tokens/), type: 'invalid_request_error', param: null, code: 'prompt_too_long' },
    });
  });
});
