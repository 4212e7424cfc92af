import { describe, expect, it } from 'vitest';
import { jobFailure } from '../../../core/contract/failure.ts';
import { decodeStreamEvent, encodeStreamEvent, type JobStreamEvent } from '../../../core/contract/stream-events.ts';
import type { GenerationResult } from '../../../core/job-contract.ts';

const result: GenerationResult = {
  text: 'Once upon a time',
  finish_reason: 'length',
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  model: 'stories260K:Q8_0',
  cached: false,
  timings: { queued_ms: 1, ttft_ms: 2, generation_ms: 3, tokens_per_second: 4 },
};

const everyEvent: JobStreamEvent[] = [
  { type: 'start', attempt: 2 },
  { type: 'token', text: 'Once = "upon"\n', tokens: 3 },
  { type: 'token', text: '', tokens: 0 },
  { type: 'token', text: ' upon', tokens: 5, logprobs: [{ token: ' upon', logprob: -0.25, top: [{ token: ' upon', logprob: -0.25 }, { token: ' a', logprob: -2 }] }] },
  { type: 'end', result },
  { type: 'error', failure: jobFailure('prompt_too_long', 'prompt is 600 tokens; the context holds 512 tokens including the generated ones') },
  { type: 'error', failure: jobFailure('generation_failed', 'Worker terminated: out of memory') },
];

describe('the job stream codec', () => {
  it.each(everyEvent.map((event) => [event.type, event] as const))('round-trips a %s event', (_type, event) => {
    const fields = encodeStreamEvent(event);
    expect(fields.length % 2).toBe(0);
    expect(fields.every((field) => typeof field === 'string')).toBe(true);
    expect(decodeStreamEvent(fields)).toEqual(event);
  });

  it('skips entries it cannot read: unknown types and a malformed result', () => {
    expect(decodeStreamEvent(['type', 'thought', 'text', 'hm'])).toBeUndefined();
    expect(decodeStreamEvent(['type', 'end', 'result', '{not json'])).toBeUndefined();
    expect(decodeStreamEvent([])).toBeUndefined();
  });

  it('reads a token event whose logprobs it cannot read as one without them', () => {
    expect(decodeStreamEvent(['type', 'token', 'text', 'a', 'tokens', '1', 'logprobs', '{not json'])).toEqual({ type: 'token', text: 'a', tokens: 1 });
    expect(decodeStreamEvent(['type', 'token', 'text', 'a', 'tokens', '1', 'logprobs', '[{"token":"a"}]'])).toEqual({ type: 'token', text: 'a', tokens: 1 });
  });

  it('reads counts that are not whole numbers as their defaults', () => {
    expect(decodeStreamEvent(['type', 'start', 'attempt', 'x'])).toEqual({ type: 'start', attempt: 1 });
    expect(decodeStreamEvent(['type', 'token', 'text', 'a', 'tokens', '-1'])).toEqual({ type: 'token', text: 'a', tokens: 0 });
  });

  it('reads an error written as an encoded reason alone', () => {
    expect(decodeStreamEvent(['type', 'error', 'message', 'prompt_too_long: too long'])).toEqual({
      type: 'error',
      failure: jobFailure('prompt_too_long', 'too long'),
    });
  });
});
