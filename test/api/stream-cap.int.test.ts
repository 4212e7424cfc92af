import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

const KEY_A = 'stream-cap-key-a-0123456789';
const KEY_B = 'stream-cap-key-b-0123456789';
const CAP = 2;

interface Opened {
  status: number;
  headers: Headers;
  /** The error body of a refused stream. */
  body?: any;
  close(): void;
}

async function openStream(stack: TestStack, path: string, headers: Record<string, string>, body?: unknown): Promise<Opened> {
  const controller = new AbortController();
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: controller.signal,
  });
  if (response.status !== 200) return { status: response.status, headers: response.headers, body: await response.json(), close: () => undefined };
  // Left unread: the stream stays open until closed.
  return { status: 200, headers: response.headers, close: () => controller.abort() };
}

/** Opens a stream once the server has seen an earlier one close (it learns of a close a moment after the client). */
async function openOnceFreed(stack: TestStack, path: string, headers: Record<string, string>): Promise<Opened> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const opened = await openStream(stack, path, headers);
    if (opened.status !== 429 || Date.now() > deadline) return opened;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('MAX_STREAMS_PER_CLIENT with API keys', () => {
  let stack: TestStack;
  let events: string;
  /** The streams each key holds open. */
  const open: Record<string, Opened[]> = { [KEY_A]: [], [KEY_B]: [] };
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const hold = (key: string, stream: Opened) => {
    if (stream.status === 200) open[key]!.push(stream);
    return stream;
  };

  beforeAll(async () => {
    // Two keys of one tenant, so both may follow its job; each key has a cap of its own.
    stack = await startStack({ worker: false, env: { API_KEYS: `team=${KEY_A},team=${KEY_B}`, MAX_STREAMS_PER_CLIENT: String(CAP), RATE_LIMIT_REQUESTS: '0' } });
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Waits for ever', max_tokens: 5 }, as(KEY_A));
    events = `/api/v1/jobs/${body.id}/events`;
  });
  afterAll(async () => {
    for (const stream of Object.values(open).flat()) stream.close();
    await stack?.close();
  });

  it('refuses a key its stream beyond the cap with 429 too_many_streams and Retry-After', async () => {
    for (let i = 0; i < CAP; i++) expect(hold(KEY_A, await openStream(stack, events, as(KEY_A))).status).toBe(200);
    const refused = await openStream(stack, events, as(KEY_A));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('too_many_streams');
    expect(refused.body.error.message).toMatch(/at most 2 at a time per API key/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('gives the slot of a stream the client closed to its next one', async () => {
    open[KEY_A]!.shift()?.close();
    expect(hold(KEY_A, await openOnceFreed(stack, events, as(KEY_A))).status).toBe(200);
    expect((await openStream(stack, events, as(KEY_A))).status).toBe(429);
  });

  it('counts each key apart', async () => {
    for (let i = 0; i < CAP; i++) expect(hold(KEY_B, await openStream(stack, events, as(KEY_B))).status).toBe(200);
    expect((await openStream(stack, events, as(KEY_B))).status).toBe(429);
  });

  it('holds no slot for a stream that has ended', async () => {
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Cancelled at once', max_tokens: 5 }, as(KEY_A));
    await http(stack.baseUrl, 'DELETE', `/api/v1/jobs/${body.id}`, undefined, as(KEY_A));
    // KEY_A is at its cap; one slot is freed, and every stream of the finished job gives it back as it ends.
    open[KEY_A]!.shift()?.close();
    const read = async () => {
      const response = await fetch(`${stack.baseUrl}/api/v1/jobs/${body.id}/events`, { headers: as(KEY_A) });
      return { status: response.status, text: await response.text() };
    };
    const deadline = Date.now() + 10_000;
    let first = await read();
    while (first.status === 429 && Date.now() < deadline) first = await read();
    for (const stream of [first, await read(), await read(), await read()]) {
      expect(stream.status).toBe(200);
      expect(stream.text).toMatch(/^event: end/m);
    }
  });

  it('counts OpenAI streams with the native ones, refusing in OpenAI’s shape before any job is queued', async () => {
    const request = { model: stack.api.deps.modelId, messages: [{ role: 'user', content: 'Hello' }], stream: true };
    // KEY_B is at its cap with native streams.
    const before = await stack.api.queue.getJobCountByTypes('waiting', 'prioritized');
    const refused = await openStream(stack, '/v1/chat/completions', as(KEY_B), request);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too_many_streams', type: expect.any(String) });
    expect(refused.body.error.message).toMatch(/too many open event streams/);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(await stack.api.queue.getJobCountByTypes('waiting', 'prioritized')).toBe(before);

    // KEY_A holds one native stream: an OpenAI one fills its cap.
    const streaming = hold(KEY_A, await openStream(stack, '/v1/chat/completions', as(KEY_A), request));
    expect(streaming.status).toBe(200);
    expect(streaming.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await openStream(stack, events, as(KEY_A))).status).toBe(429);
  });
});

describe('MAX_STREAMS_PER_CLIENT without API keys', () => {
  let stack: TestStack;
  let events: string;
  const open: Opened[] = [];
  // Addresses as a trusted proxy in front of the API reports them.
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { MAX_STREAMS_PER_CLIENT: String(CAP), RATE_LIMIT_REQUESTS: '0' } });
    const { body } = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Waits for ever', max_tokens: 5 });
    events = `/api/v1/jobs/${body.id}/events`;
  });
  afterAll(async () => {
    for (const stream of open) stream.close();
    await stack?.close();
  });

  it('counts each client address apart', async () => {
    for (const ip of ['203.0.113.1', '203.0.113.2']) {
      for (let i = 0; i < CAP; i++) open.push(await openStream(stack, events, from(ip)));
      const refused = await openStream(stack, events, from(ip));
      expect(refused.status).toBe(429);
      expect(refused.body.error.message).toMatch(/per client address/);
    }
    expect(open.map((stream) => stream.status)).toEqual([200, 200, 200, 200]);
  });
});
