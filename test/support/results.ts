import type { GenerationResult } from '../../core/job-contract.ts';

/** A finished generation of `text` (one token per character), for tests of what carries results. */
export const generationResult = (text: string): GenerationResult => ({
  text,
  finish_reason: 'length',
  usage: { prompt_tokens: 1, completion_tokens: text.length, total_tokens: text.length + 1 },
  model: 'test',
  cached: false,
  timings: { queued_ms: 0, ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 },
});
