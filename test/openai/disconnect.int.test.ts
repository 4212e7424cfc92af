import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';
import { readSse } from './sse.ts';

const LONG = 1500;
const SHORT = 300;

/** Opens a streamed chat completion and reads it until `stopAfter` text chunks, then hangs up. */
async function streamThenDisconnect(stack: TestStack, body: object, stopAfter: number) {
  const controller = new AbortController();
  const response = await fetch(`${stack.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: stack.api.deps.modelId, stream: true, max_tokens: LONG, ...body }),
    signal: controller.signal,
  });
  const jobId = response.headers.get('x-job-id')!;
  let chunks = 0;
  let received = '';
  await readSse(response, (event) => {
    const content = JSON.parse(event.data).choices[0]?.delta.content;
    if (content) {
      received += content;
      chunks += 1;
    }
    return chunks >= stopAfter;
  });
  controller.abort();
  return { jobId, received };
}

async function streamToEnd(stack: TestStack, body: object) {
  const response = await fetch(`${stack.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: stack.api.deps.modelId, stream: true, max_tokens: LONG, ...body }),
  });
  return { jobId: response.headers.get('x-job-id')!, text: response.text() };
}

describe('a streaming client that disconnects', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // A long context, so generations last long enough to be interrupted.
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('cancels its job; the worker stops within a few tokens', async () => {
    // Greedy and uncached: this conversation is known to run the full LONG tokens when left alone.
    const { jobId, received } = await streamThenDisconnect(stack, { messages: [{ role: 'user', content: 'Tell me everything.' }], temperature: 0, cache: false }, 1);
    const job = await pollUntilDone(stack.baseUrl, jobId);
    expect(job.status).toBe('cancelled');
    expect(job.result.finish_reason).toBe('cancelled');
    expect(job.result.text.startsWith(received)).toBe(true);
    expect(job.result.usage.completion_tokens).toBeLessThan(LONG);
    // The token count when the chunk the client read was written, from the job's stream.
    const stream = await stack.redis.xrange(stack.api.deps.keys.stream(jobId), '-', '+');
    const first = stream.map(([, fields]) => fields).find((fields) => fields[1] === 'token')!;
    const atChunk = Number(first[first.indexOf('tokens') + 1]);
    console.info(
      `disconnect after the first chunk (${atChunk} tokens): the worker stopped at ${job.result.usage.completion_tokens} of ${LONG} tokens, ` +
        `${job.result.usage.completion_tokens - atChunk} after that chunk was written`,
    );
  });

  it('does not cancel a job that an identical request still streams', async () => {
    const body = { messages: [{ role: 'user', content: 'A shared story, please.' }], temperature: 0, max_tokens: SHORT };
    const staying = await streamToEnd(stack, body);
    const leaving = await streamThenDisconnect(stack, body, 1);
    expect(leaving.jobId).toBe(staying.jobId);
    const text = await staying.text;
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const job = await pollUntilDone(stack.baseUrl, staying.jobId);
    expect(job.status).toBe('completed');
    expect(job.result.finish_reason).toBe('length');
    expect(job.result.usage.completion_tokens).toBe(SHORT);
    expect((await stack.redis.exists(stack.api.deps.keys.holders(staying.jobId))) === 0).toBe(true);
  });

  it('cancels a shared job once the last of its clients is gone', async () => {
    const body = { messages: [{ role: 'user', content: 'Another shared story.' }], temperature: 0 };
    const [first, second] = await Promise.all([streamThenDisconnect(stack, body, 1), streamThenDisconnect(stack, body, 2)]);
    expect(first.jobId).toBe(second.jobId);
    const job = await pollUntilDone(stack.baseUrl, first.jobId);
    expect(job.status).toBe('cancelled');
  });

  it('never cancels a job a native submitter shares', async () => {
    const prompt = 'Once upon a time, in a shared land,';
    const native = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt, max_tokens: SHORT, temperature: 0 });
    const controller = new AbortController();
    const response = await fetch(`${stack.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.api.deps.modelId, prompt, max_tokens: SHORT, temperature: 0, stream: true }),
      signal: controller.signal,
    });
    expect(response.headers.get('x-job-id')).toBe(native.body.id);
    await readSse(response, (event) => Boolean(JSON.parse(event.data).choices[0]?.text));
    controller.abort();
    const job = await pollUntilDone(stack.baseUrl, native.body.id);
    expect(job.status).toBe('completed');
    expect(job.result.usage.completion_tokens).toBe(SHORT);
  });
});

describe('a client that disconnects from a whole (not streamed) answer', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('cancels its job too', async () => {
    const controller = new AbortController();
    const request = fetch(`${stack.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: stack.api.deps.modelId, prompt: 'A very long tale:', max_tokens: LONG, temperature: 0, cache: false }),
      signal: controller.signal,
    }).catch(() => undefined);
    const job = await waitForActiveJob(stack);
    controller.abort();
    await request;
    const done = await pollUntilDone(stack.baseUrl, job);
    expect(done.status).toBe('cancelled');
  });
});

describe('with CANCEL_ON_DISCONNECT=false', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ env: { CONTEXT_SIZE: '2048', CANCEL_ON_DISCONNECT: 'false' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lets the job run to its end', async () => {
    const { jobId } = await streamThenDisconnect(stack, { messages: [{ role: 'user', content: 'Keep going.' }], max_tokens: SHORT, temperature: 0 }, 1);
    const job = await pollUntilDone(stack.baseUrl, jobId);
    expect(job.status).toBe('completed');
    expect(job.result.usage.completion_tokens).toBe(SHORT);
  });
});

/** The id of the one job of this stack once a worker runs it. */
async function waitForActiveJob(stack: TestStack): Promise<string> {
  for (;;) {
    const [job] = await stack.api.queue.getActive();
    if (job?.id) return job.id;
    await new Promise((r) => setTimeout(r, 5));
  }
}
