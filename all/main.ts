/**
 * `npm start`: API, worker and Bull Board in one process on one Redis — the zero-setup mode.
 * The same services as the separate processes, composed here.
 */
import { finishApp } from '../api/app.ts';
import { startApiService } from '../api/api-service.ts';
import { loadConfigOrExit } from '../core/config.ts';
import { listen } from '../core/http/listen.ts';
import { BOARD_PATH } from '../core/http/paths.ts';
import { handleGracefulShutdown, runMain } from '../core/lifecycle.ts';
import { resolveRedis } from '../core/local-redis.ts';
import { redisTargetOf } from '../core/redis-target.ts';
import { createLogger } from '../core/logger.ts';
import { loadCatalogue } from '../core/model/catalogue.ts';
import { createQueue } from '../core/queue.ts';
import { createRedis } from '../core/redis.ts';
import { createProtectedBoard } from '../dashboard/board.ts';
import { announceGeneratedPassword } from '../dashboard/credentials.ts';
import { startWorkerService } from '../worker/worker-service.ts';

const config = loadConfigOrExit();
const logger = createLogger('all', config.LOG_LEVEL);

await runMain(logger, async () => {
  const redis = await resolveRedis(redisTargetOf(config), logger);
  const catalogue = loadCatalogue(config);
  const worker = await startWorkerService(config, redis.target, logger, catalogue);
  const api = await startApiService(config, redis.target, logger, catalogue);

  const boardConnection = createRedis(redis.target, 'worker', logger, 'dashboard');
  // One queue per model (docs/models.md).
  const boardQueues = catalogue.models.map((model) => createQueue(config, boardConnection, model.queue));
  const board = createProtectedBoard({ generate: boardQueues, batches: [api.batchQueue] }, { config, redis: boardConnection, keys: api.deps.keys, logger });
  api.app.use(BOARD_PATH, board.router);
  finishApp(api.app, api.deps);

  // The bound port: PORT=0 asks the system for a free one.
  const { server, port } = await listen(api.app, config.PORT, config.HOST);
  const base = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  const served = catalogue.single ? worker.modelId : catalogue.models.map((model) => model.id).join(', ');
  logger.info({ url: base, port, model: served }, 'llm-orchestrator ready');
  process.stdout.write(
    `\n  llm-orchestrator is ready (model${catalogue.single ? '' : 's'}: ${served})\n` +
      `    API         ${base}/api/v1/generate\n` +
      `    OpenAI      ${base}/v1  (base URL for OpenAI clients)\n` +
      `    API docs    ${base}/api/docs\n` +
      `    Bull Board  ${base}${BOARD_PATH}  (user ${board.credentials.user})\n` +
      `    Metrics     ${base}/metrics\n` +
      `    Health      ${base}/api/ready\n\n`,
  );
  announceGeneratedPassword(board.credentials, `${base}${BOARD_PATH}`);

  handleGracefulShutdown(logger, {
    graceMs: config.SHUTDOWN_GRACE_MS,
    servers: [server],
    // Requests in progress and the jobs they wait for get the same grace, side by side.
    drain: () => worker.close(),
    async release() {
      await api.close();
      for (const queue of boardQueues) await queue.close();
      await boardConnection.quit().catch(() => undefined);
      await redis.stop();
    },
  });
});
