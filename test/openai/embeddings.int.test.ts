import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../core/metrics/names.ts';
import { Scrape } from '../metrics/exposition.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

/** Our extensions travel in the body like any other parameter; OpenAI's types just do not list them. */
const extensions = (body: { cache?: boolean; priority?: number }) => body as Record<string, never>;

/** A text far longer than stories260K's 512-token context, well under MAX_PROMPT_CHARS. */
const TOO_LONG = 'the cat sat on the mat. '.repeat(200);

describe('POST /v1/embeddings with the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  let size: number;
  const contextsCreated = async () => (await Scrape.of(`${stack.baseUrl}/metrics`)).value(METRICS.embeddingContextsCreated.name, { model });
  const jobCount = async () => Object.values(await stack.api.queue.getJobCounts()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    // The API does not count tokens here, so over-long inputs reach the worker, which refuses them
    // itself (the API's early refusal is tested in test/api/embeddings.int.test.ts).
    stack = await startStack({ env: { CHECK_PROMPT_TOKENS: 'false' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
    const models = await http(stack.baseUrl, 'GET', '/v1/models');
    size = models.body.data[0].embedding_size;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("lists the model's embedding size with the served model", () => {
    // stories260K: embedding_length 64.
    expect(size).toBe(64);
  });

  it('creates the embedding context with the first embedding job: not at start, not for generations, not for a refused input', async () => {
    expect(await contextsCreated()).toBe(0);
    await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
    expect(await contextsCreated()).toBe(0);
    const refused = await client.embeddings.create({ model, input: TOO_LONG, encoding_format: 'float' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await contextsCreated()).toBe(0);

    await client.embeddings.create({ model, input: 'Once upon a time', encoding_format: 'float' });
    expect(await contextsCreated()).toBe(1);
    await client.embeddings.create({ model, input: 'There was a little dog', encoding_format: 'float' });
    expect(await contextsCreated()).toBe(1);
  });

  it('embeds a string as one vector of the embedding size, in OpenAI’s list shape', async () => {
    const answer = await client.embeddings.create({ model, input: 'The sun was shining.', encoding_format: 'float', user: 'someone' });
    expect(answer.object).toBe('list');
    expect(answer.model).toBe(model);
    expect(answer.data).toHaveLength(1);
    expect(answer.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    expect(answer.data[0]!.embedding).toHaveLength(size);
    expect(answer.data[0]!.embedding.every(Number.isFinite)).toBe(true);
    expect(answer.data[0]!.embedding.some((x) => x !== 0)).toBe(true);
    expect(answer.usage.prompt_tokens).toBeGreaterThan(3);
    expect(answer.usage.total_tokens).toBe(answer.usage.prompt_tokens);
  });

  it('embeds an array of strings in one job, in input order, each as it would be alone', async () => {
    const inputs = ['Tom had a red ball.', 'Sue liked to sing.', 'The bird flew away.'];
    const { data: answer, response } = await client.embeddings.create({ model, input: inputs, encoding_format: 'float' }).withResponse();
    expect(answer.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const job = await stack.api.queue.getJob(response.headers.get('x-job-id')!);
    expect(job?.name).toBe('embed');
    expect(job?.data.embed).toEqual({ inputs });
    // Another job, computing the second text alone, gives the very same vector.
    const alone = await client.embeddings.create({ model, input: inputs[1]!, encoding_format: 'float' });
    expect(alone.data[0]!.embedding).toEqual(answer.data[1]!.embedding);
    expect(answer.data[0]!.embedding).not.toEqual(answer.data[1]!.embedding);
    expect(answer.usage.prompt_tokens).toBeGreaterThan(alone.usage.prompt_tokens);
  });

  it('decodes base64 (what the client asks for by default) to exactly the floats', async () => {
    const input = 'Lily found a shiny stone.';
    const floats = await client.embeddings.create({ model, input, encoding_format: 'float' });
    // No format named: the client asks for base64 and decodes it into numbers.
    const decoded = await client.embeddings.create({ model, input, ...extensions({ cache: false }) });
    expect(decoded.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    const raw = await client.embeddings.create({ model, input, encoding_format: 'base64' });
    const base64 = raw.data[0]!.embedding as unknown as string;
    expect(typeof base64).toBe('string');
    const bytes = Buffer.from(base64, 'base64');
    const vector = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(vector).toEqual(floats.data[0]!.embedding);
  });

  it('answers a repeated request from the cache, without a second job, unless the client opts out', async () => {
    const request = { model, input: ['A big red bus.', 'A small blue car.'], encoding_format: 'float' as const };
    const first = await client.embeddings.create(request).withResponse();
    const firstId = first.response.headers.get('x-job-id')!;
    expect(firstId).toMatch(/^[0-9a-f-]{36}$/);
    const jobs = await jobCount();
    const again = await client.embeddings.create(request).withResponse();
    expect(again.response.headers.get('x-job-id')).toMatch(/^c-[0-9a-f]{64}$/);
    expect(again.data.data).toEqual(first.data.data);
    expect(await jobCount()).toBe(jobs);
    // The cached answer is pollable like a job while it lives.
    const cached = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${again.response.headers.get('x-job-id')}`);
    expect(cached.body).toMatchObject({ status: 'completed', result: { cached: true, dimensions: size } });

    const fresh = await client.embeddings.create({ ...request, ...extensions({ cache: false }) }).withResponse();
    expect(fresh.response.headers.get('x-job-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.response.headers.get('x-job-id')).not.toBe(firstId);
    expect(fresh.data.data).toEqual(first.data.data);
    expect(await jobCount()).toBe(jobs + 1);
  });

  it("refuses dimensions other than the model's embedding size, and accepts it equal", async () => {
    const error = await client.embeddings.create({ model, input: 'Hello', dimensions: size / 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_value');
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('dimensions');
    const same = await client.embeddings.create({ model, input: 'Hello', dimensions: size, encoding_format: 'float' });
    expect(same.data[0]!.embedding).toHaveLength(size);
  });

  it('refuses token arrays, empty inputs and a model it does not serve, with OpenAI’s errors', async () => {
    const tokens = await client.embeddings.create({ model, input: [[1, 2, 3]] }).catch((e: unknown) => e);
    expect(tokens).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tokens as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unsupported_value');
    expect((tokens as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input');
    const empty = await http(stack.baseUrl, 'POST', '/v1/embeddings', { model, input: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'invalid_value', param: 'input' });
    const missing = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'Hi' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses an input longer than the context as prompt_too_long, naming it', async () => {
    const error = await client.embeddings.create({ model, input: ['A short one.', TOO_LONG], encoding_format: 'float' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('prompt_too_long');
    expect((error as Error).message).toMatch(/input\[1\] is \d+ tokens; an embedding input must be shorter than the context \(512 tokens\)/);
  });
});
