import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { GenerationResult } from '../../core/job-contract.ts';
import type { SseEvent } from '../../api/sse.ts';
import { inputMessages } from '../../api/openai/responses-api/input-messages.ts';
import { responseEvents } from '../../api/openai/responses-api/response-events.ts';
import { finishedResponse, type ResponseEcho } from '../../api/openai/responses-api/response-object.ts';
import type { ResponseObject, ResponseStreamEvent } from '../../api/openai/responses-api/response-schemas.ts';

const meta = { id: 'resp_job-1', created: 1_700_000_000, model: 'stories260K:Q8_0' };
const echo: ResponseEcho = {
  instructions: 'Be brief.',
  max_output_tokens: 16,
  metadata: { run: 'one' },
  parallel_tool_calls: true,
  temperature: 0,
  top_p: 1,
};

function result(text: string, finish_reason: GenerationResult['finish_reason']): GenerationResult {
  return {
    text,
    finish_reason,
    usage: { prompt_tokens: 7, completion_tokens: 16, total_tokens: 23 },
    model: meta.model,
    cached: false,
    timings: { queued_ms: 0, ttft_ms: 0, generation_ms: 0, tokens_per_second: 0 },
  };
}

// The SDK adds `output_text` on the client side: the server does not send it (neither does OpenAI).
type WireResponse = Omit<OpenAI.Responses.Response, 'output_text'>;

// Events as the SDK hands them out: with `output_text` added to the responses they carry.
type AsTheSdkReadsIt<E> = E extends { response: ResponseObject } ? Omit<E, 'response'> & { response: ResponseObject & { output_text: string } } : E;

// Checked by the compiler: every response and event this server can send is one of OpenAI's.
export const asOpenAi = {
  response: (response: ResponseObject): WireResponse => response,
  event: (event: AsTheSdkReadsIt<ResponseStreamEvent>): OpenAI.Responses.ResponseStreamEvent => event,
};

const dataOf = (events: SseEvent[]) => events.map((event) => event.data as OpenAI.Responses.ResponseStreamEvent);

describe('the Responses API shapes', () => {
  it('build a response that is an OpenAI Response, incomplete when cut off by the token limit', () => {
    const response: WireResponse = finishedResponse(meta, echo, result('Once upon a time', 'length'));
    expect(response).toMatchObject({
      id: 'resp_job-1',
      object: 'response',
      created_at: meta.created,
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      completed_at: null,
      error: null,
      instructions: 'Be brief.',
      metadata: { run: 'one' },
      output: [
        {
          type: 'message',
          id: 'msg_job-1',
          status: 'incomplete',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Once upon a time', annotations: [], logprobs: [] }],
        },
      ],
      usage: {
        input_tokens: 7,
        input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        output_tokens: 16,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 23,
      },
    });
    expect(response).not.toHaveProperty('output_text');
    expect(response).not.toHaveProperty('user');
  });

  it('build a completed response when the model ended its answer', () => {
    const response: WireResponse = finishedResponse(meta, { ...echo, user: 'u-1' }, result('The end.', 'stop'));
    expect(response.status).toBe('completed');
    expect(response.incomplete_details).toBeNull();
    expect(response.completed_at).toEqual(expect.any(Number));
    expect(response.output[0]).toMatchObject({ status: 'completed' });
    expect(response.user).toBe('u-1');
  });

  it("stream OpenAI's events in OpenAI's order, numbered from 0 and named like their type", () => {
    const shape = responseEvents(meta, echo);
    const sent = [...shape.opening(), ...shape.text('Once'), ...shape.text(' upon'), ...shape.finish(result('Once upon', 'stop'))];
    const events = dataOf(sent);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(sent.map((event) => event.event)).toEqual(events.map((event) => event.type));
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events[0]).toMatchObject({ response: { status: 'in_progress', output: [], completed_at: null } });
    expect(events[0]).not.toHaveProperty('response.usage');
    expect(events[2]).toMatchObject({ output_index: 0, item: { id: 'msg_job-1', status: 'in_progress', content: [] } });
    const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event] : []));
    expect(deltas.map((event) => [event.item_id, event.output_index, event.content_index])).toEqual([
      ['msg_job-1', 0, 0],
      ['msg_job-1', 0, 0],
    ]);
    expect(events[6]).toMatchObject({ text: 'Once upon' });
    expect(events.at(-1)).toMatchObject({ response: { status: 'completed', output: [{ content: [{ text: 'Once upon' }] }] } });
  });

  it('end a stream cut off by the token limit with response.incomplete', () => {
    const shape = responseEvents(meta, echo);
    const events = dataOf([...shape.opening(), ...shape.finish(result('', 'length'))]);
    expect(events.at(-2)).toMatchObject({ type: 'response.output_item.done', item: { status: 'incomplete' } });
    expect(events.at(-1)).toMatchObject({ type: 'response.incomplete', response: { incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('end a failed stream with response.failed, then an error event that OpenAI clients raise', () => {
    const shape = responseEvents(meta, echo);
    shape.opening();
    shape.text('Once');
    const events = dataOf(shape.failure(400, 'prompt_too_long', 'too long'));
    expect(events[0]).toMatchObject({
      type: 'response.failed',
      sequence_number: 5,
      response: { status: 'failed', error: { code: 'invalid_prompt', message: 'too long' }, output: [{ status: 'incomplete', content: [{ text: 'Once' }] }] },
    });
    expect(events[1]).toEqual({
      type: 'error',
      sequence_number: 6,
      code: 'prompt_too_long',
      message: 'too long',
      param: null,
      error: { type: 'invalid_request_error', code: 'prompt_too_long', message: 'too long', param: null },
    });
  });
});

describe('the input of a Responses request', () => {
  it('is a user message when it is a string, after the instructions as a system message', () => {
    expect(inputMessages({ input: 'Once upon a time', instructions: 'Tell stories.' })).toEqual([
      { role: 'system', content: 'Tell stories.' },
      { role: 'user', content: 'Once upon a time' },
    ]);
    expect(inputMessages({ input: 'Hi', instructions: null })).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('is the conversation when it is messages, output items passed back included', () => {
    const messages = inputMessages({
      input: [
        { role: 'developer', content: 'Be brief.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }, { type: 'input_text', text: 'there' }] },
        { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi!', annotations: [] }] },
        { role: 'user', content: 'Go on' },
      ],
    });
    expect(messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello\nthere' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'Go on' },
    ]);
  });
});
