import express, { type Express } from 'express';
import type { Logger } from '../logger.ts';
import { httpMetrics } from '../metrics/http.ts';
import { requestContext } from './request-context.ts';

/**
 * What every HTTP app of the orchestrator starts from (the API's and the dashboard's): a request
 * id and a log line per request, the request duration histogram, no `x-powered-by`, and client
 * addresses taken from `X-Forwarded-For` only when the proxy is on a private network (Traefik,
 * an ALB), never from a header any client on the internet could set.
 */
export function createBaseApp(logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(requestContext(logger));
  app.use(httpMetrics());
  return app;
}
