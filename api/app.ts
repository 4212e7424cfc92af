import express, { type Express } from 'express';
import { createBaseApp } from '../core/http/base-app.ts';
import { errorHandler, notFoundHandler } from '../core/http/error-handler.ts';
import { metricsHandler } from '../core/metrics/http.ts';
import type { ApiDeps } from './deps.ts';
import { batchesRouter } from './batches/batches-router.ts';
import { filesRouter } from './files/files-router.ts';
import { cancelJob } from './handlers/cancel-job.ts';
import { createJob } from './handlers/create-job.ts';
import { createEmbeddings } from './handlers/embeddings.ts';
import { generate } from './handlers/generate.ts';
import { getJob } from './handlers/get-job.ts';
import { health } from './handlers/health.ts';
import { jobEvents } from './handlers/job-events.ts';
import { listModels } from './handlers/list-models.ts';
import { ready } from './handlers/ready.ts';
import { usage } from './handlers/usage.ts';
import { openAiErrorBody } from './openai/error-body.ts';
import { openAiRouter } from './openai/router.ts';
import { docsRouter } from './openapi/docs-router.ts';
import { createRequestGuard } from './request-guard/request-guard.ts';

/** The HTTP API as an Express app, without listening: tests mount it on port 0. */
export function createApp(deps: ApiDeps): Express {
  const app = createBaseApp(deps.logger);
  const requestGuard = createRequestGuard(deps);
  app.use(requestGuard.headers);

  app.get('/api/health', health);
  // Everything below passes the guard: an API key when keys are configured (open paths such as
  // /api/ready are listed in api/request-guard/public-paths.ts), rate limit, backpressure, the body
  // (read once, as JSON, so routes need no parser of their own), prompt limits.
  app.use(requestGuard.guard);
  app.get('/metrics', metricsHandler());
  app.get('/api/ready', ready(deps));

  const v1 = express.Router();
  v1.post('/jobs', createJob(deps));
  v1.get('/jobs/:id', getJob(deps));
  v1.get('/jobs/:id/events', jobEvents(deps));
  v1.delete('/jobs/:id', cancelJob(deps));
  v1.post('/generate', generate(deps));
  v1.post('/embeddings', createEmbeddings(deps));
  v1.get('/models', listModels(deps));
  v1.get('/usage', usage(deps));
  app.use('/api/v1', v1);
  app.get('/v1/models', listModels(deps));
  app.use('/v1/files', filesRouter(deps));
  app.use('/v1/batches', batchesRouter(deps.batches));
  app.use('/v1', openAiRouter(deps));
  app.use(docsRouter(deps.config));

  return app;
}

/** Final handlers, installed after every router (including ones mounted by `all`). */
export function finishApp(app: Express, deps: Pick<ApiDeps, 'logger'>): Express {
  app.use(notFoundHandler);
  // OpenAI's clients read OpenAI's error shape: every error under /v1 (guard and 404 included) gets it.
  app.use('/v1', errorHandler(deps.logger, openAiErrorBody));
  app.use(errorHandler(deps.logger));
  return app;
}
