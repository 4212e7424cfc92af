import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ResultCache } from '../core/cache.ts';
import type { Config } from '../core/config.ts';
import type { GenerationResult, JobData } from '../core/job-contract.ts';
import { redisKeys, type RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import { initEmbeddingCounters } from '../core/metrics/embeddings.ts';
import { trackInferencePool } from '../core/metrics/inference.ts';
import { processMetrics } from '../core/metrics/registry.ts';
import { laneKeyPrefix, modelConfig, type Catalogue, type CatalogueModel } from '../core/model/catalogue.ts';
import { defaultMemoryBudget, planInference, planMemoryBytes, thisMachine, type Machine } from '../core/model/inference-plan.ts';
import { resolveModelSource, type ModelSource } from '../core/model/resolve.ts';
import { closeWhenStarted } from '../core/queue.ts';
import { servedCacheIdentity, type ServedModel } from '../core/model/served-models.ts';
import type { TenantLedger } from '../core/tenants/ledger.ts';
import type { InferencePool } from './inference-pool.ts';
import { createJobWorker } from './job-worker.ts';
import { loadModelPool } from './model-pool.ts';
import { JobProcessor } from './processor.ts';
import { servedModelRecord } from './served-model-record.ts';
import { recordTenantUsage } from './tenant-usage-recorder.ts';
import type { TokenStreamWriter } from './token-stream-writer.ts';

/** How often a worker that cannot hold all its models looks at their queues (ms), at most. */
const LOOK_MS = 250;

/** A model this worker serves, ready to load: its file resolved, its memory known. */
interface Servable {
  model: CatalogueModel;
  config: Config;
  source: ModelSource;
  /** The id results, metrics and /v1/models show. */
  shownId: string;
  memoryBytes: number;
  /** Since when this worker has seen jobs ready in its queue while it was not loaded. */
  waitingSince?: number | undefined;
}

/** A loaded model: its pool, the BullMQ worker on its queue and the processor between them. */
interface Loaded {
  servable: Servable;
  pool: InferencePool;
  processor: JobProcessor;
  worker: Worker<JobData, GenerationResult>;
  record: ServedModel;
  untrack: () => void;
  loadedAt: number;
}

export interface ModelHostDeps {
  config: Config;
  catalogue: Catalogue;
  workerId: string;
  /** The worker's own commands (cancel flags, queue lengths). */
  redis: Redis;
  /** BullMQ's connection: every model's BullMQ worker duplicates it for its blocking reads. */
  bullConnection: Redis;
  keys: RedisKeys;
  cache: ResultCache;
  streams: TokenStreamWriter;
  ledger: TenantLedger;
  logger: Logger;
  tokenFlushMs: number;
  machine?: Machine;
}

/**
 * The models a worker serves (WORKER_MODELS) and the ones it has loaded (docs/models.md). When all
 * fit WORKER_MEMORY_BUDGET, all are loaded at start and stay. When not, it loads on demand: it
 * takes jobs only of loaded models (a BullMQ worker runs on a model's queue only while the model is
 * loaded), and switches to an unloaded model once that model has had jobs waiting for
 * MODEL_SWITCH_AFTER_MS, or at once when no loaded model has work; a model it switched to stays
 * at least MODEL_SWITCH_AFTER_MS. Unloading closes the model's BullMQ worker first, which waits
 * for every job it runs: a model is never unloaded with jobs in flight.
 */
export class ModelHost {
  private readonly loaded = new Map<string, Loaded>();
  private switching: Promise<void> | undefined;
  /** A look at the queues is under way (they are read asynchronously; two must not both switch). */
  private looking = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Loads since start, including the first ones. */
  loads = 0;
  /** Called after each load or unload (the heartbeat lists the loaded models). */
  onChange: (unloaded?: string) => Promise<void> = async () => undefined;

  private constructor(
    private readonly deps: ModelHostDeps,
    private readonly servables: Servable[],
    private readonly budget: number,
    private readonly machine: Machine,
  ) {}

  /** Resolves (downloads, quantizes) every served model's file, in this thread, before any loads. */
  static async prepare(deps: ModelHostDeps, served: readonly CatalogueModel[]): Promise<ModelHost> {
    const { config, catalogue, logger } = deps;
    const machine = deps.machine ?? thisMachine();
    const budget = config.WORKER_MEMORY_BUDGET ?? defaultMemoryBudget(machine);
    const planned: Servable[] = [];
    for (const model of served) {
      const own = modelConfig(config, model);
      const source = await resolveModelSource(own, logger);
      planned.push({ model, config: own, source, shownId: catalogue.single ? source.id : model.id, memoryBytes: 0 });
    }
    // Models held at once share the cores: each is planned on its share.
    const together = mostThatFit(planned.map((s) => memoryOf(s, machine)), budget);
    const share: Machine = { cores: Math.max(1, Math.floor(machine.cores / together)), memoryBytes: machine.memoryBytes };
    for (const servable of planned) servable.memoryBytes = memoryOf(servable, share);
    return new ModelHost(deps, planned, budget, share);
  }

  /** The memory each served model takes when loaded (catalogue id → bytes), as planned against the budget. */
  get plannedBytes(): Record<string, number> {
    return Object.fromEntries(this.servables.map((s) => [s.model.id, s.memoryBytes]));
  }

  /** WORKER_MEMORY_BUDGET, or its default. */
  get memoryBudget(): number {
    return this.budget;
  }

  /** True when the served models do not all fit the budget: loads follow the queues. */
  get onDemand(): boolean {
    return this.servables.length > 1 && sum(this.servables.map((s) => s.memoryBytes)) > this.budget;
  }

  /** Loads what it can hold (all, or the model with work first), then follows the queues if it must. */
  async start(): Promise<void> {
    const { logger } = this.deps;
    if (!this.onDemand) {
      for (const servable of this.servables) await this.load(servable);
      return;
    }
    logger.info(
      { budget: this.budget, models: Object.fromEntries(this.servables.map((s) => [s.model.id, s.memoryBytes])) },
      'the served models do not all fit WORKER_MEMORY_BUDGET: loading them as their queues need',
    );
    const backlog = await this.backlogs();
    const first = this.servables.find((s) => (backlog.get(s.model.id) ?? 0) > 0) ?? this.servables[0]!;
    await this.load(first);
    for (const servable of this.servables) if (servable !== first && servable.memoryBytes <= this.free()) await this.load(servable);
    this.timer = setInterval(() => void this.look(), Math.max(20, Math.min(LOOK_MS, this.deps.config.MODEL_SWITCH_AFTER_MS / 4)));
    this.timer.unref();
  }

  /** What the heartbeat publishes: one record per loaded model. */
  records(): ServedModel[] {
    return [...this.loaded.values()].map((l) => l.record);
  }

  /** The pool of `id` (a catalogue id), or of the first loaded model. */
  pool(id?: string): InferencePool | undefined {
    return (id === undefined ? this.loaded.values().next().value : this.loaded.get(id))?.pool;
  }

  /** The id the first served model is shown under. */
  get firstShownId(): string {
    return this.servables[0]!.shownId;
  }

  /** A client's cancel, for whichever loaded model runs the job. */
  cancel(jobId: string): boolean {
    return [...this.loaded.values()].some((l) => l.processor.cancel(jobId));
  }

  get activeJobIds(): string[] {
    return [...this.loaded.values()].flatMap((l) => l.processor.activeJobIds);
  }

  handBackAll(): void {
    for (const l of this.loaded.values()) l.processor.handBackAll();
  }

  /** Stops taking jobs: closes every model's BullMQ worker, which waits for the jobs it runs. */
  async stopTaking(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const l of this.loaded.values()) l.processor.stopTaking();
    await this.switching;
    await Promise.all([...this.loaded.values()].map((l) => closeWhenStarted(l.worker)));
  }

  /** Unloads every model; after `stopTaking`. */
  async release(): Promise<void> {
    for (const l of this.loaded.values()) l.untrack();
    await Promise.all([...this.loaded.values()].map((l) => l.pool.close()));
    this.loaded.clear();
  }

  private free(): number {
    return this.budget - sum([...this.loaded.values()].map((l) => l.servable.memoryBytes));
  }

  private async load(servable: Servable): Promise<void> {
    const { config, catalogue, logger } = this.deps;
    const { model, shownId } = servable;
    const pool = await loadModelPool(servable.config, servable.source, logger, this.deps.tokenFlushMs, this.machine);
    this.loads += 1;
    processMetrics().m.modelLoads.inc({ model: shownId });
    const record = servedModelRecord({ ...servable.source, id: shownId }, pool);
    const untrack = trackInferencePool({ ...pool.model, id: shownId }, pool);
    initEmbeddingCounters(shownId);
    const processor = new JobProcessor({
      pool,
      redis: this.deps.redis,
      keys: this.deps.keys,
      cache: this.deps.cache,
      streams: this.deps.streams,
      modelId: shownId,
      cacheIdentity: servedCacheIdentity(record),
      logger,
    });
    const worker = createJobWorker({
      config,
      queueName: model.queue,
      model: shownId,
      fairKeys: redisKeys(laneKeyPrefix(config, catalogue, model)),
      workerId: this.deps.workerId,
      connection: this.deps.bullConnection,
      processor,
      concurrency: pool.slots,
      logger,
    });
    recordTenantUsage(worker, this.deps.ledger, logger);
    servable.waitingSince = undefined;
    this.loaded.set(model.id, { servable, pool, processor, worker, record, untrack, loadedAt: Date.now() });
    logger.info({ model: shownId, queue: model.queue, sequences: pool.capacity, concurrency: pool.slots }, 'taking jobs');
    await this.onChange();
  }

  private async unload(loaded: Loaded): Promise<void> {
    const { logger } = this.deps;
    const id = loaded.servable.model.id;
    // No new jobs, and every job it runs finishes before the model goes.
    loaded.processor.stopTaking();
    await closeWhenStarted(loaded.worker);
    this.loaded.delete(id);
    await this.onChange(loaded.record.id);
    loaded.untrack();
    await loaded.pool.close();
    logger.info({ model: loaded.servable.shownId, loadedMs: Date.now() - loaded.loadedAt }, 'model unloaded');
  }

  /** Jobs ready in each served model's queue (wait and prioritized lists: held and retried jobs are not ready). */
  private async backlogs(): Promise<Map<string, number>> {
    const { redis, config } = this.deps;
    const pipeline = redis.pipeline();
    for (const s of this.servables) {
      const base = `${config.REDIS_PREFIX}:${s.model.queue}`;
      pipeline.llen(`${base}:wait`).zcard(`${base}:prioritized`);
    }
    const replies = (await pipeline.exec()) ?? [];
    const counts = new Map<string, number>();
    this.servables.forEach((s, i) => counts.set(s.model.id, Number(replies[2 * i]?.[1] ?? 0) + Number(replies[2 * i + 1]?.[1] ?? 0)));
    return counts;
  }

  private async look(): Promise<void> {
    if (this.switching || this.closed || this.looking) return;
    this.looking = true;
    let backlog: Map<string, number>;
    try {
      backlog = await this.backlogs();
    } catch {
      return; // Redis away: look again next time
    } finally {
      this.looking = false;
    }
    const now = Date.now();
    for (const s of this.servables) {
      if (this.loaded.has(s.model.id) || (backlog.get(s.model.id) ?? 0) === 0) s.waitingSince = undefined;
      else s.waitingSince ??= now;
    }
    const next = this.servables
      .filter((s) => s.waitingSince !== undefined)
      .sort((a, b) => a.waitingSince! - b.waitingSince!)[0];
    if (!next || this.switching || this.closed) return;
    const victims = this.victimsFor(next, backlog, now);
    if (!victims) return;
    this.switching = this.switchTo(next, victims).finally(() => {
      this.switching = undefined;
    });
  }

  /**
   * The loaded models to unload so that `next` fits, or undefined when it must wait: while a loaded
   * model has work, until `next` has waited MODEL_SWITCH_AFTER_MS; and a model stays at least that
   * long once loaded. Idle models go first, then those loaded longest.
   */
  private victimsFor(next: Servable, backlog: Map<string, number>, now: number): Loaded[] | undefined {
    const switchAfter = this.deps.config.MODEL_SWITCH_AFTER_MS;
    const loaded = [...this.loaded.values()];
    const busy = (l: Loaded) => (backlog.get(l.servable.model.id) ?? 0) > 0 || l.processor.activeJobIds.length > 0;
    if (next.memoryBytes <= this.free()) return [];
    if (loaded.some(busy) && now - next.waitingSince! < switchAfter) return undefined;
    const eligible = loaded
      .filter((l) => now - l.loadedAt >= switchAfter)
      .sort((a, b) => Number(busy(a)) - Number(busy(b)) || a.loadedAt - b.loadedAt);
    const victims: Loaded[] = [];
    let room = this.free();
    for (const l of eligible) {
      if (room >= next.memoryBytes) break;
      victims.push(l);
      room += l.servable.memoryBytes;
    }
    // A model larger than the budget still loads, alone.
    if (room < next.memoryBytes && victims.length < loaded.length) return undefined;
    return victims;
  }

  private async switchTo(next: Servable, victims: Loaded[]): Promise<void> {
    const { logger } = this.deps;
    logger.info({ load: next.shownId, unload: victims.map((v) => v.servable.shownId), waitedMs: Date.now() - (next.waitingSince ?? Date.now()) }, 'switching models');
    try {
      for (const victim of victims) await this.unload(victim);
      if (!this.closed) await this.load(next);
    } catch (error) {
      logger.error({ err: (error as Error).message, model: next.shownId }, 'model switch failed; trying again later');
    }
  }
}

function memoryOf(servable: Pick<Servable, 'source' | 'config'>, machine: Machine): number {
  const plan = planInference(servable.source.facts, servable.config, machine);
  return planMemoryBytes(servable.source.facts, plan, servable.config.CONTEXT_SIZE);
}

/** How many of these sizes fit the budget together, smallest first (at least 1). */
function mostThatFit(sizes: number[], budget: number): number {
  let room = budget;
  let count = 0;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    if (size > room) break;
    room -= size;
    count += 1;
  }
  return Math.max(1, count);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
