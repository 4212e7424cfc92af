import { ChatOpenAI } from '@langchain/openai';
import { tool } from '@langchain/core/tools';
import OpenAI from 'openai';
import { zodFunction } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { http, startStack, type TestStack } from '../support/stack.ts';

/**
 * Tools on stories260K, a model that never learned to call one: with `tool_choice` required or
 * named, the call is forced through the chat wrapper's function syntax and its grammars, so the
 * arguments still validate against each function's schema.
 */

const Weather = z.object({ city: z.string().max(16), unit: z.enum(['celsius', 'fahrenheit']) });
const Lookup = z.object({ word: z.string().max(12), limit: z.number().int() });
const weatherTool = zodFunction({ name: 'get_weather', parameters: Weather, description: 'The weather in a city.' });
const lookupTool = zodFunction({ name: 'lookup', parameters: Lookup, description: 'Looks a word up.' });

describe('tools through the official openai client (stories260K)', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('forces a call with tool_choice required: finish_reason tool_calls, arguments parsed by the zod schema', async () => {
    const completion = await client.chat.completions.parse({ model, messages, tools: [weatherTool, lookupTool], tool_choice: 'required', temperature: 0, max_tokens: 200 });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const calls = choice.message.tool_calls ?? [];
    expect(calls.length).toBeGreaterThanOrEqual(1);
    for (const call of calls) {
      expect(call.type).toBe('function');
      expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
      if (call.type !== 'function') continue;
      expect(['get_weather', 'lookup']).toContain(call.function.name);
      const schema = call.function.name === 'get_weather' ? Weather : Lookup;
      expect(schema.parse(JSON.parse(call.function.arguments))).toEqual(call.function.parsed_arguments);
    }
    expect(new Set(calls.map((call) => call.id)).size).toBe(calls.length);
  });

  it('calls the named function, once, when tool_choice names it', async () => {
    const completion = await client.chat.completions.parse({
      model,
      messages,
      tools: [weatherTool, lookupTool],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      temperature: 0,
      max_tokens: 200,
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('lookup');
    expect(call.type === 'function' && Lookup.parse(call.function.parsed_arguments)).toEqual(call.type === 'function' && JSON.parse(call.function.arguments));
  });

  it('streams a call as OpenAI does: the client assembles the same call as the whole answer', async () => {
    const request = { model, messages, tools: [weatherTool], tool_choice: 'required' as const, temperature: 0, max_tokens: 200, seed: 1 };
    const whole = await client.chat.completions.create({ ...request, cache: false } as typeof request);
    const stream = client.chat.completions.stream({ ...request, cache: false } as typeof request);
    let deltas = 0;
    stream.on('chunk', (chunk) => {
      deltas += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
    });
    const streamed = await stream.finalChatCompletion();
    expect(deltas).toBeGreaterThanOrEqual(2);
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
    const [streamedCall] = streamed.choices[0]?.message.tool_calls ?? [];
    const [wholeCall] = whole.choices[0]?.message.tool_calls ?? [];
    // Two jobs (uncached), so two ids; the same greedy call.
    const named = (call: OpenAI.ChatCompletionMessageToolCall | undefined) => (call?.type === 'function' ? { name: call.function.name, arguments: call.function.arguments } : undefined);
    expect(named(streamedCall)).toEqual(named(wholeCall));
    expect(named(streamedCall)).toBeDefined();
    expect(streamedCall?.type === 'function' && Weather.parse(streamedCall.function.parsed_arguments)).toBeTruthy();
  });

  it('holds one call without parallel_tool_calls', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages,
      tools: [weatherTool, lookupTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0.9,
      seed: 4,
      max_tokens: 200,
    });
    expect(completion.choices[0]?.message.tool_calls).toHaveLength(1);
  });

  it('answers a follow-up turn that gives the call its result', async () => {
    const first = await client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: 'required', temperature: 0, max_tokens: 200 });
    const assistant = first.choices[0]!.message;
    const call = assistant.tool_calls![0]!;
    const followUp = await client.chat.completions.create({
      model,
      messages: [...messages, assistant, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ temperature: 21, sky: 'sunny' }) }],
      tools: [weatherTool],
      temperature: 0,
      max_tokens: 20,
    });
    const choice = followUp.choices[0]!;
    // The model was shown the call and its result: the prompt holds both.
    expect(followUp.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
    expect(['stop', 'length', 'tool_calls']).toContain(choice.finish_reason);
    if (choice.finish_reason !== 'tool_calls') expect(choice.message.content?.length).toBeGreaterThan(0);
  });

  it('shows the functions to the model with auto, and not with none', async () => {
    const plain = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 4 });
    const none = await client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: 'none', temperature: 0, max_tokens: 4 });
    const auto = await client.chat.completions.create({ model, messages, tools: [weatherTool], temperature: 0, max_tokens: 4 });
    expect(none.usage!.prompt_tokens).toBe(plain.usage!.prompt_tokens);
    expect(auto.usage!.prompt_tokens).toBeGreaterThan(plain.usage!.prompt_tokens);
  });

  it('refuses what it cannot honour with a 400 that names the parameter', async () => {
    const post = (body: object) => http(stack.baseUrl, 'POST', '/v1/chat/completions', { model, messages, ...body });
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { s: { type: 'string', pattern: '^a' } } } } }];
    const pattern = await post({ tools, tool_choice: 'required' });
    expect(pattern.status).toBe(400);
    expect(pattern.body.error).toMatchObject({ code: 'unsupported_value', param: 'tools[0].function.parameters' });
    expect(pattern.body.error.message).toContain('pattern');

    const unknownName = await post({ tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'g' } } });
    expect(unknownName.status).toBe(400);
    expect(unknownName.body.error.param).toBe('tool_choice');

    const noTools = await post({ tool_choice: 'required' });
    expect(noTools.status).toBe(400);

    const orphan = await post({ messages: [...messages, { role: 'tool', tool_call_id: 'call_x', content: '1' }] });
    expect(orphan.status).toBe(400);
    expect(orphan.body.error.param).toBe('messages[1].tool_call_id');

    const both = await post({ tools: [weatherTool], response_format: { type: 'json_object' } });
    expect(both.status).toBe(400);
    expect(both.body.error.param).toBe('response_format');

    expect((await post({ max_tokens: 2 })).status).toBe(200);
  });
});

describe("LangChain's ChatOpenAI.bindTools (stories260K)", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('gets a tool call with arguments that satisfy the tool schema', async () => {
    const weather = tool(async ({ city }) => `sunny in ${city}`, { name: 'get_weather', description: 'The weather in a city.', schema: Weather });
    const chat = new ChatOpenAI({
      model: stack.api.deps.modelId,
      apiKey: 'not-needed',
      configuration: { baseURL: `${stack.baseUrl}/v1` },
      temperature: 0,
      maxTokens: 200,
      maxRetries: 0,
    });
    const message = await chat.bindTools([weather], { tool_choice: 'required' }).invoke('What is the weather in Paris?');
    expect(message.tool_calls).toHaveLength(1);
    const [call] = message.tool_calls!;
    expect(call?.name).toBe('get_weather');
    expect(Weather.parse(call?.args)).toEqual(call?.args);
    // LangChain runs the tool with the arguments the server gave.
    expect(await weather.invoke(call!)).toMatchObject({ content: `sunny in ${Weather.parse(call?.args).city}` });
  });
});
