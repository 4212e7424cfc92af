import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntilDone, startStack, type TestStack } from '../support/stack.ts';
import { readSse } from './sse.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const uncached = { cache: false } as unknown as Record<string, never>;

describe('n choices from the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  const messages = [{ role: 'user' as const, content: 'Tell me a story about a cat.' }];

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('gives greedy choices the same text, from one shared job, with usage summed', async () => {
    const one = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
    const three = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0, n: 3 });
    expect(three.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    for (const choice of three.choices) expect(choice.message.content).toBe(one.choices[0]?.message.content);
    expect(three.usage).toEqual({
      prompt_tokens: 3 * one.usage!.prompt_tokens,
      completion_tokens: 3 * one.usage!.completion_tokens,
      total_tokens: 3 * one.usage!.total_tokens,
    });
  });

  it('samples each choice with its own seed: the first is the request with n = 1, the others differ', async () => {
    const request = { model, messages, max_tokens: 24, temperature: 1, seed: 11, ...uncached };
    const one = await client.chat.completions.create(request);
    const four = await client.chat.completions.create({ ...request, n: 4 });
    const texts = four.choices.map((choice) => choice.message.content);
    expect(texts[0]).toBe(one.choices[0]?.message.content);
    expect(new Set(texts).size).toBeGreaterThan(1);
    // Repeatable: the same request gives the same choices.
    const again = await client.chat.completions.create({ ...request, n: 4 });
    expect(again.choices.map((choice) => choice.message.content)).toEqual(texts);
  });

  it('streams every choice, its chunks naming it by index, with usage summed at the end', async () => {
    const request = { model, messages, max_tokens: 30, temperature: 1, seed: 5, n: 3, ...uncached };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    const texts = ['', '', ''];
    const roles: number[] = [];
    const finished: number[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      usage = chunk.usage ?? usage;
      for (const choice of chunk.choices) {
        if (choice.delta.role) roles.push(choice.index);
        texts[choice.index] += choice.delta.content ?? '';
        if (choice.finish_reason) finished.push(choice.index);
      }
    }
    expect(roles).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 1, 2]);
    expect(texts).toEqual(whole.choices.map((choice) => choice.message.content));
    expect(usage).toEqual(whole.usage);
  });

  it('gives completions n choices too, whole and streamed, each with its own logprobs', async () => {
    const request = { model, prompt: 'The little bird', max_tokens: 20, temperature: 1, seed: 3, n: 2, logprobs: 1, ...uncached };
    const whole = await client.completions.create(request);
    expect(whole.choices.map((choice) => choice.index)).toEqual([0, 1]);
    for (const choice of whole.choices) expect(choice.logprobs?.tokens?.join('')).toBe(choice.text);
    const texts = ['', ''];
    const tokens: string[][] = [[], []];
    for await (const chunk of await client.completions.create({ ...request, stream: true })) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.text;
        tokens[choice.index]!.push(...(choice.logprobs?.tokens ?? []));
      }
    }
    expect(texts).toEqual(whole.choices.map((choice) => choice.text));
    expect(tokens).toEqual(whole.choices.map((choice) => choice.logprobs?.tokens));
  });
});

describe('a streaming client of n choices that disconnects', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // A long context, so generations last long enough to be interrupted.
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("cancels every choice's job", async () => {
    const controller = new AbortController();
    const content = 'Tell me everything about choices.';
    const response = await fetch(`${stack.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Uncached: the greedy choices are three jobs, not one shared.
      body: JSON.stringify({ model: stack.api.deps.modelId, messages: [{ role: 'user', content }], stream: true, max_tokens: 1500, temperature: 0, n: 3, cache: false }),
      signal: controller.signal,
    });
    await readSse(response, (event) => JSON.parse(event.data).choices[0]?.delta.content !== undefined && JSON.parse(event.data).choices[0]?.delta.content !== '');
    controller.abort();
    const jobs = (await stack.api.queue.getJobs(['active', 'waiting', 'prioritized', 'completed'])).filter((job) => job.data.messages?.[0]?.content === content);
    expect(jobs).toHaveLength(3);
    for (const job of jobs) {
      const view = await pollUntilDone(stack.baseUrl, job.id!);
      expect(view.status).toBe('cancelled');
      // A choice still waiting for a sequence is removed before it runs: it has no result.
      expect(view.result?.usage.completion_tokens ?? 0).toBeLessThan(1500);
    }
  });
});

describe('n choices beyond what the tenant may queue', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ env: { TENANT_MAX_JOBS: '2', CONTEXT_SIZE: '2048' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are refused whole: the choices already queued are let go', async () => {
    const content = 'Tell me everything about limits.';
    const client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const request = { model: stack.api.deps.modelId, messages: [{ role: 'user' as const, content }], max_tokens: 1500, temperature: 0, n: 3, ...uncached };
    const error = await client.chat.completions.create(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    // The choices queued before the refusal are let go: a waiting one is removed, a running one
    // cancelled. None runs on to its end for nobody.
    const jobs = (await stack.api.queue.getJobs(['active', 'waiting', 'prioritized', 'completed', 'failed'])).filter(
      (job) => job.data.messages?.[0]?.content === content,
    );
    expect(jobs.length).toBeLessThanOrEqual(2);
    for (const job of jobs) {
      const view = await pollUntilDone(stack.baseUrl, job.id!);
      expect(view.status).not.toBe('completed');
    }
  });
});
