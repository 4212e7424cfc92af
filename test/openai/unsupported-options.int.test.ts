import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';

const MODEL = 'stories260K';
const chat = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] };
const completion = { model: MODEL, prompt: 'Hi' };

/** OpenAI's error body, exactly: four fields, nothing else. */
const openAiError = (code: string, param: string | null, type = 'invalid_request_error') => ({
  error: { message: expect.any(String), type, param, code },
});

describe('POST /v1/chat/completions and /v1/completions with what this server does not do', () => {
  let stack: TestStack;

  // No worker: every one of these is refused before anything is queued.
  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it.each([
    ['functions', { functions: [{ name: 'f' }] }, 'functions'],
    ['function_call', { function_call: 'auto' }, 'function_call'],
  ])('answers 400 unsupported_value for %s in chat', async (_name, extra, param) => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { ...chat, ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('unsupported_value', param));
    expect(res.body.error.message).toMatch(new RegExp(`^${param} is not supported`));
  });

  it.each([
    ['best_of', { best_of: 2 }, 'best_of'],
    ['echo', { echo: true }, 'echo'],
    ['suffix', { suffix: 'end' }, 'suffix'],
  ])('answers 400 unsupported_value for %s in completions', async (_name, extra, param) => {
    const res = await http(stack.baseUrl, 'POST', '/v1/completions', { ...completion, ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('unsupported_value', param));
  });

  it('accepts the neutral values that clients send by default', async () => {
    // Validation passes, so the request reaches the queue and its stream opens (no worker here: it waits).
    const controller = new AbortController();
    const pending = fetch(`${stack.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...chat,
        n: 1,
        logprobs: false,
        presence_penalty: 0,
        frequency_penalty: 0,
        logit_bias: {},
        tools: [],
        tool_choice: 'none',
        response_format: { type: 'text' },
        user: 'someone',
        stream: true,
        temperature: null,
        cache: false,
      }),
      signal: controller.signal,
    });
    const response = await pending;
    expect(response.status).toBe(200);
    controller.abort();
  });

  it('answers 400 unsupported_value for a schema keyword outside the subset, naming it', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } };
    for (const path of ['/v1/chat/completions', '/v1/completions']) {
      const body = { ...(path === '/v1/completions' ? completion : chat), response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } };
      const res = await http(stack.baseUrl, 'POST', path, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(openAiError('unsupported_value', 'response_format.json_schema.schema'));
      expect(res.body.error.message).toMatch(/^response_format\.json_schema\.schema\.properties\.n: multipleOf is not supported/);
    }
  });

  it('answers 400 unknown_parameter for a field OpenAI does not have either', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { ...chat, temprature: 0.5 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('unknown_parameter', 'temprature'));
  });

  it.each([
    ['a tool message that answers no call', { messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }, 'messages[0].tool_call_id'],
    ['tool_choice without tools', { tool_choice: 'auto' }, 'tool_choice'],
    ['a tool that is not a function', { tools: [{ type: 'retrieval' }] }, 'tools[0].type'],
    ['a function name with a space', { tools: [{ type: 'function', function: { name: 'get weather' } }] }, 'tools[0].function.name'],
    ['arguments that are not a JSON object', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] }, 'tools[0].function.parameters'],
    ['a call whose arguments are not JSON', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] }] }, 'messages[1].tool_calls[0].function.arguments'],
    ['an image part', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] }, 'messages[0].content'],
    ['no messages', { messages: [] }, 'messages'],
    ['max_tokens of 0', { max_tokens: 0 }, 'max_tokens'],
    ['a temperature above 2', { temperature: 2.5 }, 'temperature'],
    ['nine stop strings', { stop: Array.from({ length: 9 }, (_, i) => `s${i}`) }, 'stop'],
    ['stream_options without stream', { stream_options: { include_usage: true } }, 'stream_options'],
    ['a presence_penalty above 2', { presence_penalty: 2.5 }, 'presence_penalty'],
    ['a frequency_penalty below -2', { frequency_penalty: -3 }, 'frequency_penalty'],
    ['a logit bias above 100', { logit_bias: { '42': 101 } }, 'logit_bias.42'],
    ['a logit_bias key that is no token id', { logit_bias: { hello: 1 } }, 'logit_bias.hello'],
    ['a response format of another type', { response_format: { type: 'xml' } }, 'response_format.type'],
    ['a json_schema without its schema', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
    ['a schema that is not one', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'text' } } } }, 'response_format.json_schema.schema'],
    ['stop with a JSON response format', { response_format: { type: 'json_object' }, stop: '}' }, 'stop'],
    ['n above 8', { n: 9 }, 'n'],
    ['n of 0', { n: 0 }, 'n'],
    ['top_logprobs above 20', { logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    ['top_logprobs without logprobs', { top_logprobs: 3 }, 'top_logprobs'],
    ['logprobs that is no boolean', { logprobs: 2 }, 'logprobs'],
  ])('answers 400 invalid_value for %s, naming the parameter', async (_name, extra, param) => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { ...chat, ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('invalid_value', param));
  });

  it.each([
    ['logprobs above 5', { logprobs: 6 }],
    ['logprobs that is no number', { logprobs: true }],
  ])('answers 400 invalid_value for %s in completions', async (_name, extra) => {
    const res = await http(stack.baseUrl, 'POST', '/v1/completions', { ...completion, ...extra });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('invalid_value', 'logprobs'));
  });

  it('answers 400 for token-array and multiple prompts', async () => {
    for (const prompt of [[1, 2, 3], ['a', 'b']]) {
      const res = await http(stack.baseUrl, 'POST', '/v1/completions', { ...completion, prompt });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(openAiError('invalid_value', 'prompt'));
    }
  });

  it('answers 404 model_not_found for a model it does not serve', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { ...chat, model: 'gpt-4o' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(openAiError('model_not_found', 'model'));
    expect(res.body.error.message).toContain(MODEL);
  });

  it('answers an unknown /v1 route in OpenAI shape', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/audio/speech', { model: MODEL, input: 'x', voice: 'alloy' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(openAiError('route_not_found', null));
  });

  it('answers malformed JSON in OpenAI shape too', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/completions', '{"model": ', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(openAiError('invalid_json', null));
  });
});

describe('/v1 with API keys configured', () => {
  const key = 'k'.repeat(24);
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { API_KEYS: key } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a request without a key in OpenAI shape, as authentication_error', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', chat);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(openAiError('missing_api_key', null, 'authentication_error'));
  });

  it('takes the key where OpenAI clients send it', async () => {
    const res = await http(stack.baseUrl, 'POST', '/v1/chat/completions', { ...chat, n: 9 }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('n');
  });
});
