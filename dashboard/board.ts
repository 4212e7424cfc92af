import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Config } from '../core/config.ts';
import { BOARD_PATH } from '../core/http/paths.ts';
import type { GenerateQueue } from '../core/queue.ts';
import { basicAuth } from './auth.ts';
import { boardCredentials, type BoardCredentials } from './credentials.ts';

/** Bull Board for the generation queue, as an Express router served under `basePath`. */
export function createBoardRouter(queues: GenerateQueue[], basePath: string, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: options.readOnly,
          description: 'Generation jobs: progress is tokens so far, the result is the generated text with usage and timings.',
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'llm-orchestrator' } },
  });
  return serverAdapter.getRouter() as Router;
}

/** Bull Board behind basic auth, with DASHBOARD_READ_ONLY applied: what both composition roots mount at BOARD_PATH. */
export function createProtectedBoard(
  queues: GenerateQueue[],
  config: Pick<Config, 'DASHBOARD_USER' | 'DASHBOARD_PASSWORD' | 'DASHBOARD_READ_ONLY'>,
  basePath = BOARD_PATH,
): { router: Router; credentials: BoardCredentials } {
  const credentials = boardCredentials(config);
  const router = Router();
  router.use(basicAuth(credentials), createBoardRouter(queues, basePath, { readOnly: config.DASHBOARD_READ_ONLY }));
  return { router, credentials };
}
