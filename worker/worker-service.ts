import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { ResultCache } from '../core/cache.ts';
import type { Config } from '../core/config.ts';
import { redisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { initEmbeddingCounters } from '../core/metrics/embeddings.ts';
import { trackInferencePool } from '../core/metrics/inference.ts';
import { resolveModelSource } from '../core/model/resolve.ts';
import { assertNoEviction, createRedis } from '../core/redis.ts';
import type { RedisTarget } from '../core/redis-target.ts';
import { TenantLedger } from '../core/tenants/ledger.ts';
import { listenForCancels } from './cancel-listener.ts';
import { startHeartbeat } from './heartbeat.ts';
import type { InferencePool } from './inference-pool.ts';
import { createJobWorker } from './job-worker.ts';
import { loadModelPool } from './model-pool.ts';
import { JobProcessor } from './processor.ts';
import { servedModelRecord } from './served-model-record.ts';
import { shutDownWorker } from './shutdown.ts';
import { recordTenantUsage } from './tenant-usage-recorder.ts';
import { TokenStreamWriter } from './token-stream-writer.ts';

export interface WorkerService {
  readonly id: string;
  readonly pool: InferencePool;
  readonly modelId: string;
  /** Stops taking jobs, lets active ones finish for `graceMs`, then hands the rest back to the queue. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Token text after a job's first chunk is coalesced this long (ms) in the pool thread and again
 * before each stream write. At 50 ms a stream still updates 20 times a second; at 20 ms, a large
 * model's tokens (30 ms each on 2 cores) each cost a message and a Redis script, measured as 0.6 ms
 * of CPU per token beside the model (`npm run bench:cpu`, docs/benchmarks.md).
 */
const TOKEN_FLUSH_MS = 50;

/** Composes a worker: model pool, BullMQ worker, cancellation listener and heartbeat. */
export async function startWorkerService(config: Config, target: RedisTarget, logger: Logger): Promise<WorkerService> {
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(config.REDIS_PREFIX);
  // Download, validate and quantize in this thread: a pool thread that fails to load is respawned by piscina.
  const source = await resolveModelSource(config, logger);

  const redis = createRedis(target, 'worker', logger, 'worker-commands');
  await assertNoEviction(redis, logger);

  const pool = await loadModelPool(config, source, logger, TOKEN_FLUSH_MS);
  const served = servedModelRecord(source, pool);
  const untrackPool = trackInferencePool({ ...pool.model, id: source.id }, pool);
  initEmbeddingCounters(source.id);

  // BullMQ's own connection carries the cache and stream writes too: sent just before a job's
  // completion on the same connection, they run before it without the worker waiting for them.
  const bullConnection = createRedis(target, 'worker', logger, 'worker-bullmq');
  const processor = new JobProcessor({
    pool,
    redis,
    keys,
    cache: new ResultCache(bullConnection, keys, config.CACHE_TTL_SECONDS),
    streams: new TokenStreamWriter(bullConnection, keys, {
      maxLen: 10_000,
      ttlSeconds: config.STREAM_TTL_SECONDS,
      flushMs: TOKEN_FLUSH_MS,
    }),
    modelId: source.id,
    logger,
  });

  const worker = createJobWorker({ config, workerId: id, connection: bullConnection, processor, concurrency: pool.slots, logger });
  recordTenantUsage(worker, new TenantLedger(redis, keys, config.USAGE_RETENTION_DAYS), logger);
  const cancels = await listenForCancels(target, keys, processor, logger);
  const heartbeat = await startHeartbeat({ redis, keys, workerId: id, served, ttlMs: config.WORKER_HEARTBEAT_TTL_MS });

  logger.info({ workerId: id, queue: config.QUEUE_NAME, sequences: pool.capacity, concurrency: pool.slots }, 'worker ready');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.SHUTDOWN_GRACE_MS) =>
    (closing ??= shutDownWorker({ worker, processor, heartbeat, cancels, pool, untrackPool, bullConnection, redis, logger }, graceMs));

  return { id, pool, modelId: source.id, close };
}
