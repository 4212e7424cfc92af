import { describe, expect, it } from 'vitest';
import type { Submission } from '../../api/job-service.ts';
import { choiceSubmissions } from '../../api/openai/choices.ts';

const submission = (sampling: Partial<Submission['sampling']>): Submission => ({
  tenant: 't',
  input: { prompt: 'Once' },
  sampling: { max_tokens: 8, temperature: 1, top_p: 1, top_k: 0, stop: [], ...sampling },
  priority: 5,
  cache: true,
});

describe('the jobs of n choices', () => {
  it('gives seeded choices seed + i, the first keeping the request seed, wrapping at 2^32', () => {
    const seeds = choiceSubmissions(submission({ seed: 2 ** 32 - 2 }), 4).map((each) => each.sampling.seed);
    expect(seeds).toEqual([2 ** 32 - 2, 2 ** 32 - 1, 0, 1]);
  });

  it('repeats the same job when there is no seed: greedy choices share it, sampled ones sample apart', () => {
    const one = submission({ temperature: 0 });
    expect(choiceSubmissions(one, 3)).toEqual([one, one, one]);
  });
});
