import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { GenerateQueue } from '../core/queue.ts';

/** Bull Board for the generation queue, as an Express router served under `basePath`. */
export function createBoardRouter(queues: GenerateQueue[], basePath: string, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'llm-orchestrator' } },
  });
  return serverAdapter.getRouter() as Router;
}
