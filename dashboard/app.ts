import express, { type Express } from 'express';
import { errorHandler, notFoundHandler } from '../api/error-handler.ts';
import { requestContext } from '../api/request-context.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { httpMetrics, metricsHandler } from '../core/metrics/http.ts';
import type { GenerateQueue } from '../core/queue.ts';
import { BOARD_PATH, createProtectedBoard } from './board.ts';
import type { BoardCredentials } from './credentials.ts';

export interface DashboardApp {
  app: Express;
  credentials: BoardCredentials;
}

/**
 * The dashboard process's HTTP app: Bull Board behind basic auth at BOARD_PATH, and open
 * `/health` and `/metrics` for the orchestrator's own probes and Prometheus.
 */
export function createDashboardApp(deps: {
  config: Pick<Config, 'DASHBOARD_USER' | 'DASHBOARD_PASSWORD' | 'DASHBOARD_READ_ONLY'>;
  logger: Logger;
  queues: GenerateQueue[];
}): DashboardApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.use(requestContext(deps.logger));
  app.use(httpMetrics());

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', metricsHandler());
  app.get('/', (_req, res) => res.redirect(302, BOARD_PATH));

  const board = createProtectedBoard(deps.queues, deps.config);
  app.use(BOARD_PATH, board.router);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return { app, credentials: board.credentials };
}
