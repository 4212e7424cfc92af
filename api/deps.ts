import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { FileStore } from '../core/files/file-store.ts';
import type { RedisKeys } from '../core/keys.ts';
import type { Logger } from '../core/logger.ts';
import type { GenerateQueue } from '../core/queue.ts';
import type { BatchService } from './batches/batch-service.ts';
import type { JobService } from './job-service.ts';
import type { ModelLanes } from './model-lanes.ts';
import type { JobStateWatcher } from './job-state-watcher.ts';
import type { JobStreamReader } from './job-stream-reader.ts';
import type { TenantDirectory } from './request-guard/tenant-directory.ts';
import type { StreamCap } from './stream-cap.ts';

/** Everything the HTTP layer needs, built by a composition root (api/main.ts, all/main.ts or a test). */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: RedisKeys;
  /** The default model's generation queue; jobs are submitted and read through `jobs`. */
  queue: GenerateQueue;
  /** Every model's queue (docs/models.md): requests' `model` names one; the depth of all is the backpressure. */
  lanes: ModelLanes;
  jobs: JobService;
  /** Uploaded files and batch results (`FILES_DIR`, shared by every replica). */
  files: FileStore;
  /** OpenAI's Batch API over the queue: batches created, read, listed and cancelled (api/batches/). */
  batches: BatchService;
  /** The tenants and their keys and limits (`API_KEYS`, `API_KEYS_FILE`, reloaded when the file changes). */
  tenants: TenantDirectory;
  /** Reads jobs' token streams for SSE clients (one blocking Redis connection per process). */
  streams: JobStreamReader;
  /** Which followed jobs have finished or gone (one QueueEvents subscription per process), so waiting clients cost no reads. */
  jobStates: JobStateWatcher;
  /** Open event streams per client (`MAX_STREAMS_PER_CLIENT`), native and OpenAI. */
  streamCap: StreamCap;
  /**
   * Id of the served model, as results and /v1/models show it (`<name>:<quantization>`). A live
   * value (workers publish it in Redis): read it per request, do not copy it.
   */
  readonly modelId: string;
  /** The served model's embedding vector size once a worker has reported it; live, like `modelId`. */
  readonly embeddingSize: number | undefined;
}
