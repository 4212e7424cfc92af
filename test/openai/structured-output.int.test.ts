import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { loadVocabulary, type Vocabulary } from './vocabulary.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const extensions = (body: { cache?: boolean }) => body as Record<string, never>;

/** Small enough that every value completes well within max_tokens, even written by noise. */
const Pet = z.object({
  name: z.string().max(12),
  kind: z.enum(['cat', 'dog', 'bird']),
  age: z.number().int(),
  happy: z.boolean(),
});

describe('structured output through the official openai client (stories260K)', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  let vocabulary: Vocabulary;
  const messages = [{ role: 'user' as const, content: 'Describe a pet as JSON.' }];

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
    vocabulary = await loadVocabulary(stack);
  });
  afterAll(async () => {
    await vocabulary?.dispose();
    await stack?.close();
  });

  it('parses a chat answer into the zod schema it was asked for', async () => {
    const completion = await client.chat.completions.parse({ model, messages, response_format: zodResponseFormat(Pet, 'pet'), temperature: 0, max_tokens: 200 });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(Pet.parse(choice?.message.parsed)).toEqual(choice?.message.parsed);
    expect(JSON.parse(choice?.message.content ?? '')).toEqual(choice?.message.parsed);
  });

  it('answers json_object with a JSON object, cut short at max_tokens when the model does not close it', async () => {
    const request = { model, messages, response_format: { type: 'json_object' as const }, temperature: 0, max_tokens: 120 };
    // stories260K writes dialogue into the object for as long as it may: the JSON is cut short.
    const left = (await client.chat.completions.create(request)).choices[0];
    expect(left?.finish_reason).toBe('length');
    expect(left?.message.content).toMatch(/^\{ "/);
    expect(() => JSON.parse(left?.message.content ?? '')).toThrow();
    // Nudged towards "}" (a logit bias the grammar lets act only where "}" is valid JSON), it closes it.
    const close = Object.fromEntries(vocabulary.tokensOf('}').map((id) => [String(id), 6]));
    const closed = (await client.chat.completions.create({ ...request, logit_bias: close })).choices[0];
    expect(closed?.finish_reason).toBe('stop');
    const value: unknown = JSON.parse(closed?.message.content ?? '');
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  });

  it('enforces a schema on /v1/completions too, and streams the same text', async () => {
    const request = {
      model,
      prompt: 'Once upon a time',
      max_tokens: 200,
      temperature: 0,
      ...extensions({ cache: false }),
      response_format: { type: 'json_schema', json_schema: { name: 'story', schema: z.toJSONSchema(Pet) } },
    } as OpenAI.CompletionCreateParamsNonStreaming;
    const whole = await client.completions.create(request);
    expect(whole.choices[0]?.finish_reason).toBe('stop');
    const text = whole.choices[0]?.text ?? '';
    Pet.parse(JSON.parse(text));
    let streamed = '';
    for await (const chunk of await client.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(text);
  });

  it('reports finish_reason length with the JSON cut short when max_tokens ends it', async () => {
    const completion = await client.chat.completions.create({ model, messages, response_format: zodResponseFormat(Pet, 'pet'), temperature: 0, max_tokens: 3 });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content).toMatch(/^\{/);
    const parse = client.chat.completions.parse({ model, messages, response_format: zodResponseFormat(Pet, 'pet'), temperature: 0, max_tokens: 3 });
    await expect(parse).rejects.toThrow(/length/i);
  });

  it('refuses a schema keyword outside the subset with 400, naming it', async () => {
    const error = await client.chat.completions
      .create({
        model,
        messages,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'id', schema: { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } }, required: ['id'] } },
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.code).toBe('unsupported_value');
    expect(bad.param).toBe('response_format.json_schema.schema');
    expect(bad.message).toContain('response_format.json_schema.schema.properties.id: pattern is not supported');
  });

  it('keys the cache and in-flight sharing by the schema', async () => {
    const ask = (schema: object) =>
      http(stack.baseUrl, 'POST', '/v1/chat/completions', {
        model,
        messages,
        temperature: 0,
        max_tokens: 100,
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
      });
    const colour = { type: 'object', properties: { colour: { enum: ['red', 'blue'] } } };
    const size = { type: 'object', properties: { size: { enum: ['small', 'large'] } } };
    const first = await ask(colour);
    const other = await ask(size);
    const again = await ask(colour);
    expect([first.status, other.status, again.status]).toEqual([200, 200, 200]);
    expect(Object.keys(JSON.parse(first.body.choices[0].message.content))).toEqual(['colour']);
    expect(Object.keys(JSON.parse(other.body.choices[0].message.content))).toEqual(['size']);
    expect(other.headers.get('x-job-id')).not.toBe(first.headers.get('x-job-id'));
    expect(again.headers.get('x-job-id')).toMatch(/^c-/);
    expect(again.body.choices[0].message.content).toBe(first.body.choices[0].message.content);
  });

  it('enforces response_format on the native API as well', async () => {
    const res = await http(stack.baseUrl, 'POST', '/api/v1/generate', {
      prompt: 'Once upon a time',
      max_tokens: 200,
      temperature: 0,
      response_format: { type: 'json_schema', json_schema: { name: 'pet', schema: z.toJSONSchema(Pet) } },
    });
    expect(res.status).toBe(200);
    expect(res.body.finish_reason).toBe('stop');
    Pet.parse(JSON.parse(res.body.text));
    const refused = await http(stack.baseUrl, 'POST', '/api/v1/jobs', {
      prompt: 'Hi',
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { oneOf: [{ type: 'string' }, { type: 'number' }] } } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'unsupported_value', message: expect.stringContaining('oneOf is not supported') });
  });
});

/** A schema with every kind of subset keyword, and a zod schema that validates exactly what it allows. */
const richSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    score: { type: 'number' },
    when: { type: 'string', format: 'date' },
    at: { type: 'string', format: 'date-time' },
    tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 5 }, maxItems: 3 },
    email: { anyOf: [{ type: 'string', maxLength: 20 }, { type: 'null' }] },
    choice: { anyOf: [{ const: 'a' }, { type: 'integer' }] },
    point: { $ref: '#/$defs/point' },
  },
  required: ['id', 'score', 'when', 'at', 'tags', 'email', 'choice', 'point'],
  additionalProperties: false,
  $defs: { point: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'number' }], items: false } },
};
const Rich = z.strictObject({
  id: z.number().int(),
  score: z.number(),
  when: z.iso.date(),
  at: z.iso.datetime({ offset: true }),
  tags: z.array(z.string().min(1).max(5)).max(3),
  email: z.string().max(20).nullable(),
  choice: z.union([z.literal('a'), z.number().int()]),
  point: z.tuple([z.number(), z.number()]),
});

describe('structured output written by noise (builtin:tiny)', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;

  // Random weights pick any token the grammar allows: whatever they write must still validate.
  beforeAll(async () => {
    stack = await startStack({ env: { MODEL: 'builtin:tiny', CONTEXT_SIZE: '1024' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const samplings: { temperature: number; seed?: number }[] = [{ temperature: 0 }, ...[1, 2, 3, 4, 5].map((seed) => ({ temperature: 1, seed }))];

  it.each(samplings)('validates against a schema using every subset keyword (%o)', async (sampling) => {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Fill in the record.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'rich', schema: richSchema, strict: true } },
      max_tokens: 800,
      ...sampling,
    });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    Rich.parse(JSON.parse(completion.choices[0]?.message.content ?? ''));
  });

  it.each(samplings.filter(({ seed }) => seed !== 1))('answers json_object with a JSON object (%o)', async (sampling) => {
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'JSON' }], response_format: { type: 'json_object' }, max_tokens: 600, ...sampling });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const value: unknown = JSON.parse(completion.choices[0]?.message.content ?? '');
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  });

  it('runs json_object to max_tokens where noise keeps writing one string (seed 1), the text a prefix of JSON', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'JSON' }],
      response_format: { type: 'json_object' },
      max_tokens: 600,
      temperature: 1,
      seed: 1,
    });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.choices[0]?.message.content).toMatch(/^\{"/);
  });

  it.each(samplings)('parses into a zod schema through the openai client (%o)', async (sampling) => {
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: 'user', content: 'A pet, please.' }],
      response_format: zodResponseFormat(Pet, 'pet'),
      max_tokens: 400,
      ...sampling,
    });
    expect(Pet.parse(completion.choices[0]?.message.parsed)).toBeTruthy();
  });
});
