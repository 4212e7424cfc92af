import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, pollUntilDone, startStack, type TestStack } from '../support/stack.ts';
import { parseSse, readSse } from './sse.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const extensions = (body: { cache?: boolean; priority?: number }) => body as Record<string, never>;

/** OpenAI's events around the deltas of a one-message response, in OpenAI's order. */
const OPENING = ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'];
const CLOSING = ['response.output_text.done', 'response.content_part.done', 'response.output_item.done'];

/** Longer than the context once prompted: the job fails in the worker with prompt_too_long. */
const TOO_LONG = 'word '.repeat(2500);

const openAiError = (code: string, param: string | null) => ({ error: { message: expect.any(String), type: 'invalid_request_error', param, code } });

describe('POST /v1/responses', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;

  beforeAll(async () => {
    // A long context, so that a generation lasts long enough for a client to leave in the middle.
    stack = await startStack({ env: { CONTEXT_SIZE: '2048' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const rawStream = async (body: object) => {
    const response = await fetch(`${stack.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, temperature: 0, stream: true, ...body }),
    });
    return { response, events: parseSse(await response.text()) };
  };

  it('answers a string input, as a job of the queue, incomplete when max_output_tokens cuts it', async () => {
    const { data, response } = await client.responses.create({ model, input: 'Once upon a time', max_output_tokens: 16, temperature: 0 }).withResponse();
    const jobId = response.headers.get('x-job-id');
    expect(data).toMatchObject({ id: `resp_${jobId}`, object: 'response', model, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(data.output_text.length).toBeGreaterThan(0);
    expect(data.output).toEqual([
      {
        type: 'message',
        id: `msg_${jobId}`,
        status: 'incomplete',
        role: 'assistant',
        content: [{ type: 'output_text', text: data.output_text, annotations: [], logprobs: [] }],
      },
    ]);
    expect(data.usage).toMatchObject({ output_tokens: 16, total_tokens: data.usage!.input_tokens + 16 });
    // "<s>User: Once upon a time\nAssistant:" in stories260K's vocabulary.
    expect(data.usage!.input_tokens).toBeGreaterThan(8);
    const job = await stack.api.queue.getJob(jobId!);
    expect(job?.data.messages).toEqual([{ role: 'user', content: 'Once upon a time' }]);
    expect(job?.data.sampling).toMatchObject({ max_tokens: 16, temperature: 0, top_p: 1 });
    const view = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${jobId}`);
    expect(view.body.result.text).toBe(data.output_text);
  });

  it('runs instructions and input as the very job a chat completion of that conversation is', async () => {
    const chat = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You tell short stories.' },
        { role: 'user', content: 'Tell me about a cat.' },
      ],
      max_completion_tokens: 24,
      temperature: 0,
    });
    const { data, response } = await client.responses
      .create({ model, instructions: 'You tell short stories.', input: [{ role: 'user', content: 'Tell me about a cat.' }], max_output_tokens: 24, temperature: 0 })
      .withResponse();
    // Same conversation, same sampling: the same cache entry answers both.
    expect(response.headers.get('x-job-id')).toMatch(/^c-/);
    expect(data.output_text).toBe(chat.choices[0]?.message.content);
    expect(data.usage?.input_tokens).toBe(chat.usage?.prompt_tokens);
    expect(data.status).toBe(chat.choices[0]?.finish_reason === 'stop' ? 'completed' : 'incomplete');
    expect(data.instructions).toBe('You tell short stories.');
  });

  it('continues a conversation whose earlier output items the client passes back, storing nothing', async () => {
    const first = await client.responses.create({ model, input: 'Tell me about a dog.', max_output_tokens: 12, temperature: 0 });
    const { data, response } = await client.responses
      .create({
        model,
        input: [
          { role: 'user', content: 'Tell me about a dog.' },
          ...(first.output as OpenAI.Responses.ResponseOutputMessage[]),
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And then?' }] },
        ],
        max_output_tokens: 12,
        temperature: 0,
        store: true,
        metadata: { turn: '2' },
      })
      .withResponse();
    const job = await stack.api.queue.getJob(response.headers.get('x-job-id')!);
    expect(job?.data.messages).toEqual([
      { role: 'user', content: 'Tell me about a dog.' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'And then?' },
    ]);
    expect(data.metadata).toEqual({ turn: '2' });
    expect(data.previous_response_id).toBeNull();
  });

  it("streams OpenAI's events in OpenAI's order, the deltas making the text of the whole answer", async () => {
    const request = { model, input: 'Tell me a story about a dog and a ball.', max_output_tokens: 60, temperature: 0, ...extensions({ cache: false }) };
    const whole = await client.responses.create(request);
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await client.responses.create({ ...request, stream: true })) events.push(event);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual(OPENING);
    expect(types.slice(-4)).toEqual([...CLOSING, whole.status === 'completed' ? 'response.completed' : 'response.incomplete']);
    expect(types.slice(4, -4).length).toBeGreaterThan(1);
    expect(types.slice(4, -4).every((type) => type === 'response.output_text.delta')).toBe(true);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []));
    expect(deltas.join('')).toBe(whole.output_text);
    const last = events.at(-1);
    if (last?.type !== 'response.completed' && last?.type !== 'response.incomplete') throw new Error(`ended with ${last?.type}`);
    expect(last.response.output).toEqual(whole.output.map((item) => ({ ...item, id: expect.stringMatching(/^msg_/) })));
    expect(last.response.usage).toEqual(whole.usage);
  });

  it("works with the client's stream helper, which rebuilds the response from the events", async () => {
    const stream = client.responses.stream({ model, input: 'The little bird', max_output_tokens: 30, temperature: 0 });
    let deltas = '';
    stream.on('response.output_text.delta', (event) => {
      deltas += event.delta;
    });
    const final = await stream.finalResponse();
    expect(final.output_text.length).toBeGreaterThan(0);
    expect(final.output_text).toBe(deltas);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(final.id).toMatch(/^resp_/);
  });

  it('sends named server-sent events: each `event:` line is its data type, and there is no [DONE]', async () => {
    const { response, events } = await rawStream({ input: 'The sun was', max_output_tokens: 10, cache: false });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events.length).toBeGreaterThan(OPENING.length + CLOSING.length);
    for (const event of events) expect(event.event).toBe(JSON.parse(event.data).type);
    expect(events.at(-1)?.event).toBe('response.incomplete');
  });

  it('ends a stream whose job fails with response.failed and an error event, which the client raises', async () => {
    const { events } = await rawStream({ input: TOO_LONG, max_output_tokens: 5 });
    expect(events.slice(-2).map((event) => event.event)).toEqual(['response.failed', 'error']);
    const [failed, error] = events.slice(-2).map((event) => JSON.parse(event.data));
    expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'invalid_prompt', message: expect.stringMatching(/context holds 2048 tokens/) } });
    expect(error).toMatchObject({ code: 'prompt_too_long', param: null, error: { type: 'invalid_request_error', code: 'prompt_too_long' } });

    const stream = await client.responses.create({ model, input: TOO_LONG, max_output_tokens: 5, stream: true });
    const raised = await (async () => {
      for await (const _event of stream);
    })().catch((e: unknown) => e);
    expect(raised).toBeInstanceOf(OpenAI.APIError);
    expect((raised as InstanceType<typeof OpenAI.APIError>).code).toBe('prompt_too_long');
  });

  it('answers the same failure whole as a 400', async () => {
    const error = await client.responses.create({ model, input: TOO_LONG, max_output_tokens: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('prompt_too_long');
  });

  it('cancels the job of a streaming client that disconnects', async () => {
    const controller = new AbortController();
    const response = await fetch(`${stack.baseUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // The conversation the chat disconnect test knows to run its full length when left alone.
      body: JSON.stringify({ model, input: 'Tell me everything.', max_output_tokens: 1500, temperature: 0, stream: true, cache: false }),
      signal: controller.signal,
    });
    const jobId = response.headers.get('x-job-id')!;
    await readSse(response, (event) => event.event === 'response.output_text.delta');
    controller.abort();
    const job = await pollUntilDone(stack.baseUrl, jobId);
    expect(job.status).toBe('cancelled');
    expect(job.result.usage.completion_tokens).toBeLessThan(1500);
  });

  it('refuses previous_response_id, saying the server is stateless, and an unknown model', async () => {
    const stateful = await client.responses.create({ model, input: 'Hi', previous_response_id: 'resp_123' }).catch((e: unknown) => e);
    expect(stateful).toBeInstanceOf(OpenAI.BadRequestError);
    expect(stateful).toMatchObject({ status: 400, code: 'unsupported_value', param: 'previous_response_id' });
    expect((stateful as Error).message).toMatch(/stateless/);
    const missing = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Hi' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it.each([
    ['a conversation id', { conversation: 'conv_1' }, 'unsupported_value', 'conversation'],
    ['a JSON schema text format', { text: { format: { type: 'json_schema', name: 'x', schema: {} } } }, 'unsupported_value', 'text'],
    ['tools', { tools: [{ type: 'function', name: 'f', parameters: {} }] }, 'unsupported_value', 'tools'],
    ['a reasoning effort', { reasoning: { effort: 'low' } }, 'unsupported_value', 'reasoning'],
    ['a background response', { background: true }, 'unsupported_value', 'background'],
    ['a function call item', { input: [{ type: 'function_call_output', call_id: 'c', output: '1' }] }, 'invalid_value', 'input'],
    ['an image', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }] }, 'invalid_value', 'input'],
    ['a misspelt parameter', { max_tokens: 5 }, 'unknown_parameter', 'max_tokens'],
    ['stream_options without stream', { stream_options: { include_obfuscation: false } }, 'invalid_value', 'stream_options'],
  ])('answers 400 for %s', async (_name, extra, code, param) => {
    const res = await http(stack.baseUrl, 'POST', '/v1/responses', { model, input: 'Hi', ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError(code, param));
  });

  it('accepts the neutral values of what it does not implement', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/responses', {
      model,
      input: 'Hi',
      max_output_tokens: 4,
      store: true,
      tools: [],
      tool_choice: 'none',
      text: { format: { type: 'text' } },
      reasoning: null,
      truncation: 'disabled',
      parallel_tool_calls: true,
      include: [],
      service_tier: 'auto',
      user: 'someone',
      safety_identifier: 'someone',
      prompt_cache_key: 'k',
      previous_response_id: null,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'response', user: 'someone', tools: [], tool_choice: 'none', max_output_tokens: 4 });
    expect(res.body).not.toHaveProperty('output_text');
  });
});
