import { describe, expect, it } from 'vitest';
import { cacheHash, isCacheable, isDeterministic } from '../../core/cache.ts';
import { EMBEDDING_SAMPLING, type Sampling } from '../../core/job-contract.ts';

const greedy: Sampling = { max_tokens: 16, temperature: 0, top_p: 0.95, top_k: 40, stop: [] };

describe('isDeterministic', () => {
  it('holds for greedy sampling and for a fixed seed only', () => {
    expect(isDeterministic({ temperature: 0 })).toBe(true);
    expect(isDeterministic({ temperature: 0.8, seed: 1 })).toBe(true);
    expect(isDeterministic({ temperature: 0.8 })).toBe(false);
  });
});

describe('isCacheable', () => {
  it('holds for every embedding job, and for generations when they are deterministic', () => {
    expect(isCacheable({ embed: { inputs: ['hi'] } }, { temperature: 0.8 })).toBe(true);
    expect(isCacheable({ prompt: 'hi' }, { temperature: 0.8 })).toBe(false);
    expect(isCacheable({ prompt: 'hi' }, { temperature: 0 })).toBe(true);
  });
});

describe('cacheHash', () => {
  const hash = (s: Partial<Sampling> = {}, prompt = 'Once', model = 'm') => cacheHash(model, { prompt }, { ...greedy, ...s });

  it('is stable for the same request', () => {
    expect(hash()).toBe(hash());
    expect(hash()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs when the model, prompt or any parameter that changes the output differs', () => {
    const base = hash();
    expect(hash({}, 'Once ')).not.toBe(base);
    expect(hash({}, 'Once', 'other')).not.toBe(base);
    expect(hash({ max_tokens: 17 })).not.toBe(base);
    expect(hash({ stop: ['x'] })).not.toBe(base);
    expect(hash({ temperature: 0.5, seed: 1 })).not.toBe(hash({ temperature: 0.5, seed: 2 }));
    expect(hash({ temperature: 0.5, seed: 1, top_k: 10 })).not.toBe(hash({ temperature: 0.5, seed: 1 }));
  });

  it('ignores sampling knobs that greedy decoding does not use', () => {
    expect(hash({ top_p: 0.5, top_k: 3, seed: 9 })).toBe(hash());
  });

  it('differs by response format, schema, penalties and logit bias', () => {
    const base = hash();
    const json = hash({ response_format: { type: 'json_object' } });
    const schemaA = hash({ response_format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } } });
    const schemaB = hash({ response_format: { type: 'json_schema', schema: { type: 'object', properties: { b: { type: 'string' } } } } });
    expect(new Set([base, json, schemaA, schemaB]).size).toBe(4);
    expect(hash({ presence_penalty: 0.5 })).not.toBe(base);
    expect(hash({ presence_penalty: 0.5 })).not.toBe(hash({ frequency_penalty: 0.5 }));
    expect(hash({ logit_bias: { '5': -100 } })).not.toBe(base);
    expect(hash({ logit_bias: { '5': -100 } })).not.toBe(hash({ logit_bias: { '5': 100 } }));
  });

  it('differs by logprobs and their count of alternatives, when a request asks for them', () => {
    const base = hash();
    expect(new Set([base, hash({ logprobs: 0 }), hash({ logprobs: 5 })]).size).toBe(3);
    expect(hash({ logprobs: 2, presence_penalty: 0.5 })).not.toBe(hash({ presence_penalty: 0.5 }));
  });

  it('does not depend on the order logit_bias lists its tokens in', () => {
    expect(hash({ logit_bias: { '5': 1, '30': -1 } })).toBe(hash({ logit_bias: JSON.parse('{"30": -1, "5": 1}') as Record<string, number> }));
  });

  it('tells a prompt from chat messages with the same text', () => {
    expect(cacheHash('m', { prompt: 'hi' }, greedy)).not.toBe(cacheHash('m', { messages: [{ role: 'user', content: 'hi' }] }, greedy));
  });

  it('tells embeddings from a generation of the same text, and keys them by their texts, in order', () => {
    const embed = (inputs: string[], dimensions?: number) =>
      cacheHash('m', { embed: { inputs, ...(dimensions === undefined ? {} : { dimensions }) } }, EMBEDDING_SAMPLING);
    expect(embed(['hi'])).toBe(embed(['hi']));
    expect(embed(['hi'])).not.toBe(cacheHash('m', { prompt: 'hi' }, greedy));
    expect(embed(['hi'])).not.toBe(cacheHash('m', { prompt: 'hi' }, EMBEDDING_SAMPLING));
    expect(embed(['a', 'b'])).not.toBe(embed(['b', 'a']));
    expect(embed(['a', 'b'])).not.toBe(embed(['a b']));
    expect(embed(['hi'], 64)).not.toBe(embed(['hi']));
    expect(cacheHash('m', { embed: { inputs: ['hi'] } }, EMBEDDING_SAMPLING, 'tenant-a')).not.toBe(embed(['hi']));
  });
});
