import type { GenerationResult } from '../job-contract.ts';
import { decodeFailure, type JobFailure } from './failure.ts';
import { isTokenLogprobList, type TokenLogprob } from './logprobs.ts';

/**
 * The events of a job's token stream (a Redis Stream per job, written by the worker that runs the
 * job and read by every API process that follows it):
 * - `start`: a run of the job begins (its first, or a retry after a failure or a lost worker);
 *   readers drop the text of any earlier run;
 * - `token`: more text, and the count of tokens generated so far; for a job that asked for them,
 *   the log probabilities of the tokens that carried the text (the end's result has them all);
 * - `end`: the result, whose text is authoritative and extends the tokens (append-only-text.ts);
 * - `error`: the job failed for good.
 */
export type JobStreamEvent =
  | { type: 'start'; attempt: number }
  | { type: 'token'; text: string; tokens: number; logprobs?: TokenLogprob[] }
  | { type: 'end'; result: GenerationResult }
  | { type: 'error'; failure: JobFailure };

/** A Redis Stream entry's fields: name, value, name, value… */
export type StreamFields = string[];

export function encodeStreamEvent(event: JobStreamEvent): StreamFields {
  switch (event.type) {
    case 'start':
      return ['type', 'start', 'attempt', String(event.attempt)];
    case 'token':
      return [
        'type',
        'token',
        'text',
        event.text,
        'tokens',
        String(event.tokens),
        ...(event.logprobs === undefined ? [] : ['logprobs', JSON.stringify(event.logprobs)]),
      ];
    case 'end':
      return ['type', 'end', 'result', JSON.stringify(event.result)];
    case 'error': {
      const { code, message, retryable, expose } = event.failure;
      return ['type', 'error', 'code', code, 'message', message, 'retryable', retryable ? '1' : '0', 'expose', expose ? '1' : '0'];
    }
  }
}

/**
 * Undefined for entries this process cannot read (unknown types, malformed values): during a
 * rolling upgrade a newer worker may write events an older API does not know.
 */
export function decodeStreamEvent(fields: StreamFields): JobStreamEvent | undefined {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  switch (f.get('type')) {
    case 'start':
      return { type: 'start', attempt: count(f.get('attempt'), 1) };
    case 'token': {
      const logprobs = parsed(f.get('logprobs'));
      return { type: 'token', text: f.get('text') ?? '', tokens: count(f.get('tokens'), 0), ...(isTokenLogprobList(logprobs) ? { logprobs } : {}) };
    }
    case 'end':
      try {
        return { type: 'end', result: JSON.parse(f.get('result') ?? '') as GenerationResult };
      } catch {
        return undefined;
      }
    case 'error': {
      const code = f.get('code');
      const message = f.get('message') ?? '';
      // Without a code: a worker that wrote the failure as its encoded reason.
      if (code === undefined) return { type: 'error', failure: decodeFailure(message) };
      return { type: 'error', failure: { code, message, retryable: f.get('retryable') === '1', expose: f.get('expose') === '1' } };
    }
    default:
      return undefined;
  }
}

function parsed(json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function count(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}
