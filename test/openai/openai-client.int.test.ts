import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const extensions = (body: { cache?: boolean; priority?: number }) => body as Record<string, never>;

describe('the official openai client against /v1', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('creates a completion', async () => {
    const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 12, temperature: 0 });
    expect(completion.object).toBe('text_completion');
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.model).toBe(model);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.text).toMatch(/^, there was a little/);
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 12, total_tokens: expect.any(Number) });
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 12);
  });

  it('creates a chat completion, prompted through the fallback chat format', async () => {
    const chat = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You tell short stories.' },
        { role: 'user', content: 'Tell me about a cat.' },
      ],
      max_completion_tokens: 16,
      temperature: 0,
    });
    expect(chat.object).toBe('chat.completion');
    expect(chat.id).toMatch(/^chatcmpl-/);
    expect(chat.choices[0]?.message.role).toBe('assistant');
    expect(chat.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(chat.choices[0]?.finish_reason).toBe('length');
    expect(chat.usage?.completion_tokens).toBe(16);
    // "<s>System: You tell short stories.\nUser: Tell me about a cat.\nAssistant:" in stories260K's vocabulary.
    expect(chat.usage?.prompt_tokens).toBeGreaterThan(20);
  });

  it('runs each request as a job of the shared queue, visible through the native API', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Who are you?' }], max_tokens: 5, temperature: 0, ...extensions({ priority: 2 }) })
      .withResponse();
    const jobId = response.headers.get('x-job-id');
    expect(data.id).toBe(`chatcmpl-${jobId}`);
    const job = await stack.api.queue.getJob(jobId!);
    expect(job?.opts.priority).toBe(2);
    expect(job?.data.messages).toEqual([{ role: 'user', content: 'Who are you?' }]);
    const view = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${jobId}`);
    expect(view.body.status).toBe('completed');
    expect(view.body.result.text).toBe(data.choices[0]?.message.content);
  });

  it('consumes a stream whose text equals the same request answered whole', async () => {
    const request = {
      model,
      messages: [{ role: 'user' as const, content: 'Tell me a story about a dog and a ball.' }],
      max_tokens: 60,
      temperature: 0,
      // Both answers are real generations, not one of them read back from the cache.
      ...extensions({ cache: false }),
    };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    const roles: string[] = [];
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.role) roles.push(chunk.choices[0].delta.role);
      streamed += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      usage = chunk.usage ?? usage;
    }
    expect(roles).toEqual(['assistant']);
    expect(streamed).toBe(whole.choices[0]?.message.content);
    expect(finishReason).toBe(whole.choices[0]?.finish_reason);
    expect(usage).toEqual(whole.usage);
  });

  it('streams completions too, with the same text as the whole answer', async () => {
    const request = { model, prompt: 'The little bird', max_tokens: 40, temperature: 0, ...extensions({ cache: false }) };
    const whole = await client.completions.create(request);
    let streamed = '';
    for await (const chunk of await client.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(whole.choices[0]?.text);
  });

  it('raises OpenAI errors for unsupported options, with the parameter named', async () => {
    const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], function_call: 'auto' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('function_call');
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_value');
    const missing = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Hi' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
