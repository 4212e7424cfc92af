import type { Express } from 'express';
import { createBaseApp } from '../core/http/base-app.ts';
import { errorHandler, notFoundHandler } from '../core/http/error-handler.ts';
import { BOARD_PATH } from '../core/http/paths.ts';
import { metricsHandler } from '../core/metrics/http.ts';
import { createProtectedBoard, type BoardQueues, type ProtectedBoardDeps } from './board.ts';
import type { BoardCredentials } from './credentials.ts';

export interface DashboardApp {
  app: Express;
  credentials: BoardCredentials;
}

/**
 * The dashboard process's HTTP app: Bull Board behind basic auth (failed sign-ins throttled per
 * address, counted in Redis) at BOARD_PATH, and open
 * `/health` and `/metrics` for the orchestrator's own probes and Prometheus.
 */
export function createDashboardApp(deps: ProtectedBoardDeps & { queues: BoardQueues }): DashboardApp {
  const app = createBaseApp(deps.logger);

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', metricsHandler());
  app.get('/', (_req, res) => res.redirect(302, BOARD_PATH));

  const board = createProtectedBoard(deps.queues, deps);
  app.use(BOARD_PATH, board.router);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return { app, credentials: board.credentials };
}
