import { randomBytes } from 'node:crypto';
import { AppError, badRequest, conflict, notFound } from '../../core/errors.ts';
import type { FileStore } from '../../core/files/file-store.ts';
import type { Viewer } from '../job-service.ts';
import type { BatchObject, BatchRecord } from './batch-object.ts';
import type { BatchCoordinator } from './batch-coordinator.ts';
import type { BatchStore } from './batch-store.ts';
import type { CreateBatchRequest } from './batch-schemas.ts';

const BATCH_ID = /^batch_[0-9a-f]{32}$/;
const WINDOW = /^([1-9][0-9]{0,6})([smh])$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** `24h` (OpenAI's only value) or any `<n>s|m|h`, in seconds. */
export function windowSeconds(window: string): number | undefined {
  const match = WINDOW.exec(window);
  if (!match?.[1] || !match[2]) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

const batchNotFound = (id: string) => notFound(`no such batch: ${id}`);

/** The Batch API's side of batches: create, read, list, cancel. Their coordinators run them. */
export class BatchService {
  constructor(
    private readonly deps: {
      store: BatchStore;
      files: FileStore;
      coordinator: Pick<BatchCoordinator, 'enqueue'>;
      /** Live: the served model's id, which every line must name. */
      modelId: () => string;
      maxWindowSeconds: number;
    },
  ) {}

  async create(request: CreateBatchRequest, viewer: Viewer): Promise<BatchObject> {
    const { store, files } = this.deps;
    const seconds = windowSeconds(request.completion_window);
    if (seconds === undefined || seconds > this.deps.maxWindowSeconds) {
      throw badRequest('invalid_value', `completion_window must be "24h" or <n>s, <n>m, <n>h of at most ${this.deps.maxWindowSeconds} seconds`, 'completion_window');
    }
    const file = await files.get(request.input_file_id);
    if (!file || !(viewer.admin || file.tenant === viewer.tenant)) throw new AppError(404, 'not_found', `no such file: ${request.input_file_id}`, { param: 'input_file_id' });
    if (file.purpose !== 'batch') throw badRequest('invalid_value', `file ${file.id} has purpose ${file.purpose}; a batch reads a file uploaded with purpose "batch"`, 'input_file_id');
    const id = `batch_${randomBytes(16).toString('hex')}`;
    const createdAt = Math.floor(Date.now() / 1000);
    // The batch belongs to whoever owns its input: an admin may start one on a tenant's file.
    const tenant = file.tenant;
    await store.create({
      id,
      tenant,
      model: this.deps.modelId(),
      endpoint: request.endpoint,
      input_file_id: file.id,
      completion_window: request.completion_window,
      created_at: createdAt,
      expires_at: createdAt + seconds,
      metadata: request.metadata ?? null,
    });
    await this.deps.coordinator.enqueue(id, tenant);
    return (await this.get(id, viewer));
  }

  /** The batch, as `viewer` may see it: another tenant's is 404, exactly as an unknown id. */
  async get(id: string, viewer: Viewer): Promise<BatchObject> {
    return (await this.owned(id, viewer)).object;
  }

  private async owned(id: string, viewer: Viewer): Promise<BatchRecord> {
    if (!BATCH_ID.test(id)) throw batchNotFound(id);
    const batch = await this.deps.store.get(id);
    if (!batch || !(viewer.admin || batch.tenant === viewer.tenant)) throw batchNotFound(id);
    return batch;
  }

  /** The caller's own batches, newest first. */
  async list(viewer: Viewer, options: { after?: string | undefined; limit: number }): Promise<{ data: BatchObject[]; hasMore: boolean }> {
    const { batches, hasMore } = await this.deps.store.list(viewer.tenant, options);
    return { data: batches.map((batch) => batch.object), hasMore };
  }

  /**
   * Stops admitting lines: the coordinator withdraws the waiting ones, lets the running ones
   * finish, writes what exists, and ends the batch `cancelled`.
   */
  async cancel(id: string, viewer: Viewer): Promise<BatchObject> {
    const batch = await this.owned(id, viewer);
    const moved = await this.deps.store.transition(id, ['validating', 'in_progress'], 'cancelling');
    if (!moved) {
      const now = await this.owned(id, viewer);
      if (now.object.status !== 'cancelling') throw conflict('batch_not_cancellable', `batch ${id} is ${now.object.status} and can no longer be cancelled`);
    }
    return (await this.deps.store.get(id))?.object ?? batch.object;
  }
}
