import type { RequestHandler } from 'express';
import type { Config } from '../../core/config.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf } from '../submission.ts';
import { parseOpenAiRequest } from './parse-request.ts';
import { chatCompletionRequestSchema } from './request-schemas.ts';
import { chunked } from './chunk-stream.ts';
import { chatFlavor } from './responses.ts';
import type { OpenAiDeps } from './deps.ts';
import { serveJob } from './serve-job.ts';
import { chatJob } from './to-submission.ts';

/** POST /v1/chat/completions — answer a conversation, prompted with the model's chat template. */
export function createChatCompletion(deps: OpenAiDeps & { config: Config }): RequestHandler {
  const limits = limitsOf(deps.config);
  const format = chunked(chatFlavor);
  const schema = chatCompletionRequestSchema(limits);
  return async (req, res) => {
    const request = parseOpenAiRequest(schema, req.body);
    await serveJob(deps, res, chatJob(request, { limits, models: deps.lanes, tenant: viewerOf(res).tenant }), format);
  };
}
