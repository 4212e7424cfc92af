import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareIds } from '../../api/job-stream-reader.ts';
import { readSse, type WireEvent } from '../openai/sse.ts';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';

const LONG = { max_tokens: 600, temperature: 0, cache: false };

async function events(stack: TestStack, id: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.baseUrl}/api/v1/jobs/${id}/events`, { headers });
  const received: WireEvent[] = [];
  await readSse(response, (event) => void received.push(event));
  return { response, received };
}

const textOf = (received: WireEvent[]) =>
  received
    .filter((e) => e.event === 'token')
    .map((e) => JSON.parse(e.data).text)
    .join('');
const resultOf = (received: WireEvent[]) => JSON.parse(received.find((e) => e.event === 'end')!.data).result;

/** Stream entries of a job as Redis holds them right now. */
async function entries(stack: TestStack, id: string) {
  const raw = await stack.redis.xrange(stack.api.deps.keys.stream(id), '-', '+');
  return raw.map(([entryId, fields]) => ({ id: entryId, type: fields[fields.indexOf('type') + 1] }));
}

describe('GET /api/v1/jobs/:id/events', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('gives a client that connects mid-generation the full text: what was generated, then the rest', async () => {
    // Proven mid-generation: tokens were in the stream and its end was not, once the events response had begun.
    for (let attempt = 1; ; attempt++) {
      const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time, a tortoise', ...LONG });
      let before = await entries(stack, body.id);
      while (!before.some((e) => e.type === 'token')) before = await entries(stack, body.id);
      const response = await fetch(`${stack.baseUrl}/api/v1/jobs/${body.id}/events`);
      const midGeneration = !(await entries(stack, body.id)).some((e) => e.type === 'end');
      const received: WireEvent[] = [];
      await readSse(response, (event) => void received.push(event));
      if (!midGeneration) {
        if (attempt === 3) throw new Error('the job ended before the client connected, three times');
        continue;
      }
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(received[0]).toMatchObject({ event: 'start', data: '{"attempt":1}' });
      expect(received.at(-1)?.event).toBe('end');
      const result = resultOf(received);
      expect(result.usage.completion_tokens).toBe(LONG.max_tokens);
      expect(textOf(received)).toBe(result.text);
      expect((await http(stack.baseUrl, 'GET', `/api/v1/jobs/${body.id}`)).body.result.text).toBe(result.text);
      // Replayed events, then live ones: ids only ever grow, and some came after the replay point.
      const ids = received.map((e) => e.id!);
      expect(ids.every((id, i) => i === 0 || compareIds(ids[i - 1]!, id) < 0)).toBe(true);
      expect(ids.some((id) => compareIds(id, before.at(-1)!.id) > 0)).toBe(true);
      return;
    }
  });

  it('replays a finished job and ends', async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'The cat sat', max_tokens: 30, temperature: 0, cache: false });
    const { received } = await events(stack, body.id);
    expect(received.map((e) => e.event)).toEqual(['start', ...Array(received.length - 2).fill('token'), 'end']);
    expect(textOf(received)).toBe(body.text);
    expect(resultOf(received)).toEqual(expect.objectContaining({ text: body.text, finish_reason: 'length' }));
  });

  it('resumes after Last-Event-ID', async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'A long road', max_tokens: 200, temperature: 0, cache: false });
    const all = (await events(stack, body.id)).received;
    expect(all.length).toBeGreaterThan(3);
    const resumed = (await events(stack, body.id, { 'last-event-id': all[1]!.id! })).received;
    expect(resumed).toEqual(all.slice(2));
  });

  it('streams a cached answer as its text and its end', async () => {
    const request = { prompt: 'A cached tale', max_tokens: 12, temperature: 0 };
    const first = await http(stack.baseUrl, 'POST', '/api/v1/generate', request);
    const cached = await http(stack.baseUrl, 'POST', '/api/v1/jobs', request);
    expect(cached.body.id).toMatch(/^c-/);
    const { received } = await events(stack, cached.body.id);
    expect(received.map((e) => e.event)).toEqual(['token', 'end']);
    expect(textOf(received)).toBe(first.body.text);
    expect(resultOf(received).cached).toBe(true);
  });

  it('never cancels the job it watches', async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Watched, not owned:', ...LONG, max_tokens: 300 });
    const controller = new AbortController();
    const response = await fetch(`${stack.baseUrl}/api/v1/jobs/${body.id}/events`, { signal: controller.signal });
    await readSse(response, (event) => event.event === 'token');
    controller.abort();
    const job = await pollUntilDone(stack.baseUrl, body.id);
    expect(job.status).toBe('completed');
    expect(job.result.usage.completion_tokens).toBe(300);
  });

  it('answers 404 for an unknown job, before any event', async () => {
    const res = await http(stack.baseUrl, 'GET', '/api/v1/jobs/00000000-0000-4000-8000-000000000000/events');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('GET /api/v1/jobs/:id/events of a job cancelled before it started', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('ends at once with an empty, cancelled result', async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Never run', max_tokens: 5 });
    expect((await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${body.id}`)).body.status).toBe('cancelled');
    const { received } = await events(stack, body.id);
    expect(received.map((e) => e.event)).toEqual(['end']);
    expect(resultOf(received)).toMatchObject({ text: '', finish_reason: 'cancelled' });
  });
});
