import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from '../support/stack.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const uncached = { cache: false } as unknown as Record<string, never>;

const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

/** Sorted most likely first, as OpenAI lists them. */
function expectDescending(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]!);
}

describe('logprobs from the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  const messages = [{ role: 'user' as const, content: 'Tell me a story about a dog and a ball.' }];

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('gives each token of a greedy chat answer, the most likely of its alternatives, in OpenAI shape', async () => {
    const chat = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, logprobs: true, top_logprobs: 5, ...uncached });
    const choice = chat.choices[0]!;
    const content = choice.logprobs?.content ?? [];
    expect(choice.logprobs?.refusal).toBeNull();
    expect(content.length).toBeGreaterThan(0);
    expect(content.length).toBeLessThanOrEqual(chat.usage!.completion_tokens);
    expect(content.map((entry) => entry.token).join('')).toBe(choice.message.content);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.bytes).toEqual(utf8(entry.token));
      expect(entry.top_logprobs).toHaveLength(5);
      expectDescending(entry.top_logprobs.map((alternative) => alternative.logprob));
      // Greedy: the chosen token is the most likely one.
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0]!.logprob, 5);
      expect(entry.top_logprobs[0]!.token).toBe(entry.token);
      for (const alternative of entry.top_logprobs) expect(alternative.bytes).toEqual(utf8(alternative.token));
    }
  });

  it('gives the tokens without alternatives when top_logprobs is not set, and none when logprobs is not asked for', async () => {
    const request = { model, messages, max_tokens: 8, temperature: 0 };
    const plain = await client.chat.completions.create(request);
    expect(plain.choices[0]?.logprobs).toBeNull();
    // The same request with logprobs is another cache entry: it does not get the answer above, without them.
    const withLogprobs = await client.chat.completions.create({ ...request, logprobs: true });
    const content = withLogprobs.choices[0]?.logprobs?.content ?? [];
    expect(content.length).toBeGreaterThan(0);
    expect(content.every((entry) => entry.top_logprobs.length === 0)).toBe(true);
    expect(content.map((entry) => entry.token).join('')).toBe(withLogprobs.choices[0]?.message.content);
    // Asked again, it comes from the cache with its logprobs.
    const again = await client.chat.completions.create({ ...request, logprobs: true });
    expect(again.choices[0]?.logprobs).toEqual(withLogprobs.choices[0]?.logprobs);
  });

  it('keeps logprobs at or below 0 when sampling with a temperature', async () => {
    const chat = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0.9, seed: 7, logprobs: true, top_logprobs: 3 });
    const content = chat.choices[0]?.logprobs?.content ?? [];
    expect(content.map((entry) => entry.token).join('')).toBe(chat.choices[0]?.message.content);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      for (const alternative of entry.top_logprobs) expect(alternative.logprob).toBeLessThanOrEqual(0);
    }
  });

  it('streams chat chunks that carry the logprobs of their own tokens', async () => {
    const request = { model, messages, max_tokens: 40, temperature: 0, logprobs: true, top_logprobs: 2, ...uncached };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let text = '';
    const tokens: string[] = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta.content ?? '';
      text += delta;
      const chunkTokens = (choice.logprobs?.content ?? []).map((entry) => entry.token);
      // A chunk's tokens are its text (the last chunk with text may also carry tokens that printed nothing).
      expect(chunkTokens.join('')).toBe(delta);
      tokens.push(...chunkTokens);
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(tokens).toEqual(whole.choices[0]?.logprobs?.content?.map((entry) => entry.token));
  });

  it('gives completions their logprobs as parallel arrays with text offsets', async () => {
    const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 20, temperature: 0, logprobs: 3, ...uncached });
    const choice = completion.choices[0]!;
    const logprobs = choice.logprobs!;
    const tokens = logprobs.tokens ?? [];
    expect(tokens.join('')).toBe(choice.text);
    expect(logprobs.token_logprobs).toHaveLength(tokens.length);
    expect(logprobs.top_logprobs).toHaveLength(tokens.length);
    expect(logprobs.text_offset).toHaveLength(tokens.length);
    tokens.forEach((token, i) => {
      expect(logprobs.text_offset![i]).toBe(tokens.slice(0, i).join('').length);
      const logprob = logprobs.token_logprobs![i]!;
      expect(logprob).toBeLessThanOrEqual(0);
      const top = logprobs.top_logprobs![i]!;
      expect(Object.keys(top).length).toBeGreaterThan(0);
      expect(Object.keys(top).length).toBeLessThanOrEqual(3);
      expect(logprob).toBeCloseTo(Math.max(...Object.values(top)), 5);
      expect(top[token]).toBeCloseTo(logprob, 5);
    });
  });

  it('streams completion chunks whose text offsets continue from one chunk to the next', async () => {
    const request = { model, prompt: 'The little bird', max_tokens: 30, temperature: 0, logprobs: 1, ...uncached };
    const whole = await client.completions.create(request);
    let text = '';
    const tokens: string[] = [];
    for await (const chunk of await client.completions.create({ ...request, stream: true })) {
      const choice = chunk.choices[0];
      if (!choice?.logprobs) {
        text += choice?.text ?? '';
        continue;
      }
      const chunkTokens = choice.logprobs.tokens ?? [];
      expect(chunkTokens.join('')).toBe(choice.text);
      expect(choice.logprobs.text_offset?.[0]).toBe(text.length);
      text += choice.text;
      tokens.push(...chunkTokens);
    }
    expect(text).toBe(whole.choices[0]?.text);
    expect(tokens).toEqual(whole.choices[0]?.logprobs?.tokens);
  });
});
