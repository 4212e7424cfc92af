import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { ResultCache } from '../core/cache.ts';
import { llamaThreadsPerPoolThread, type Config } from '../core/config.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import { redisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { trackInferencePool } from '../core/metrics/inference.ts';
import { trackJobOutcomes } from '../core/metrics/job-outcomes.ts';
import { resolveModelSource } from '../core/model/resolve.ts';
import { publishServedModel, withdrawServedModel, type ServedModel } from '../core/model/served-models.ts';
import { assertNoEviction, createRedis } from '../core/redis.ts';
import { InferencePool } from './inference-pool.ts';
import { JobProcessor } from './processor.ts';
import { TokenStreamWriter } from './token-stream-writer.ts';

export interface WorkerService {
  readonly id: string;
  readonly pool: InferencePool;
  readonly modelId: string;
  /** Stops taking jobs, lets active ones finish for `graceMs`, then hands the rest back to the queue. */
  close(graceMs?: number): Promise<void>;
}

const HEARTBEAT_MS = 5000;
/** Token text is coalesced this long (ms) in the pool thread and again before each stream write. */
const TOKEN_FLUSH_MS = 20;

/** Composes a worker: model pool, BullMQ worker, cancellation listener and heartbeat. */
export async function startWorkerService(config: Config, redisUrl: string, logger: Logger): Promise<WorkerService> {
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(config.REDIS_PREFIX);
  // Download, validate and quantize in this thread: a pool thread that fails to load is respawned by piscina.
  const source = await resolveModelSource(config, logger);
  const threads = llamaThreadsPerPoolThread(config);

  const redis = createRedis(redisUrl, 'worker', logger, 'worker-commands');
  await assertNoEviction(redis, logger);

  logger.info(
    { model: source.path, poolThreads: config.POOL_THREADS, sequencesPerThread: config.SEQUENCES_PER_THREAD, prefetchPerThread: config.PREFETCH_PER_THREAD, llamaThreads: threads },
    'loading model',
  );
  const pool = await InferencePool.start(
    { modelPath: source.path, contextSize: config.CONTEXT_SIZE, sequences: config.SEQUENCES_PER_THREAD, threads, tokenFlushMs: TOKEN_FLUSH_MS },
    config.POOL_THREADS,
    config.PREFETCH_PER_THREAD,
    { fileType: source.facts.quantization },
  );
  logger.info(
    { model: source.id, file: source.path, quantization: source.facts.quantization, loadMs: Math.round(pool.model.loadMs), contextSize: pool.model.contextSize },
    'model loaded',
  );
  const served: ServedModel = {
    id: source.id,
    file: path.basename(source.path),
    architecture: source.facts.architecture,
    parameters: source.facts.parameters,
    quantization: source.facts.quantization,
    file_type: source.facts.fileType ?? null,
    context_size: pool.model.contextSize,
    train_context_size: source.facts.trainContextSize ?? null,
    size_bytes: source.facts.sizeBytes,
    random_weights: source.facts.randomWeights,
    has_chat_template: pool.model.hasChatTemplate,
    load_ms: Math.round(pool.model.loadMs),
    loaded_at: Date.now(),
  };
  const untrackPool = trackInferencePool({ ...pool.model, id: source.id }, pool);

  // BullMQ's own connection carries the cache and stream writes too: sent just before a job's
  // completion on the same connection, they run before it without the worker waiting for them.
  const bullConnection = createRedis(redisUrl, 'worker', logger, 'worker-bullmq');
  const processor = new JobProcessor({
    pool,
    redis,
    keys,
    cache: new ResultCache(bullConnection, keys, config.CACHE_TTL_SECONDS),
    streams: new TokenStreamWriter(bullConnection, keys, {
      maxLen: 10_000,
      ttlSeconds: Math.max(config.KEEP_COMPLETED_SECONDS, config.KEEP_FAILED_SECONDS, 3600),
      flushMs: TOKEN_FLUSH_MS,
    }),
    modelId: source.id,
    logger,
  });

  let shuttingDown = false;
  const worker = new Worker<JobData, GenerationResult>(
    config.QUEUE_NAME,
    async (job: Job<JobData, GenerationResult>, token?: string) => {
      const result = await processor.process(job);
      // Stopped by shutdown, not by a client: hand the job back instead of reporting a cut-off text.
      if (shuttingDown && result.finish_reason === 'cancelled' && !(await isCancelledByClient(job))) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return result;
    },
    {
      connection: bullConnection as ConnectionOptions,
      prefix: config.REDIS_PREFIX,
      // Recorded on each job as `processedBy`: which worker ran it.
      name: id,
      concurrency: pool.slots,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_LOCK_MS,
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
  );
  const isCancelledByClient = async (job: Job) => (await redis.exists(keys.cancelFlag(job.id ?? ''))) === 1;

  worker.on('failed', (job, error) => {
    logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, 'job failed');
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  trackJobOutcomes(worker);

  // Cancellations are broadcast; the worker that runs the job stops it.
  const subscriber = createRedis(redisUrl, 'worker', logger, 'worker-cancel');
  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (processor.cancel(jobId)) logger.info({ jobId }, 'cancelling active job');
  });

  const beat = () =>
    redis
      .zadd(keys.workers, Date.now(), id)
      .then(() => redis.zremrangebyscore(keys.workers, 0, Date.now() - 10 * config.WORKER_HEARTBEAT_TTL_MS))
      .then(() => publishServedModel(redis, keys, id, served))
      .catch(() => undefined);
  await beat();
  const heartbeat = setInterval(beat, Math.min(HEARTBEAT_MS, config.WORKER_HEARTBEAT_TTL_MS / 3));
  heartbeat.unref();

  logger.info({ workerId: id, queue: config.QUEUE_NAME, sequences: pool.capacity, concurrency: pool.slots }, 'worker ready');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.SHUTDOWN_GRACE_MS) =>
    (closing ??= (async () => {
      shuttingDown = true;
      clearInterval(heartbeat);
      const drained = worker.close();
      const timer = setTimeout(() => {
        if (processor.activeJobIds.length > 0) {
          logger.warn({ jobs: processor.activeJobIds }, 'grace period over: handing active jobs back to the queue');
        }
        processor.cancelAll();
      }, graceMs);
      await drained;
      clearTimeout(timer);
      await redis.zrem(keys.workers, id).catch(() => undefined);
      await withdrawServedModel(redis, keys, id).catch(() => undefined);
      untrackPool();
      await pool.close();
      subscriber.disconnect();
      await bullConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    })());

  return { id, pool, modelId: source.id, close };
}
