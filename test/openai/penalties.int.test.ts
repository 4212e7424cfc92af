import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { loadVocabulary, type Vocabulary } from './vocabulary.ts';

describe('presence_penalty, frequency_penalty and logit_bias (stories260K, greedy)', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  let vocabulary: Vocabulary;
  let size: number;

  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
    vocabulary = await loadVocabulary(stack);
    size = vocabulary.size;
  });
  afterAll(async () => {
    await vocabulary?.dispose();
    await stack?.close();
  });

  const complete = async (extra: Partial<OpenAI.CompletionCreateParamsNonStreaming>, maxTokens = 40) =>
    (await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: maxTokens, temperature: 0, ...extra })).choices[0]?.text ?? '';
  const tokensOf = (text: string) => vocabulary.tokensOf(text);
  /** How many of the text's tokens repeat an earlier one. */
  const repeats = (text: string) => {
    const tokens = vocabulary.model.tokenize(text);
    return tokens.length - new Set(tokens).size;
  };

  it('bans the token greedy decoding picks first with a bias of -100', async () => {
    const first = await complete({}, 1);
    const ids = tokensOf(first);
    expect(ids.length).toBeGreaterThan(0);
    const bias = Object.fromEntries(ids.map((id) => [String(id), -100]));
    const banned = await complete({ logit_bias: bias }, 1);
    expect(banned).not.toBe(first);
    expect(await complete({ logit_bias: bias })).not.toBe(await complete({}));
  });

  it('forces a token with a bias of 100', async () => {
    const [bang] = tokensOf('!');
    expect(bang).toBeDefined();
    expect(await complete({ logit_bias: { [String(bang)]: 100 } }, 5)).toBe('!!!!!');
  });

  it('lowers repetition with frequency_penalty and presence_penalty', async () => {
    const plain = await complete({}, 80);
    const frequency = await complete({ frequency_penalty: 2 }, 80);
    const presence = await complete({ presence_penalty: 2 }, 80);
    expect(frequency).not.toBe(plain);
    expect(presence).not.toBe(plain);
    expect(repeats(frequency)).toBeLessThan(repeats(plain));
    expect(repeats(presence)).toBeLessThan(repeats(plain));
  });

  it('raises repetition with negative penalties', async () => {
    const plain = await complete({}, 80);
    const negative = await complete({ frequency_penalty: -2 }, 80);
    expect(repeats(negative)).toBeGreaterThan(repeats(plain));
  });

  it('keys the cache by penalties and bias', async () => {
    const ask = (extra: object) => http(stack.baseUrl, 'POST', '/v1/completions', { model, prompt: 'The dog', max_tokens: 8, temperature: 0, ...extra });
    const plain = await ask({ presence_penalty: 0 });
    const penalized = await ask({ presence_penalty: 1.5 });
    const again = await ask({ presence_penalty: 1.5 });
    expect(penalized.headers.get('x-job-id')).not.toBe(plain.headers.get('x-job-id'));
    expect(again.headers.get('x-job-id')).toMatch(/^c-/);
    expect(again.body.choices[0].text).toBe(penalized.body.choices[0].text);
  });

  it('refuses, before queueing, a logit_bias that names a token outside the vocabulary or one that ends generation', async () => {
    for (const stream of [false, true]) {
      const outside = await http(stack.baseUrl, 'POST', '/v1/completions', { model, prompt: 'Hi', stream, logit_bias: { [String(size)]: -5 } });
      expect(outside.status).toBe(400);
      expect(outside.headers.get('x-job-id')).toBeNull();
      expect(outside.body.error).toMatchObject({
        code: 'invalid_request',
        param: `logit_bias.${size}`,
        message: `logit_bias: token ${size} is not in the model's vocabulary (ids 0 to ${size - 1})`,
      });
    }
    const eos = vocabulary.model.tokens.eos;
    expect(eos).not.toBeNull();
    const ending = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Hi', logit_bias: { [String(eos)]: -100 } });
    expect(ending.status).toBe(400);
    expect(ending.body.error).toMatchObject({ code: 'invalid_request', message: `logit_bias: token ${eos} ends generation, and its bias cannot be set` });
  });
});

describe('logit_bias when the API cannot read the model vocabulary', () => {
  let stack: TestStack;

  // CHECK_PROMPT_TOKENS=false: the API reads no vocabulary, as when the model file is out of its reach.
  beforeAll(async () => {
    stack = await startStack({ env: { CHECK_PROMPT_TOKENS: 'false' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('fails the job in the worker with the same 400, and never biases past the vocabulary', async () => {
    const model = stack.api.deps.modelId;
    const res = await http(stack.baseUrl, 'POST', '/v1/completions', { model, prompt: 'Hi', logit_bias: { '4000000000': -5 } });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-job-id')).not.toBeNull();
    expect(res.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^logit_bias: token 4000000000 is not in the model's vocabulary/) });
  });
});
