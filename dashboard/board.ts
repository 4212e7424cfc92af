import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import { BOARD_PATH } from '../core/http/paths.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import type { BatchQueue } from '../core/batch-queue.ts';
import type { GenerateQueue } from '../core/queue.ts';
import { basicAuth } from './auth.ts';
import { boardCredentials, type BoardCredentials } from './credentials.ts';
import { SignInThrottle } from './sign-in-throttle.ts';

/** The queues the board shows: generation jobs, and the coordinators of batches. */
export interface BoardQueues {
  generate: GenerateQueue[];
  batches: BatchQueue[];
}

const DESCRIPTIONS = {
  generate: 'Generation jobs: progress is tokens so far, the result is the generated text with usage and timings.',
  batches: 'Batches (OpenAI Batch API): one job per unfinished batch; progress is its status and request counts, its worker the API process coordinating it.',
} as const;

/** Bull Board for the generation queue and the batch queue, as an Express router served under `basePath`. */
export function createBoardRouter(queues: BoardQueues, basePath: string, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  const adapter = (queue: GenerateQueue | BatchQueue, description: string) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly, description });
  createBullBoard({
    queues: [...queues.generate.map((queue) => adapter(queue, DESCRIPTIONS.generate)), ...queues.batches.map((queue) => adapter(queue, DESCRIPTIONS.batches))],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'llm-orchestrator' } },
  });
  return serverAdapter.getRouter() as Router;
}

export interface ProtectedBoardDeps {
  config: Pick<Config, 'DASHBOARD_USER' | 'DASHBOARD_PASSWORD' | 'DASHBOARD_READ_ONLY'>;
  /** Where failed sign-ins are counted, shared by every process that serves the board. */
  redis: Redis;
  keys: Pick<RedisKeys, 'boardSignIn'>;
  logger: Logger;
}

/**
 * Bull Board behind basic auth with a sign-in throttle, and DASHBOARD_READ_ONLY applied: what both
 * composition roots mount at BOARD_PATH.
 */
export function createProtectedBoard(
  queues: BoardQueues,
  deps: ProtectedBoardDeps,
  basePath = BOARD_PATH,
): { router: Router; credentials: BoardCredentials } {
  const credentials = boardCredentials(deps.config);
  const throttle = new SignInThrottle(deps.redis, deps.keys.boardSignIn, deps.logger);
  const router = Router();
  router.use(basicAuth(credentials, { throttle }), createBoardRouter(queues, basePath, { readOnly: deps.config.DASHBOARD_READ_ONLY }));
  return { router, credentials };
}
