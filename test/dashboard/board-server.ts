import { Redis } from 'ioredis';
import { createBatchQueue } from '../../core/batch-queue.ts';
import type { Config } from '../../core/config.ts';
import { listen } from '../../core/http/listen.ts';
import { redisKeys } from '../../core/keys.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import { createQueue, type GenerateQueue } from '../../core/queue.ts';
import { createDashboardApp } from '../../dashboard/app.ts';

export interface BoardServer {
  url: string;
  queue: GenerateQueue;
  close(): Promise<void>;
}

/** The dashboard app on port 0, on the queue and key prefix of `config` (a test stack's), with the board settings given. */
export async function startBoardServer(
  config: Config,
  board: { DASHBOARD_USER: string; DASHBOARD_PASSWORD: string; DASHBOARD_READ_ONLY: boolean },
  options: { logger?: Logger } = {},
): Promise<BoardServer> {
  const connection = new Redis(config.REDIS_URL!, { maxRetriesPerRequest: null });
  const queue = createQueue(config, connection);
  const batchQueue = createBatchQueue(config, connection);
  // Ready before the first request, so that the sign-in throttle counts in Redis from the start.
  await connection.ping();
  const { app } = createDashboardApp({
    config: board,
    logger: options.logger ?? createLogger('test', 'silent'),
    queues: { generate: [queue], batches: [batchQueue] },
    redis: connection,
    keys: redisKeys(config.REDIS_PREFIX),
  });
  const { server, port } = await listen(app, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    queue,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.close();
      await batchQueue.close();
      await connection.quit();
    },
  };
}

export const basicAuthHeader = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
