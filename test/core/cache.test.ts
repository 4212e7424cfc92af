import { describe, expect, it } from 'vitest';
import { cacheHash, isDeterministic } from '../../core/cache.ts';
import type { Sampling } from '../../core/job-contract.ts';

const greedy: Sampling = { max_tokens: 16, temperature: 0, top_p: 0.95, top_k: 40, stop: [] };

describe('isDeterministic', () => {
  it('holds for greedy sampling and for a fixed seed only', () => {
    expect(isDeterministic({ temperature: 0 })).toBe(true);
    expect(isDeterministic({ temperature: 0.8, seed: 1 })).toBe(true);
    expect(isDeterministic({ temperature: 0.8 })).toBe(false);
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

  it('does not depend on the order logit_bias lists its tokens in', () => {
    expect(hash({ logit_bias: { '5': 1, '30': -1 } })).toBe(hash({ logit_bias: JSON.parse('{"30": -1, "5": 1}') as Record<string, number> }));
  });

  it('tells a prompt from chat messages with the same text', () => {
    expect(cacheHash('m', { prompt: 'hi' }, greedy)).not.toBe(cacheHash('m', { messages: [{ role: 'user', content: 'hi' }] }, greedy));
  });
});
