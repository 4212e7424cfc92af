import { describe, expect, it } from 'vitest';
import { logitBiasRefusal, logitBiasSchema, toJobPenalties } from '../../../core/contract/penalties.ts';

describe('toJobPenalties', () => {
  it('keeps only what changes the output', () => {
    expect(toJobPenalties({})).toEqual({});
    expect(toJobPenalties({ presence_penalty: 0, frequency_penalty: null, logit_bias: { '7': 0 } })).toEqual({});
    expect(toJobPenalties({ presence_penalty: -1.5, frequency_penalty: 2, logit_bias: { '30': 1, '5': -100 } })).toEqual({
      presence_penalty: -1.5,
      frequency_penalty: 2,
      logit_bias: { '5': -100, '30': 1 },
    });
  });
});

describe('logitBiasSchema', () => {
  it('takes decimal token ids and biases from -100 to 100, at most 300 of them', () => {
    expect(logitBiasSchema.safeParse({ '0': -100, '50256': 100 }).success).toBe(true);
    for (const bad of [{ '01': 1 }, { '-1': 1 }, { x: 1 }, { '5': 100.5 }, { '5': '1' }]) expect(logitBiasSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 301 }, (_, i) => [String(i), 1]));
    expect(logitBiasSchema.safeParse(many).success).toBe(false);
  });
});

describe('logitBiasRefusal', () => {
  const vocabulary = { vocabularySize: 512, endsGeneration: (token: number) => token === 2 };

  it('accepts a token of the vocabulary that does not end generation', () => {
    expect(logitBiasRefusal('0', vocabulary)).toBeUndefined();
    expect(logitBiasRefusal('511', vocabulary)).toBeUndefined();
  });

  it('refuses ids beyond the vocabulary, and end-of-generation tokens', () => {
    expect(logitBiasRefusal('512', vocabulary)).toBe("logit_bias: token 512 is not in the model's vocabulary (ids 0 to 511)");
    expect(logitBiasRefusal('2', vocabulary)).toBe('logit_bias: token 2 ends generation, and its bias cannot be set');
  });
});
