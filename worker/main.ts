import { loadConfigOrExit } from '../core/config.ts';
import { handleGracefulShutdown, runMain } from '../core/lifecycle.ts';
import { resolveRedis } from '../core/local-redis.ts';
import { redisTargetOf } from '../core/redis-target.ts';
import { createLogger } from '../core/logger.ts';
import { startMetricsServer } from '../core/metrics/server.ts';
import { startWorkerService } from './worker-service.ts';

const config = loadConfigOrExit();
const logger = createLogger('worker', config.LOG_LEVEL);

await runMain(logger, async () => {
  // Up before the model loads, so a slow load is visible (process metrics) and /health answers.
  const metrics = await startMetricsServer({ port: config.WORKER_METRICS_PORT, host: config.HOST }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE'
      ? new Error(`WORKER_METRICS_PORT ${config.WORKER_METRICS_PORT} is in use: give each worker on this host its own port, or 0 for a free one`)
      : error;
  });
  logger.info({ port: metrics.port, url: `http://${config.HOST}:${metrics.port}/metrics` }, 'worker metrics listening');
  const redis = await resolveRedis(redisTargetOf(config), logger);
  const worker = await startWorkerService(config, redis.target, logger);
  handleGracefulShutdown(logger, {
    graceMs: config.SHUTDOWN_GRACE_MS,
    drain: () => worker.close(),
    // Closed after the drain, not beside it: Prometheus still sees the worker while its jobs finish.
    async release() {
      await metrics.close();
      await redis.stop();
    },
  });
});
