import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { BATCH_JOB, batchQueueName, type BatchJobData, type BatchQueue } from '../../core/batch-queue.ts';
import type { Config } from '../../core/config.ts';
import { jobLockOptions } from '../../core/job-locks.ts';
import type { Logger } from '../../core/logger.ts';
import { closeWhenStarted } from '../../core/queue.ts';
import { BatchRun, type BatchRunDeps } from './batch-run.ts';

/** How often each API process checks that every unfinished batch has a coordinator (ms). */
const SWEEP_MS = 30_000;

/**
 * Runs batches (docs/batches.md). Each batch is one job of its own queue, taken by one API process
 * at a time (a BullMQ worker with `BATCH_COORDINATORS` slots); if that process dies, its lock
 * lapses and another process takes the batch over from where Redis and the spool say it stood. The
 * lines themselves are jobs of the generation queue: a coordinator never runs inference.
 */
export class BatchCoordinator {
  private readonly worker: Worker<BatchJobData, void, typeof BATCH_JOB>;
  private readonly stopping = new AbortController();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: BatchRunDeps & { config: Config; batchQueue: BatchQueue; logger: Logger },
    connection: Redis,
  ) {
    const { config } = deps;
    // Each line a batch follows listens for the stop: many at once, by design.
    setMaxListeners(0, this.stopping.signal);
    this.worker = new Worker<BatchJobData, void, typeof BATCH_JOB>(batchQueueName(config), this.process, {
      connection: connection as ConnectionOptions,
      prefix: config.REDIS_PREFIX,
      // Which process coordinates a batch: Bull Board shows it as the job's worker.
      name: `api-${hostname()}-${process.pid}`,
      concurrency: config.BATCH_COORDINATORS,
      ...jobLockOptions(config.JOB_LOCK_MS),
      // Taking a batch over is safe however often it happens: it resumes, it does not restart.
      maxStalledCount: 1_000_000,
      autorun: false,
    });
    this.worker.on('error', (error) => deps.logger.warn({ err: error.message }, 'batch coordinator error'));
    this.worker.on('failed', (job, error) => deps.logger.warn({ batch: job?.data.batchId, err: error.message }, 'batch coordinator failed; it is tried again'));
  }

  /** Starts taking batches, and makes sure every unfinished one has a coordinator job. */
  start(): this {
    void this.worker.run().catch((error: unknown) => this.deps.logger.error({ err: (error as Error).message }, 'batch coordinator stopped'));
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    return this;
  }

  /** Gives a new batch its coordinator. */
  async enqueue(batchId: string, tenant: string): Promise<void> {
    await this.deps.batchQueue.add(BATCH_JOB, { batchId, tenant }, { jobId: batchId });
  }

  /**
   * A batch whose coordinator job is gone (its creator died between the record and the job, or
   * its job failed every attempt) gets one again; adding an existing job id changes nothing.
   */
  private async sweep(): Promise<void> {
    try {
      const live = await this.deps.store.live();
      for (const batchId of Object.keys(live)) {
        const batch = await this.deps.store.get(batchId);
        if (batch) await this.enqueue(batchId, batch.tenant);
      }
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'could not check the batches for coordinators');
    }
  }

  private readonly process = async (job: Job<BatchJobData, void, typeof BATCH_JOB>, token?: string): Promise<void> => {
    const lease = token === undefined ? undefined : { job, token, lockMs: this.deps.config.JOB_LOCK_MS };
    const outcome = await new BatchRun(this.deps, job.data.batchId, this.stopping.signal, lease).run();
    if (outcome === 'stopped') {
      // Stopping: the batch goes back to the queue for another process (or this one, restarted).
      await job.moveToWait(token);
      throw new WaitingError();
    }
    // Taken over elsewhere: this job's end is not this process's to record.
    if (outcome === 'lost') throw new Error(`batch ${job.data.batchId} is coordinated by another process now`);
  };

  /** Stops: each running batch stops between two steps and goes back to the queue. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.stopping.abort();
    await closeWhenStarted(this.worker);
  }
}
