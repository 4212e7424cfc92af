import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { ResultCache } from '../core/cache.ts';
import type { Config } from '../core/config.ts';
import { redisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { loadCatalogue, workerModels, type Catalogue } from '../core/model/catalogue.ts';
import { assertNoEviction, createRedis } from '../core/redis.ts';
import type { RedisTarget } from '../core/redis-target.ts';
import { TenantLedger } from '../core/tenants/ledger.ts';
import { listenForCancels } from './cancel-listener.ts';
import { startHeartbeat } from './heartbeat.ts';
import type { InferencePool } from './inference-pool.ts';
import { ModelHost } from './model-host.ts';
import { shutDownWorker } from './shutdown.ts';
import { TokenStreamWriter } from './token-stream-writer.ts';

export interface WorkerService {
  readonly id: string;
  /** The pool of the first loaded model (of model `id`, a catalogue id, when given). */
  pool: InferencePool;
  /** The id the first served model is shown under (`<name>:<quantization>` for MODEL alone). */
  readonly modelId: string;
  /** The models it serves and has loaded. */
  readonly host: ModelHost;
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

/** Composes a worker: its models (ModelHost: pools and BullMQ workers), cancellation listener and heartbeat. */
export async function startWorkerService(config: Config, target: RedisTarget, logger: Logger, catalogue: Catalogue = loadCatalogue(config)): Promise<WorkerService> {
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(config.REDIS_PREFIX);
  const redis = createRedis(target, 'worker', logger, 'worker-commands');
  await assertNoEviction(redis, logger);

  // BullMQ's own connection carries the cache and stream writes too: sent just before a job's
  // completion on the same connection, they run before it without the worker waiting for them.
  const bullConnection = createRedis(target, 'worker', logger, 'worker-bullmq');
  // Download, validate and quantize in this thread: a pool thread that fails to load is respawned by piscina.
  const host = await ModelHost.prepare(
    {
      config,
      catalogue,
      workerId: id,
      redis,
      bullConnection,
      keys,
      cache: new ResultCache(bullConnection, keys, config.CACHE_TTL_SECONDS),
      streams: new TokenStreamWriter(bullConnection, keys, {
        maxLen: 10_000,
        ttlSeconds: config.STREAM_TTL_SECONDS,
        flushMs: TOKEN_FLUSH_MS,
      }),
      ledger: new TenantLedger(redis, keys, config.USAGE_RETENTION_DAYS),
      logger,
      tokenFlushMs: TOKEN_FLUSH_MS,
    },
    workerModels(config, catalogue),
  );
  await host.start();
  const cancels = await listenForCancels(target, keys, host, logger);
  const heartbeat = await startHeartbeat({ redis, keys, workerId: id, served: () => host.records(), ttlMs: config.WORKER_HEARTBEAT_TTL_MS });
  host.onChange = async (unloaded) => {
    if (unloaded !== undefined) await heartbeat.forget(unloaded);
    await heartbeat.beat();
  };

  logger.info({ workerId: id, models: host.records().map((record) => record.id), onDemand: host.onDemand }, 'worker ready');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.SHUTDOWN_GRACE_MS) =>
    (closing ??= shutDownWorker(
      {
        worker: { close: () => host.stopTaking() },
        processor: host,
        heartbeat,
        cancels,
        pool: { close: () => host.release() },
        untrackPool: () => undefined,
        bullConnection,
        redis,
        logger,
      },
      graceMs,
    ));

  return {
    id,
    get pool() {
      const pool = host.pool();
      if (!pool) throw new Error('no model is loaded');
      return pool;
    },
    modelId: host.firstShownId,
    host,
    close,
  };
}
