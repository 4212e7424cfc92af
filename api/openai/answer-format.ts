import type { TokenLogprob } from '../../core/contract/logprobs.ts';
import type { GenerationResult } from '../../core/job-contract.ts';
import type { SseEvent } from '../sse.ts';
import type { ResponseMeta } from './responses.ts';

/**
 * The events of one streamed answer. A shape is made for one request, so that a format may carry
 * state from event to event: the Responses API numbers its events and repeats the text so far.
 */
export interface StreamShape {
  /** Sent at once, before the job has produced anything, so clients see the answer start while it waits in the queue. */
  opening(): SseEvent[];
  /** `logprobs`: the entries of the tokens of `delta`, when the request asked for them (formats without logprobs ignore them). */
  text(delta: string, logprobs?: TokenLogprob[]): SseEvent[];
  /** The end of an answer whose every delta has been sent: `result.text` is their concatenation. */
  finish(result: GenerationResult): SseEvent[];
  /** The end of a stream whose job failed, or could not be followed, after the stream began. */
  failure(status: number, code: string, message: string): SseEvent[];
}

/** How one endpoint answers a job: whole, or as a stream of events. */
export interface AnswerFormat<Full> {
  /** Put before the job id to make the answer's id (`chatcmpl-`, `resp_`). */
  idPrefix: string;
  full(meta: ResponseMeta, result: GenerationResult): Full;
  stream(meta: ResponseMeta, includeUsage: boolean): StreamShape;
}

/**
 * The events of a streamed answer of several choices (`n`), each the stream of its own job: every
 * chunk names its choice by `index`, each choice finishes on its own, and the answer ends once.
 */
export interface ChoicesStreamShape {
  opening(choices: number): SseEvent[];
  text(index: number, delta: string, logprobs?: TokenLogprob[]): SseEvent[];
  /** The end of one choice whose every delta has been sent. */
  finishChoice(index: number, result: GenerationResult): SseEvent[];
  /** The end of the answer, after every choice finished (usage sums them). */
  end(results: GenerationResult[]): SseEvent[];
  failure(status: number, code: string, message: string): SseEvent[];
}

/** A format that also answers several choices (the completions endpoints). */
export interface ChoicesFormat<Full> extends AnswerFormat<Full> {
  /** One answer holding every choice, in order; usage sums the jobs. */
  fullChoices(meta: ResponseMeta, results: GenerationResult[]): Full;
  streamChoices(meta: ResponseMeta, includeUsage: boolean): ChoicesStreamShape;
}
