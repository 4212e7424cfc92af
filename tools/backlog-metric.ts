/**
 * Queue backlog publisher for worker autoscaling on AWS (terraform/metrics.tf).
 *
 *   node dist/tools/backlog-metric.js [--interval-ms 15000] [--alive-file <path>] [--once]
 *
 * Prints one JSON line per interval on stdout (see BacklogSample). On ECS the awslogs driver
 * ships the line to CloudWatch Logs, where metric filters turn its fields into the metrics
 * QueueBacklog and BacklogPerWorker: the process needs no AWS SDK and no AWS permissions.
 * Reads REDIS_URL (or REDIS_SENTINELS), REDIS_PREFIX, QUEUE_NAME and WORKER_HEARTBEAT_TTL_MS like the other roles.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../core/config.ts';
import { redisKeys } from '../core/keys.ts';
import { handleShutdown, runMain } from '../core/lifecycle.ts';
import { createLogger } from '../core/logger.ts';
import { closeWhenStarted, createQueue } from '../core/queue.ts';
import { createRedis, waitReady } from '../core/redis.ts';
import { redisTargetOf } from '../core/redis-target.ts';
import { measureBacklog } from './backlog-measure.ts';

const { values } = parseArgs({
  options: {
    'interval-ms': { type: 'string', default: '15000' },
    'alive-file': { type: 'string' },
    once: { type: 'boolean', default: false },
  },
});
const intervalMs = Number(values['interval-ms']);
if (!Number.isInteger(intervalMs) || intervalMs < 1000) {
  process.stderr.write('--interval-ms must be an integer of at least 1000\n');
  process.exit(64); // EX_USAGE
}

const config = loadConfigOrExit();
const logger = createLogger('backlog-metric', config.LOG_LEVEL);

await runMain(logger, async () => {
  // Fail-fast connection: a tick during a Redis outage fails at once and the next one retries.
  const redis = createRedis(redisTargetOf(config) ?? 'redis://127.0.0.1:6379', 'producer', logger, 'backlog-metric');
  await waitReady(redis, 10_000);
  const queue = createQueue(config, redis);
  const keys = redisKeys(config.REDIS_PREFIX);

  const publish = async () => {
    const sample = await measureBacklog(queue, redis, keys, config.WORKER_HEARTBEAT_TTL_MS);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    // The container's health check reads this file's age: no fresh sample, no health.
    if (values['alive-file']) writeFileSync(values['alive-file'], sample.time);
  };

  const stop = new AbortController();
  const close = async () => {
    stop.abort();
    await closeWhenStarted(queue);
    redis.disconnect();
  };

  if (values.once) {
    await publish();
    await close();
    return;
  }
  handleShutdown(logger, close);
  while (!stop.signal.aborted) {
    await publish().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'cannot read the queue backlog'));
    await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }
});
