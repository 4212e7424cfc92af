import type { Redis } from 'ioredis';
import type { Config } from '../../core/config.ts';
import type { FileStore } from '../../core/files/file-store.ts';
import type { RedisKeys } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics/registry.ts';
import { closeWhenStarted, type GenerateQueue } from '../../core/queue.ts';
import type { ModelResolver } from '../model-lanes.ts';
import type { JobService } from '../job-service.ts';
import type { JobStateWatcher } from '../job-state-watcher.ts';
import { limitsOf } from '../submission.ts';
import { createBatchQueue, type BatchQueue } from '../../core/batch-queue.ts';
import { BatchCoordinator } from './batch-coordinator.ts';
import { lineParser } from './batch-line.ts';
import { BATCH_STATUSES, isFinalBatch } from './batch-object.ts';
import { BatchService } from './batch-service.ts';
import { BatchStore } from './batch-store.ts';

export interface BatchSystem {
  service: BatchService;
  /** The coordinators' queue, for Bull Board. */
  queue: BatchQueue;
  close(): Promise<void>;
}

/**
 * Everything batches need in an API process: their store, the service behind the routes, and a
 * coordinator that takes batches from their queue. `connection` is the producer connection;
 * the coordinator's BullMQ worker opens its own blocking one from `connectBlocking`.
 */
export function startBatchSystem(deps: {
  config: Config;
  redis: Redis;
  connectBlocking: () => Redis;
  keys: RedisKeys;
  files: FileStore;
  jobs: JobService;
  jobStates: JobStateWatcher;
  /** Every model's queue. */
  generateQueues: readonly GenerateQueue[];
  modelId: () => string;
  models: ModelResolver;
  metrics: Metrics;
  logger: Logger;
}): BatchSystem {
  const { config, metrics } = deps;
  const store = new BatchStore(deps.redis, deps.keys, config.BATCH_RETENTION_SECONDS, config.BATCH_MAX_WINDOW_SECONDS);
  const queue = createBatchQueue(config, deps.redis);
  queue.on('error', (error) => deps.logger.warn({ err: error.message }, 'batch queue error'));
  const blocking = deps.connectBlocking();
  const limits = limitsOf(config);
  const coordinator = new BatchCoordinator(
    {
      config,
      batchQueue: queue,
      store,
      files: deps.files,
      jobs: deps.jobs,
      jobStates: deps.jobStates,
      queues: deps.generateQueues,
      parse: lineParser(limits),
      limits,
      modelId: deps.modelId,
      models: deps.models,
      linesInFlight: config.BATCH_LINES_IN_FLIGHT,
      maxLines: config.BATCH_MAX_LINES,
      metrics,
      logger: deps.logger,
    },
    blocking,
  ).start();
  const service = new BatchService({ store, files: deps.files, coordinator, modelId: deps.modelId, maxWindowSeconds: config.BATCH_MAX_WINDOW_SECONDS });
  const unhook = metrics.onScrape(async () => {
    const live = Object.values(await store.live());
    metrics.m.batches.reset();
    for (const state of BATCH_STATUSES) {
      if (!isFinalBatch(state)) metrics.m.batches.set({ state }, live.filter((value) => value === state).length);
    }
  });
  return {
    service,
    queue,
    async close() {
      unhook();
      await coordinator.close();
      await closeWhenStarted(queue);
      await blocking.quit().catch(() => undefined);
    },
  };
}
