import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { ResultCache } from '../core/cache.ts';
import { tombstoneTtlSeconds, type Config } from '../core/config.ts';
import { AdmissionTrigger } from '../core/fair/admission-trigger.ts';
import { FairQueue } from '../core/fair/fair-queue.ts';
import { DirectoryFileStore } from '../core/files/directory-store.ts';
import { redisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { initSubmissionCounters } from '../core/metrics/job-outcomes.ts';
import { processMetrics } from '../core/metrics/registry.ts';
import { trackQueueState } from '../core/metrics/queue-state.ts';
import { trackRedisMemory } from '../core/metrics/redis-memory.ts';
import { expectedModelId } from '../core/model/model-naming.ts';
import { ServedModelView } from '../core/model/served-models.ts';
import { laneKeyPrefix, loadCatalogue, type Catalogue, type CatalogueModel } from '../core/model/catalogue.ts';
import { closeWhenStarted, createQueue, createQueueEvents, type GenerateQueue } from '../core/queue.ts';
import { assertNoEviction, createRedis, waitReady } from '../core/redis.ts';
import type { RedisTarget } from '../core/redis-target.ts';
import { TenantLedger } from '../core/tenants/ledger.ts';
import { createApp } from './app.ts';
import type { BatchQueue } from '../core/batch-queue.ts';
import { startBatchSystem } from './batches/batch-system.ts';
import type { ApiDeps } from './deps.ts';
import { JobService } from './job-service.ts';
import { JobStateWatcher } from './job-state-watcher.ts';
import { JobStreamReader } from './job-stream-reader.ts';
import { ModelLanes, type ModelLane } from './model-lanes.ts';
import { ReplicaAck } from './replica-ack.ts';
import { TenantDirectory } from './request-guard/tenant-directory.ts';
import { StreamCap } from './stream-cap.ts';
import { TenantJobPrune } from './tenant-job-prune.ts';
import { TenantQuotas } from './tenant-quotas.ts';

/** Interval of each API process's admission of held jobs, whatever else happens (ms). */
const ADMISSION_SAFETY_NET_MS = 5000;

export interface ApiService {
  app: Express;
  deps: ApiDeps;
  queue: GenerateQueue;
  /** The batch coordinators' queue (Bull Board shows it next to the generation queue). */
  batchQueue: BatchQueue;
  /** Each model's queue, events and fair schedule. */
  lanes: ModelLanes;
  /** What the live workers serve, as this process sees it. */
  models: ServedModelView;
  /** This process's admissions of the default model's held jobs on a timer, the safety net of fair scheduling (docs/architecture.md). */
  admission: AdmissionTrigger;
  close(): Promise<void>;
}

/** Builds the API's connections and app. Listening is the caller's business. */
export async function startApiService(config: Config, target: RedisTarget, logger: Logger, catalogue: Catalogue = loadCatalogue(config)): Promise<ApiService> {
  const keys = redisKeys(config.REDIS_PREFIX);
  const redis = createRedis(target, 'producer', logger, 'api-commands');
  await waitReady(redis, 10_000);
  await assertNoEviction(redis, logger);
  // Until the connection ends; the API alone reads it (every replica and role would read the same numbers).
  trackRedisMemory(redis);
  // Workers publish the models they serve; until one has, the id configuration predicts stands in.
  const models = new ServedModelView(redis, keys, config.WORKER_HEARTBEAT_TTL_MS, expectedModelId(config), config.CONTEXT_SIZE);
  await models.start();
  // Queue events need blocking connections: each QueueEvents duplicates this one.
  const eventsConnection = createRedis(target, 'worker', logger, 'api-events');
  const laneList = await Promise.all(catalogue.models.map((model) => openLane(config, catalogue, model, redis, eventsConnection, logger)));
  const lanes = new ModelLanes(catalogue, laneList, models, config.CONTEXT_SIZE);
  const untrackQueues = laneList.map((lane) => trackQueueState(lane.queue, () => lanes.shownId(lane.model.id)));
  for (const lane of laneList) initSubmissionCounters(lane.queue.name, lanes.shownId(lane.model.id));
  const { queue, fair } = lanes.default;
  // A bad keys file stops the start here, with its message; later changes are read as they come.
  const tenants = new TenantDirectory(config, logger).watch();
  const ledger = new TenantLedger(redis, keys, config.USAGE_RETENTION_DAYS);
  const prune = new TenantJobPrune({ redis, keys, queues: laneList.map((lane) => lane.queue), ledger, logger }).start();
  const quotas = new TenantQuotas({ ledger, limitsOf: (tenant) => tenants.limitsOf(tenant), logger });
  const jobs = new JobService({
    lanes,
    redis,
    keys,
    cache: new ResultCache(redis, keys, config.CACHE_TTL_SECONDS),
    cacheScope: config.CACHE_SCOPE,
    metrics: processMetrics(),
    tombstoneTtlSeconds: tombstoneTtlSeconds(config),
    cancelFlagTtlSeconds: config.STREAM_TTL_SECONDS,
    quotas,
    // The queue's own connection: WAIT confirms what the connection it runs on wrote.
    replicaAck: new ReplicaAck(redis, config.REDIS_MIN_REPLICAS_ACK, config.REDIS_REPLICA_ACK_TIMEOUT_MS),
  });
  // Blocking reads (XREAD BLOCK) get a connection of their own, opened on first use.
  const streams = new JobStreamReader({ commands: redis, connectBlocking: () => createRedis(target, 'worker', logger, 'api-streams'), keys });
  // Clients waiting on jobs learn of their end from the queue events this process reads anyway.
  const jobStates = new JobStateWatcher({
    events: lanes.default.events,
    queue,
    redis,
    logger,
    positions: fair.positions,
    others: laneList.filter((lane) => lane !== lanes.default).map((lane) => ({ events: lane.events, positions: lane.fair.positions })),
  });
  const files = new DirectoryFileStore(config.FILES_DIR);
  // Batches are coordinated by the API processes, which share FILES_DIR (docs/batches.md).
  const batches = startBatchSystem({
    config,
    redis,
    connectBlocking: () => createRedis(target, 'worker', logger, 'api-batches'),
    keys,
    files,
    jobs,
    jobStates,
    generateQueues: laneList.map((lane) => lane.queue),
    modelId: () => lanes.shownId(undefined),
    models: lanes,
    metrics: processMetrics(),
    logger,
  });
  const deps: ApiDeps = {
    config,
    logger,
    redis,
    keys,
    queue,
    lanes,
    jobs,
    files,
    batches: batches.service,
    tenants,
    streams,
    jobStates,
    streamCap: new StreamCap(config.MAX_STREAMS_PER_CLIENT),
    get modelId() {
      return lanes.shownId(undefined);
    },
    get embeddingSize() {
      return lanes.embeddingSize(undefined);
    },
  };
  return {
    app: createApp(deps),
    deps,
    queue,
    batchQueue: batches.queue,
    lanes,
    models,
    // Workers admit held jobs as theirs finish; this catches what they miss (a worker that died
    // between a completion and its admission, a job removed from Bull Board).
    admission: lanes.default.admission,
    async close() {
      for (const lane of laneList) lane.admission.close();
      // Running batches go back to their queue between two steps, for another process to take on.
      await batches.close();
      // Cached answers counted in memory are written while the connection is still open.
      await quotas.flush();
      for (const untrack of untrackQueues) untrack();
      prune.close();
      tenants.close();
      models.close();
      await streams.close();
      jobStates.close();
      for (const lane of laneList) await closeWhenStarted(lane.events);
      for (const lane of laneList) await closeWhenStarted(lane.queue);
      await eventsConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
}

/** One model's queue, its events and its fair schedule, with the schedule's safety-net admissions running. */
async function openLane(config: Config, catalogue: Catalogue, model: CatalogueModel, redis: Redis, eventsConnection: Redis, logger: Logger): Promise<ModelLane> {
  const queue = createQueue(config, redis, model.queue);
  queue.on('error', (error) => logger.warn({ err: error.message, queue: model.queue }, 'queue error'));
  const fair = new FairQueue({
    redis,
    queue,
    keys: redisKeys(laneKeyPrefix(config, catalogue, model)),
    readyDepth: config.FAIR_READY_DEPTH,
    boostAfterMs: config.MAX_WAIT_BEFORE_BOOST_SECONDS * 1000,
    logger,
  });
  const events = createQueueEvents(config, eventsConnection, model.queue);
  events.on('error', (error) => logger.warn({ err: error.message, queue: model.queue }, 'queue events error'));
  await events.waitUntilReady();
  return { model, queue, events, fair, admission: new AdmissionTrigger(fair, logger).every(ADMISSION_SAFETY_NET_MS) };
}
