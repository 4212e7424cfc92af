import { loadConfigOrExit } from '../core/config.ts';
import { listen } from '../core/http/listen.ts';
import { handleGracefulShutdown, runMain } from '../core/lifecycle.ts';
import { resolveRedis } from '../core/local-redis.ts';
import { redisTargetOf } from '../core/redis-target.ts';
import { createLogger } from '../core/logger.ts';
import { finishApp } from './app.ts';
import { startApiService } from './api-service.ts';

const config = loadConfigOrExit();
const logger = createLogger('api', config.LOG_LEVEL);

await runMain(logger, async () => {
  const redis = await resolveRedis(redisTargetOf(config), logger);
  const api = await startApiService(config, redis.target, logger);
  finishApp(api.app, api.deps);
  // The bound port: PORT=0 asks the system for a free one.
  const { server, port } = await listen(api.app, config.PORT, config.HOST);
  logger.info({ url: `http://${config.HOST}:${port}`, port }, 'api listening');
  handleGracefulShutdown(logger, {
    graceMs: config.SHUTDOWN_GRACE_MS,
    servers: [server],
    async release() {
      await api.close();
      await redis.stop();
    },
  });
});
