import type { RequestHandler } from 'express';
import type { Config } from '../../core/config.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { limitsOf } from '../submission.ts';
import { parseOpenAiRequest } from './parse-request.ts';
import { completionRequestSchema } from './request-schemas.ts';
import { chunked } from './chunk-stream.ts';
import { completionFlavor } from './responses.ts';
import type { OpenAiDeps } from './deps.ts';
import { serveJob } from './serve-job.ts';
import { completionJob } from './to-submission.ts';

/** POST /v1/completions — OpenAI's (legacy) text completion: continue a prompt. */
export function createCompletion(deps: OpenAiDeps & { config: Config }): RequestHandler {
  const limits = limitsOf(deps.config);
  const format = chunked(completionFlavor);
  const schema = completionRequestSchema(limits);
  return async (req, res) => {
    const request = parseOpenAiRequest(schema, req.body);
    await serveJob(deps, res, completionJob(request, { limits, models: deps.lanes, tenant: viewerOf(res).tenant }), format);
  };
}
