import { loadConfigOrExit } from '../core/config.ts';
import { handleShutdown, runMain } from '../core/lifecycle.ts';
import { resolveRedis } from '../core/local-redis.ts';
import { createLogger } from '../core/logger.ts';
import { startWorkerService } from './worker-service.ts';

const config = loadConfigOrExit();
const logger = createLogger('worker', config.LOG_LEVEL);

await runMain(logger, async () => {
  const redis = await resolveRedis(config.REDIS_URL, logger);
  const worker = await startWorkerService(config, redis.url, logger);
  handleShutdown(logger, async () => {
    await worker.close();
    await redis.stop();
  });
});
