import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { cacheHash, isCacheable, type ResultCache } from '../core/cache.ts';
import { conflict, notFound, unavailable } from '../core/errors.ts';
import { isFinished, type GenerationResult, type JobData, type JobInput, type Sampling } from '../core/job-contract.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Metrics } from '../core/metrics/registry.ts';
import { EMBED_JOB, GENERATE_JOB } from '../core/queue.ts';
import { cachedAnswerView, jobView, tombstoneJobView, type JobView } from './job-view.ts';
import type { ModelLane, ModelLanes } from './model-lanes.ts';
import type { ReplicaAck } from './replica-ack.ts';
import type { QuotaGate } from './tenant-quotas.ts';

/** Ids of answers served from the cache: pollable like jobs while the entry lives. */
const CACHE_ID_PREFIX = 'c-';
const JOB_ID_PATTERN = /^(?:[0-9a-f-]{36}|c-[0-9a-f]{64})$/;

/** Who asks about a job: only its tenant, or an admin, may see it. */
export interface Viewer {
  tenant: string;
  admin: boolean;
}

/**
 * The API's own reads of a job whose ownership a route has already checked (a stream it follows,
 * the job it just submitted): sees every tenant's.
 */
export const SYSTEM_VIEWER: Viewer = Object.freeze({ tenant: '', admin: true });

/** The tenant of jobs queued before tenants existed. */
const LEGACY_TENANT = 'anonymous';

export interface Submission {
  /** The tenant the job is for. */
  tenant: string;
  /** A prompt, messages, or texts to embed (with `EMBEDDING_SAMPLING`). */
  input: JobInput;
  sampling: Sampling;
  priority: number;
  cache: boolean;
  /** The catalogue id of the model (`ModelLanes.resolve`); default the first model. */
  model?: string;
  /** The job's id, when the caller must know it before the job exists (a batch line records it first); default a new one. */
  jobId?: string;
  /**
   * The batch the job is a line of. Its coordinator paces it, so fair scheduling does not hold it,
   * and it keeps the job after it finishes until it has collected the result (api/batches/).
   */
  batch?: { id: string; line: number };
}

export type SubmitOutcome =
  | { kind: 'cached'; id: string; result: GenerationResult }
  | { kind: 'queued'; id: string; job: Job<JobData, GenerationResult>; coalesced: boolean };

/** Submit, look up, wait for and cancel jobs (generations and embeddings): the API's side of the job contract. */
export class JobService {
  constructor(
    private readonly deps: {
      /** Each model's queue, its events and its fair schedule. */
      lanes: ModelLanes;
      redis: Redis;
      keys: RedisKeys;
      cache: ResultCache;
      /** `tenant`: results and in-flight jobs are shared within a tenant only; `global`: by all. */
      cacheScope: 'tenant' | 'global';
      /** Lifetime of the record of a cancelled waiting job (`tombstoneTtlSeconds`). */
      tombstoneTtlSeconds: number;
      /** Lifetime of a cancel flag (`STREAM_TTL_SECONDS`): it must outlast the run it stops. */
      cancelFlagTtlSeconds: number;
      /** The process's metrics (`processMetrics()`): submissions, cache results, cancels. */
      metrics: Metrics;
      /** Tenant quotas (`TENANT_MAX_JOBS`, `TENANT_TOKENS_PER_DAY`) and the slot each job holds. */
      quotas: QuotaGate;
      /** Replicas that must hold a job before it is acknowledged (`REDIS_MIN_REPLICAS_ACK`), on the queue's connection. */
      replicaAck: ReplicaAck;
    },
  ) {}

  private get metrics() {
    return this.deps.metrics.m;
  }

  async submit(submission: Submission): Promise<SubmitOutcome> {
    const { cache, quotas, lanes } = this.deps;
    const lane = lanes.lane(submission.model);
    // The model's reported identity, not the predicted one, once any worker has published it.
    await lanes.ensureReported(lane.model.id);
    const model = lanes.shownId(lane.model.id);
    const cacheable = submission.cache && cache.enabled && isCacheable(submission.input, submission.sampling);
    const owner = this.deps.cacheScope === 'tenant' ? submission.tenant : undefined;
    const hash = cacheable ? cacheHash(lanes.cacheIdentity(lane.model.id), submission.input, submission.sampling, owner) : undefined;
    // A cached answer costs no job and no tokens: it is served even to a tenant at its limits, and
    // counted in its usage in the background.
    const hit = hash ? await cache.get(hash) : undefined;
    if (hash && hit) {
      this.metrics.cacheRequests.inc({ model, result: 'hit' });
      void quotas.counted(submission.tenant, { cacheHit: true });
      return { kind: 'cached', id: `${CACHE_ID_PREFIX}${hash}`, result: hit.result };
    }
    // The tenant's quotas and the fair schedule are asked at once, both for the id the job will
    // get: the quotas hold a slot under it (given back when no job of its own comes of the
    // request), the schedule says whether the job waits held, beyond a short ready set or behind
    // its tenant's held jobs, until fair scheduling admits it (docs/architecture.md).
    const jobId = submission.jobId ?? randomUUID();
    const [admitted, held] = await Promise.all([
      quotas.admit(submission.tenant, jobId).then(
        (admission) => ({ admission }),
        (refusal: unknown) => ({ refusal }),
      ),
      submission.batch ? false : lane.fair.mustHold(submission.tenant, jobId),
    ]);
    if ('refusal' in admitted) {
      void lane.fair.release(jobId).catch(() => undefined);
      throw admitted.refusal;
    }
    const { admission } = admitted;
    let outcome: Extract<SubmitOutcome, { kind: 'queued' }>;
    try {
      outcome = await this.enqueue(submission, lane, jobId, hash, owner, held);
    } catch (error) {
      void admission.settle(undefined);
      throw error;
    }
    // In the background: only a request that joined another job gives its slot back.
    void admission.settle({ added: !outcome.coalesced, cacheHit: false });
    return outcome;
  }

  private async enqueue(
    submission: Submission,
    lane: ModelLane,
    jobId: string,
    hash: string | undefined,
    owner: string | undefined,
    held: boolean,
  ): Promise<Extract<SubmitOutcome, { kind: 'queued' }>> {
    const { queue, fair } = lane;
    const model = this.deps.lanes.shownId(lane.model.id);
    const data: JobData = {
      ...submission.input,
      sampling: submission.sampling,
      tenant: submission.tenant,
      acceptedAt: Date.now(),
      ...(hash ? { cacheKey: hash } : {}),
      ...(hash && owner !== undefined ? { cacheOwner: owner } : {}),
      model: lane.model.id,
      ...(submission.batch ? { batch: submission.batch } : {}),
    };
    // Identical deterministic requests in flight share one job: BullMQ returns the job already holding the key.
    const job = await queue.add(data.embed ? EMBED_JOB : GENERATE_JOB, data, {
      jobId,
      priority: submission.priority,
      ...(hash ? { deduplication: { id: hash } } : {}),
      ...(held ? { delay: fair.holdDelayMs } : {}),
      ...(submission.batch ? { removeOnComplete: false, removeOnFail: false } : {}),
    });
    const id = job.id ?? jobId;
    const coalesced = id !== jobId;
    if (held && !coalesced) await fair.hold(id, submission.tenant, submission.priority);
    await this.confirmReplicated(job, coalesced, lane);
    if (hash) this.metrics.cacheRequests.inc({ model, result: coalesced ? 'coalesced' : 'miss' });
    if (!coalesced) this.metrics.jobsSubmitted.inc({ queue: queue.name, model });
    else await this.raisePriority(lane, id, submission.priority);
    return { kind: 'queued', id, job, coalesced };
  }

  /**
   * With `REDIS_MIN_REPLICAS_ACK`, a job is acknowledged only once that many replicas hold it, so
   * that a failover cannot lose it after its client was told it was accepted. Not confirmed in
   * time, the submission is refused with 503 and its job removed: the client knows it was not
   * accepted and sends it again. A job this request only joined is left alone (others hold it).
   * The removal may itself miss the replicas; the job then reappears after a failover and runs for
   * nobody, which costs work but loses nothing (docs/reliability.md).
   */
  private async confirmReplicated(job: Job<JobData, GenerationResult>, coalesced: boolean, lane: ModelLane): Promise<void> {
    const { replicaAck } = this.deps;
    let confirmed = false;
    try {
      confirmed = await replicaAck.confirm();
    } finally {
      if (!confirmed && !coalesced && job.id) await this.withdrawUnconfirmed(job.id, job, lane);
    }
    if (!confirmed) {
      this.metrics.jobsUnconfirmed.inc({ queue: lane.queue.name, model: this.deps.lanes.shownId(lane.model.id) });
      throw unavailable(
        'redis_replication_timeout',
        `the job was not accepted: fewer than ${replicaAck.replicas} Redis replica(s) confirmed it within ${replicaAck.timeoutMs} ms; retry shortly`,
        1,
      );
    }
  }

  /** Removes the job; one a worker took meanwhile is stopped instead. Best effort: Redis may be away. */
  private async withdrawUnconfirmed(id: string, job: Job<JobData, GenerationResult>, { fair }: ModelLane): Promise<void> {
    const { redis, keys } = this.deps;
    try {
      await job.remove();
      await fair.withdraw(id);
    } catch {
      await redis.set(keys.cancelFlag(id), '1', 'EX', this.deps.cancelFlagTtlSeconds).catch(() => undefined);
      await redis.publish(keys.cancelChannel, id).catch(() => undefined);
    }
  }

  /**
   * A request that joins a job asks for it at its own priority: the shared job runs at the most
   * urgent of them (1 first), or the joiner would wait behind work it outranks. Two joiners
   * raising it at once may leave the less urgent of their two priorities: still no lower than before.
   */
  private async raisePriority({ queue }: ModelLane, id: string, priority: number): Promise<void> {
    const current = Number(await this.deps.redis.hget(queue.toKey(id), 'priority'));
    if (!(priority < current)) return;
    const job = await Job.fromId<JobData, GenerationResult>(queue, id);
    // Waiting jobs move in the queue; an active or finished one only records the number.
    await job?.changePriority({ priority }).catch(() => undefined);
  }

  /** The job as `viewer` may see it; another tenant's job is `404`, exactly as an unknown id. */
  async get(id: string, viewer: Viewer): Promise<JobView> {
    if (!JOB_ID_PATTERN.test(id)) throw notFound(`job ${id} not found`);
    if (id.startsWith(CACHE_ID_PREFIX)) return await this.cachedView(id, viewer);
    const found = await this.load(id, viewer);
    if (!found) return await this.tombstoneView(id, viewer);
    const view = jobView(found.job, found.state);
    if (view.status === 'waiting') view.queue_position = await found.lane.fair.positions.of(id);
    return view;
  }

  /**
   * The state is read before the job's data, so the data is at least as new as the state:
   * a job seen as completed always comes with its result (the other order can miss it).
   */
  private async load(id: string, viewer: Viewer): Promise<{ job: Job<JobData, GenerationResult>; state: string; lane: ModelLane } | undefined> {
    const located = await this.deps.lanes.locate(id);
    if (!located) return undefined;
    const { lane, state } = located;
    const job = await Job.fromId<JobData, GenerationResult>(lane.queue, id);
    if (!job) return undefined;
    if (!sees(viewer, job.data.tenant ?? LEGACY_TENANT)) throw notFound(`job ${id} not found`);
    return { job, state, lane };
  }

  /**
   * The job's result if it completes (or is cancelled) within `timeoutMs`, taken from the
   * completion event itself: no further Redis reads on the synchronous path. Undefined when it
   * failed, timed out or was removed; `get` then tells which.
   */
  async resultWithin(job: Job<JobData, GenerationResult>, timeoutMs: number): Promise<GenerationResult | undefined> {
    if (timeoutMs <= 0) return undefined;
    try {
      return (await job.waitUntilFinished(this.deps.lanes.ofJob(job).events, timeoutMs)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Waits until the job finishes or `timeoutMs` passes; then answers what is known. */
  async waitFor(job: Job<JobData, GenerationResult>, timeoutMs: number): Promise<JobView> {
    if (timeoutMs > 0) {
      try {
        await job.waitUntilFinished(this.deps.lanes.ofJob(job).events, timeoutMs);
      } catch {
        // Timed out, failed or removed: the view below says which.
      }
    }
    return await this.get(job.id ?? '', SYSTEM_VIEWER);
  }

  async cancel(id: string, waitMs: number, viewer: Viewer): Promise<{ view: JobView; done: boolean }> {
    const { redis, keys } = this.deps;
    if (!JOB_ID_PATTERN.test(id)) throw notFound(`job ${id} not found`);
    if (id.startsWith(CACHE_ID_PREFIX)) {
      await this.cachedView(id, viewer);
      throw conflict('job_finished', 'a cached result cannot be cancelled');
    }
    const found = await this.load(id, viewer);
    if (!found) {
      const tomb = await this.tombstoneView(id, viewer);
      throw conflict('job_finished', `job ${id} is already ${tomb.status}`);
    }
    const { job, state, lane } = found;
    if (state === 'completed' || state === 'failed') {
      throw conflict('job_finished', `job ${id} is already ${jobView(job, state).status}`);
    }
    // From now on an identical request starts a job of its own rather than joining one that ends
    // `cancelled` with little or no text.
    if (job.data.cacheKey) await job.removeDeduplicationKey();
    // The flag reaches a worker that picks the job up before we remove it, or picks it up again
    // after the worker running it was lost.
    await redis.set(keys.cancelFlag(id), '1', 'EX', this.deps.cancelFlagTtlSeconds);
    if (state !== 'active') {
      const tenant = job.data.tenant ?? LEGACY_TENANT;
      // The record that stands in for the job is written first: whoever learns of the removal (a
      // follower told by the queue's events) must find it. While the job exists, readers see the job.
      const tomb = keys.tombstone(id);
      await redis.multi().hset(tomb, { created_at: job.timestamp, finished_at: Date.now(), tenant }).expire(tomb, this.deps.tombstoneTtlSeconds).exec();
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed) {
        await lane.fair.withdraw(id);
        this.metrics.jobsCancelled.inc({ queue: lane.queue.name, model: this.deps.lanes.shownId(lane.model.id) });
        await this.deps.quotas.cancelled(tenant, id);
        // A stream left by an earlier attempt goes with the job.
        await redis.del(keys.stream(id), keys.streamOwner(id));
        return { view: await this.tombstoneView(id, SYSTEM_VIEWER), done: true };
      }
      // Became active (locked) in the meantime: no record; it is stopped in its worker below.
      await redis.del(tomb);
    }
    await redis.publish(keys.cancelChannel, id);
    const view = await this.waitFor(job, waitMs);
    return { view, done: isFinished(view.status) };
  }

  private async cachedView(id: string, viewer: Viewer): Promise<JobView> {
    const entry = await this.deps.cache.get(id.slice(CACHE_ID_PREFIX.length));
    if (!entry || (entry.owner !== undefined && !sees(viewer, entry.owner))) throw notFound(`job ${id} not found (cached results expire)`);
    return cachedAnswerView(id, entry.result);
  }

  private async tombstoneView(id: string, viewer: Viewer): Promise<JobView> {
    const tomb = await this.deps.redis.hgetall(this.deps.keys.tombstone(id));
    if (!tomb.created_at || !sees(viewer, tomb.tenant ?? LEGACY_TENANT)) throw notFound(`job ${id} not found`);
    return tombstoneJobView(id, Number(tomb.created_at), tomb.finished_at ? Number(tomb.finished_at) : undefined);
  }
}

const sees = (viewer: Viewer, tenant: string) => viewer.admin || viewer.tenant === tenant;
