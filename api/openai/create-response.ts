import type { RequestHandler } from 'express';
import type { Config } from '../../core/config.ts';
import { badRequest } from '../../core/errors.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf } from '../submission.ts';
import type { AnswerFormat } from './answer-format.ts';
import type { OpenAiDeps } from './deps.ts';
import { parseOpenAiRequest } from './parse-request.ts';
import { inputMessages } from './responses-api/input-messages.ts';
import { RESPONSES_UNSUPPORTED_OPTIONS, responseRequestSchema, type ResponseRequest } from './responses-api/request-schema.ts';
import { responseEvents } from './responses-api/response-events.ts';
import { finishedResponse, RESPONSE_ID_PREFIX, type ResponseEcho } from './responses-api/response-object.ts';
import type { ResponseObject } from './responses-api/response-schemas.ts';
import { serveJob } from './serve-job.ts';
import { chatSubmission, type JobContext } from './to-submission.ts';

const responseFormat = (echo: ResponseEcho): AnswerFormat<ResponseObject> => ({
  idPrefix: RESPONSE_ID_PREFIX,
  full: (meta, result) => finishedResponse(meta, echo, result),
  stream: (meta) => responseEvents(meta, echo),
});

/**
 * POST /v1/responses — OpenAI's Responses API, stateless: the input (and instructions) is a
 * conversation, run as the same chat job that /v1/chat/completions makes of it, so it shares that
 * route's queue, cache, in-flight sharing and cancellation; only the answer's shape differs.
 */
export function createResponse(deps: OpenAiDeps & { config: Config }): RequestHandler {
  const limits = limitsOf(deps.config);
  const schema = responseRequestSchema(limits);
  return async (req, res) => {
    const request: ResponseRequest = parseOpenAiRequest(schema, req.body, RESPONSES_UNSUPPORTED_OPTIONS);
    const stream = request.stream ?? false;
    if (!stream && request.stream_options != null) throw badRequest('invalid_value', 'stream_options is only allowed with stream: true', 'stream_options');
    const context: JobContext = { limits, models: deps.lanes, tenant: viewerOf(res).tenant };
    const submission = chatSubmission(request, inputMessages(request), request.max_output_tokens, context, 'input');
    const echo: ResponseEcho = {
      instructions: request.instructions ?? null,
      max_output_tokens: submission.sampling.max_tokens,
      metadata: request.metadata ?? {},
      parallel_tool_calls: request.parallel_tool_calls ?? true,
      temperature: submission.sampling.temperature,
      top_p: submission.sampling.top_p,
      ...(request.user == null ? {} : { user: request.user }),
    };
    // Usage always comes with the final response event: there is nothing to ask for.
    await serveJob(deps, res, { submission, choices: 1, stream, includeUsage: false }, responseFormat(echo));
  };
}
