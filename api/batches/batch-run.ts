import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { AppError } from '../../core/errors.ts';
import type { FileStore } from '../../core/files/file-store.ts';
import { isFinished } from '../../core/job-contract.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics/registry.ts';
import type { GenerateQueue } from '../../core/queue.ts';
import type { ModelResolver } from '../model-lanes.ts';
import { SYSTEM_VIEWER, type JobService } from '../job-service.ts';
import type { JobWatch, JobStateWatcher } from '../job-state-watcher.ts';
import { cachedAnswerView, type JobView } from '../job-view.ts';
import { isFinalBatch, type BatchRecord } from './batch-object.ts';
import { batchRequestId, LineError, type BatchLine, type LineContext } from './batch-line.ts';
import { finalizeBatch } from './batch-finalize.ts';
import { finishedLine, notRunLine, type NotRunReason, type SpooledLine } from './batch-output.ts';
import type { BatchStore, LineEntry } from './batch-store.ts';
import { validateInput } from './batch-validation.ts';
import { jsonlLines, type JsonlLine } from './jsonl-lines.ts';
import { openAiError } from '../openai/error-body.ts';

/** Pause between two steps of a batch when nothing woke it sooner (ms). */
const STEP_MS = 500;
/** Least pause between two steps: lines finishing one by one are collected a few at a time. */
const MIN_STEP_MS = 20;
/** A line the queue refused (a tenant's quota, backpressure) is sent again after this long, doubled each time, up to 30 s. */
const RESEND_MS = 1000;

export interface BatchRunDeps {
  store: BatchStore;
  files: FileStore;
  jobs: JobService;
  jobStates: JobStateWatcher;
  /** Every model's queue: a line's job is in its model's. */
  queues: readonly GenerateQueue[];
  parse: (text: string, context: LineContext) => BatchLine;
  limits: LineContext['limits'];
  /** Live: the default model's shown id. */
  modelId: () => string;
  /** The deployment's models: each line's `model` must name one. */
  models: ModelResolver;
  linesInFlight: number;
  maxLines: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * One batch, coordinated from wherever it stands (docs/batches.md): validation, then steps that
 * collect finished lines into the spool and admit more, a few at a time, then the output files.
 * Everything it decides is in Redis or the spool before it acts, so another API process can take
 * it over at any point (its coordinator job stalls and is picked up again).
 */
export class BatchRun {
  /** Jobs of the batch's lines this run follows, by job id. */
  private readonly watches = new Map<string, JobWatch>();
  /** Lines refused by the queue: when to send them again, and the last delay. */
  private readonly resendAt = new Map<number, { at: number; delay: number }>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly deps: BatchRunDeps,
    private readonly id: string,
    private readonly signal: AbortSignal,
    /** The coordinator job and its lock, when the run has one: each step first makes sure it still holds it. */
    private readonly lease?: { job: Job; token: string; lockMs: number },
  ) {}

  /**
   * Runs the batch until it ends (`done`), `signal` aborts because the process is stopping
   * (`stopped`), or another process has taken the batch over (`lost`: this one's lock lapsed, as
   * when Redis was away longer than the lock lives). A step that fails (Redis away) is tried again.
   */
  async run(): Promise<'done' | 'stopped' | 'lost'> {
    try {
      let batch: BatchRecord | undefined;
      for (;;) {
        if (this.signal.aborted) return 'stopped';
        try {
          if (!(await this.holdsLease())) return 'lost';
          batch = await this.deps.store.get(this.id);
          if (batch?.object.status === 'validating') batch = await this.validate(batch);
          if (!batch || isFinalBatch(batch.object.status)) return 'done';
          batch = await this.step(batch);
          if (!batch || isFinalBatch(batch.object.status)) return 'done';
        } catch (error) {
          this.deps.logger.warn({ batch: this.id, err: (error as Error).message }, 'a batch step failed; it is tried again');
        }
        await this.nap();
      }
    } finally {
      for (const watch of this.watches.values()) watch.close();
    }
  }

  private async holdsLease(): Promise<boolean> {
    if (!this.lease) return true;
    const { job, token, lockMs } = this.lease;
    return (await job.extendLock(token, lockMs)) === 1;
  }

  private context(batch: BatchRecord): LineContext {
    return { endpoint: batch.object.endpoint, limits: this.deps.limits, models: this.deps.models, tenant: batch.tenant };
  }

  private async validate(batch: BatchRecord): Promise<BatchRecord | undefined> {
    const { store, files, parse, maxLines, metrics } = this.deps;
    const file = await files.get(batch.object.input_file_id);
    const { total, errors } = file
      ? await validateInput(jsonlLines(files.read(file.id)), parse, this.context(batch), maxLines)
      : { total: 0, errors: [{ code: 'file_not_found', message: `input file ${batch.object.input_file_id} no longer exists`, param: 'input_file_id', line: null }] };
    if (errors.length > 0) {
      if (await store.transition(this.id, ['validating'], 'failed', { errors: JSON.stringify({ object: 'list', data: errors }), total })) {
        metrics.m.batchesFinished.inc({ state: 'failed' });
      }
    } else {
      await store.transition(this.id, ['validating'], 'in_progress', { total, next_line: 1, next_offset: 0 });
    }
    return await store.get(this.id);
  }

  /** Why the batch stops admitting lines, if it does. */
  private drainReason(batch: BatchRecord): NotRunReason | undefined {
    if (batch.object.status === 'cancelling') return 'cancelled';
    if (batch.object.expires_at !== null && Date.now() >= batch.object.expires_at * 1000) return 'expired';
    return undefined;
  }

  private async step(batch: BatchRecord): Promise<BatchRecord | undefined> {
    const { store, files } = this.deps;
    const reason = this.drainReason(batch);
    const entries = await store.lines(this.id);
    await this.collect(batch, entries, reason);
    // An input file deleted while its batch runs has no more lines to give.
    const input = await files.get(batch.object.input_file_id);
    if (!reason && input && batch.nextOffset < input.bytes) await this.admit(batch, entries);
    const fresh = await store.get(this.id);
    if (!fresh || isFinalBatch(fresh.object.status)) return fresh;
    await this.lease?.job.updateProgress({ status: fresh.object.status, ...fresh.object.request_counts }).catch(() => undefined);
    if (entries.size === 0 && (reason || !input || fresh.nextOffset >= input.bytes)) {
      await finalizeBatch(this.deps, fresh, reason);
      return await store.get(this.id);
    }
    return fresh;
  }

  /** Follows each line's job; writes the lines whose jobs finished, sends again those whose jobs are gone. */
  private async collect(batch: BatchRecord, entries: Map<number, LineEntry>, reason: NotRunReason | undefined): Promise<void> {
    const byJob = new Map<string, [number, LineEntry][]>();
    for (const [line, entry] of entries) byJob.set(entry.job, [...(byJob.get(entry.job) ?? []), [line, entry]]);
    for (const jobId of this.watches.keys()) {
      if (!byJob.has(jobId)) this.unwatch(jobId);
    }
    const done: SpooledLine[] = [];
    const lost: [number, LineEntry][] = [];
    await Promise.all(
      [...byJob].map(async ([jobId, lines]) => {
        const watch = this.watch(jobId);
        if (!watch.settled && !reason) return;
        const view = await this.deps.jobs.get(jobId, SYSTEM_VIEWER).catch((error: unknown) => {
          if (error instanceof AppError && error.status === 404) return undefined;
          throw error;
        });
        if (!view || (view.status === 'cancelled' && !view.result)) {
          // Gone (lost, never added, or removed by the drain below): run it again, unless the batch is stopping.
          if (reason) done.push(...lines.map(([line, entry]) => notRunLine(this.id, line, entry.custom_id, reason)));
          else lost.push(...lines);
          return;
        }
        if (isFinished(view.status)) {
          done.push(...lines.map(([line, entry]) => finishedLine(this.id, line, entry.custom_id, batch.object.endpoint, view, this.deps.modelId())));
          return;
        }
        if (watch.settled) watch.unsettle();
        // Stopping: a line that has not started never will; a running one finishes.
        if (reason && view.status === 'waiting' && lines.every(([, entry]) => !entry.shared)) {
          await this.deps.jobs.cancel(jobId, 0, SYSTEM_VIEWER).catch(() => undefined);
        }
      }),
    );
    await this.write(done, entries);
    for (const [line, entry] of lost) await this.resend(batch, line, entry);
  }

  /** Spools finished lines, then counts them (once each), then lets their jobs go. */
  private async write(done: SpooledLine[], entries: Map<number, LineEntry>): Promise<void> {
    if (done.length === 0) return;
    const { store, files, metrics, queues } = this.deps;
    await files.scratch(this.id).append(done.map((line) => JSON.stringify(line)));
    const recorded = new Set(await store.record(this.id, done));
    for (const line of done) {
      if (!recorded.has(line.line)) continue;
      const outcome = line.ok ? 'completed' : line.record.error ? (line.record.error.code === 'batch_expired' ? 'expired' : 'cancelled') : 'failed';
      metrics.m.batchLines.inc({ outcome });
    }
    const jobIds = new Set<string>();
    for (const line of done) {
      const entry = entries.get(line.line);
      entries.delete(line.line);
      if (entry && !entry.shared) jobIds.add(entry.job);
    }
    for (const jobId of jobIds) {
      this.unwatch(jobId);
      // The job's result is in the spool now: it need not wait for the queue's retention.
      for (const queue of queues) await queue.remove(jobId).catch(() => undefined);
    }
  }

  private watch(jobId: string): JobWatch {
    let watch = this.watches.get(jobId);
    if (!watch) {
      watch = this.deps.jobStates.watch(jobId);
      this.watches.set(jobId, watch);
      void watch.whenSettled(this.signal).then(() => this.wake?.());
    }
    return watch;
  }

  private unwatch(jobId: string): void {
    this.watches.get(jobId)?.close();
    this.watches.delete(jobId);
  }

  /** Admits the next lines of the input while fewer than `linesInFlight` are in the queue. */
  private async admit(batch: BatchRecord, entries: Map<number, LineEntry>): Promise<void> {
    const room = this.deps.linesInFlight - entries.size;
    if (room <= 0) return;
    const taken: JsonlLine[] = [];
    const content = this.deps.files.read(batch.object.input_file_id, batch.nextOffset);
    try {
      for await (const line of jsonlLines(content, { offset: batch.nextOffset, number: batch.nextLine })) {
        taken.push(line);
        if (taken.length >= room) break;
      }
    } finally {
      content.destroy();
    }
    const last = taken.at(-1);
    if (!last) {
      await this.deps.store.admit(this.id, new Map(), { line: batch.nextLine, offset: Number.MAX_SAFE_INTEGER });
      return;
    }
    const admitted = new Map(taken.map((line) => [line.number, { job: randomUUID(), custom_id: customIdOf(line.text), offset: line.offset } satisfies LineEntry]));
    await this.deps.store.admit(this.id, admitted, { line: last.number + 1, offset: last.end });
    for (const [line, entry] of admitted) entries.set(line, entry);
    await Promise.all(taken.map(async (line) => await this.send(batch, line, admitted.get(line.number)!)));
  }

  /** Sends a line whose job is gone again: its own job (the same id), after any refusal's delay. */
  private async resend(batch: BatchRecord, line: number, entry: LineEntry): Promise<void> {
    const pause = this.resendAt.get(line);
    if (pause && Date.now() < pause.at) return;
    this.unwatch(entry.job);
    let own = entry;
    if (entry.shared) {
      own = { job: randomUUID(), custom_id: entry.custom_id, offset: entry.offset };
      await this.deps.store.rebind(this.id, line, own);
    }
    const content = this.deps.files.read(batch.object.input_file_id, entry.offset);
    try {
      for await (const text of jsonlLines(content, { offset: entry.offset, number: line })) {
        await this.send(batch, text, own);
        break;
      }
    } finally {
      content.destroy();
    }
  }

  /** Submits a line's job as the synchronous endpoint would, in the batch priority class. */
  private async send(batch: BatchRecord, line: JsonlLine, entry: LineEntry): Promise<void> {
    let request: BatchLine;
    try {
      request = this.deps.parse(line.text, this.context(batch));
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      // Validated, but no longer acceptable (the served model changed): the answer the endpoint gives now.
      const body = openAiError(error.status, error.code, error.message, error.param ?? undefined);
      const record = { id: batchRequestId(this.id, line.number), custom_id: entry.custom_id, response: { status_code: error.status, request_id: entry.job, body }, error: null };
      await this.write([{ line: line.number, ok: false, record }], new Map([[line.number, entry]]));
      return;
    }
    try {
      const outcome = await this.deps.jobs.submit({ ...request.submission, jobId: entry.job, batch: { id: this.id, line: line.number } });
      this.resendAt.delete(line.number);
      if (outcome.kind === 'cached') {
        const view: JobView = cachedAnswerView(outcome.id, outcome.result);
        await this.write([finishedLine(this.id, line.number, entry.custom_id, batch.object.endpoint, view, this.deps.modelId())], new Map([[line.number, entry]]));
      } else if (outcome.id !== entry.job) {
        await this.deps.store.rebind(this.id, line.number, { ...entry, job: outcome.id, shared: true });
      }
    } catch (error) {
      const delay = Math.min((this.resendAt.get(line.number)?.delay ?? RESEND_MS / 2) * 2, 30_000);
      this.resendAt.set(line.number, { at: Date.now() + delay, delay });
      if (!(error instanceof AppError)) this.deps.logger.warn({ batch: this.id, line: line.number, err: (error as Error).message }, 'could not queue a batch line; it is sent again later');
    }
  }

  private async nap(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, STEP_MS);
      const onAbort = () => done();
      this.signal.addEventListener('abort', onAbort, { once: true });
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        this.signal.removeEventListener('abort', onAbort);
        setTimeout(done, MIN_STEP_MS);
      };
    });
    this.wake = undefined;
  }
}

/** A validated line's custom_id. */
function customIdOf(text: string): string {
  return (JSON.parse(text) as { custom_id: string }).custom_id;
}
