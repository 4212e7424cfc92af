import { loadConfigOrExit } from '../core/config.ts';
import { listen } from '../core/http/listen.ts';
import { BOARD_PATH } from '../core/http/paths.ts';
import { redisKeys } from '../core/keys.ts';
import { handleGracefulShutdown, runMain } from '../core/lifecycle.ts';
import { resolveRedis } from '../core/local-redis.ts';
import { redisTargetOf } from '../core/redis-target.ts';
import { createLogger } from '../core/logger.ts';
import { trackQueueState } from '../core/metrics/queue-state.ts';
import { createBatchQueue } from '../core/batch-queue.ts';
import { loadCatalogue } from '../core/model/catalogue.ts';
import { expectedModelId } from '../core/model/model-naming.ts';
import { closeWhenStarted, createQueue } from '../core/queue.ts';
import { createRedis } from '../core/redis.ts';
import { createDashboardApp } from './app.ts';
import { announceGeneratedPassword } from './credentials.ts';

const config = loadConfigOrExit();
const logger = createLogger('dashboard', config.LOG_LEVEL);

await runMain(logger, async () => {
  const redis = await resolveRedis(redisTargetOf(config), logger);
  // A reader that waits out Redis restarts rather than failing: the board is for looking, not for accepting work.
  const connection = createRedis(redis.target, 'worker', logger, 'dashboard');
  // One queue per model (docs/models.md).
  const catalogue = loadCatalogue(config);
  const queues = catalogue.models.map((model) => createQueue(config, connection, model.queue));
  for (const queue of queues) queue.on('error', (error) => logger.warn({ err: error.message, queue: queue.name }, 'queue error'));
  const shown = catalogue.single ? expectedModelId(config) : undefined;
  const untrackQueues = queues.map((queue, i) => trackQueueState(queue, () => shown ?? catalogue.models[i]!.id));
  const batchQueue = createBatchQueue(config, connection);
  batchQueue.on('error', (error) => logger.warn({ err: error.message }, 'batch queue error'));

  const { app, credentials } = createDashboardApp({ config, logger, queues: { generate: queues, batches: [batchQueue] }, redis: connection, keys: redisKeys(config.REDIS_PREFIX) });
  const { server, port } = await listen(app, config.DASHBOARD_PORT, config.HOST);
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  if (credentials.generated) logger.warn('DASHBOARD_PASSWORD is not set: a password was generated for this run and printed on stdout');
  logger.info({ url: `${url}${BOARD_PATH}`, port, readOnly: config.DASHBOARD_READ_ONLY, user: credentials.user }, 'dashboard listening');
  announceGeneratedPassword(credentials, `${url}${BOARD_PATH}`);

  handleGracefulShutdown(logger, {
    // Bull Board's requests are reads that a browser repeats: none is worth waiting for.
    graceMs: 0,
    servers: [server],
    async release() {
      for (const untrack of untrackQueues) untrack();
      for (const queue of queues) await closeWhenStarted(queue);
      await closeWhenStarted(batchQueue);
      await connection.quit().catch(() => undefined);
      await redis.stop();
    },
  });
});
