/**
 * Every metric this system exports, in one place: registry, tests, alert rules, Grafana
 * dashboards and docs/metrics.md are all checked against this catalog, so a rename cannot
 * silently break a dashboard.
 *
 * Labels are bounded sets chosen by the system (queue names, route patterns, model ids and tenant
 * names from configuration, finish reasons). No label ever carries a prompt, a job id or anything a client
 * typed. Worker replicas are told apart by Prometheus's own `instance` label.
 */

export const METRIC_PREFIX = 'llmo_';

/** Seconds; spans fast API calls to the longest synchronous wait (MAX_WAIT_MS default 120 s). */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Seconds a job waits in the queue: from instant pick-up to a long backlog. */
const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Seconds to the first token: milliseconds for tiny models on CPU, seconds for long prompts on big ones. */
const TTFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40];
/** Seconds per output token after the first (inter-token latency). */
const TPOT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5];
/** Seconds of whole generations and of whole jobs. */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  /** Which process roles export it (all of them in `npm start`). */
  readonly exportedBy: readonly ('api' | 'worker' | 'dashboard')[];
}

/** BullMQ states read by `getJobCounts` at scrape time. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'paused', 'completed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Outcomes of a cacheable submission: served from the cache, shared an in-flight job, or started a new one. */
export const CACHE_RESULTS = ['hit', 'coalesced', 'miss'] as const;
export type CacheResult = (typeof CACHE_RESULTS)[number];

/** Kinds of tokens a tenant uses: what the model read, and what it wrote. */
export const TOKEN_KINDS = ['prompt', 'completion'] as const;

export const METRICS = {
  httpRequestDuration: {
    name: 'llmo_http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request duration by route pattern, method and status code.',
    labels: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
    exportedBy: ['api', 'dashboard'],
  },
  queueJobs: {
    name: 'llmo_queue_jobs',
    type: 'gauge',
    help: 'Jobs in each BullMQ state, read from Redis at scrape time (completed and failed are bounded by retention).',
    labels: ['queue', 'model', 'state'],
    exportedBy: ['api', 'dashboard'],
  },
  batches: {
    name: 'llmo_batches',
    type: 'gauge',
    help: 'Unfinished batches by state (validating, in_progress, finalizing, cancelling), read from Redis at scrape time.',
    labels: ['state'],
    exportedBy: ['api'],
  },
  batchesFinished: {
    name: 'llmo_batches_finished_total',
    type: 'counter',
    help: 'Batches that ended, by final state (completed, failed, expired, cancelled).',
    labels: ['state'],
    exportedBy: ['api'],
  },
  batchLines: {
    name: 'llmo_batch_lines_total',
    type: 'counter',
    help: 'Batch lines by outcome: completed (status 200), failed (an error answer), expired or cancelled (never ran).',
    labels: ['outcome'],
    exportedBy: ['api'],
  },
  jobsSubmitted: {
    name: 'llmo_jobs_submitted_total',
    type: 'counter',
    help: 'Jobs added to the queue (cache hits and requests sharing an in-flight job add none).',
    labels: ['queue', 'model'],
    exportedBy: ['api'],
  },
  jobsUnconfirmed: {
    name: 'llmo_jobs_unconfirmed_total',
    type: 'counter',
    help: 'Submissions refused with 503 redis_replication_timeout: fewer than REDIS_MIN_REPLICAS_ACK replicas confirmed the job in time.',
    labels: ['queue', 'model'],
    exportedBy: ['api'],
  },
  jobsCompleted: {
    name: 'llmo_jobs_completed_total',
    type: 'counter',
    help: 'Jobs completed by this worker, by finish reason (stop or length).',
    labels: ['queue', 'model', 'finish_reason'],
    exportedBy: ['worker'],
  },
  jobsFailed: {
    name: 'llmo_jobs_failed_total',
    type: 'counter',
    help: 'Jobs that failed for good in this worker (no attempt left, or a deterministic error).',
    labels: ['queue', 'model'],
    exportedBy: ['worker'],
  },
  jobsRetried: {
    name: 'llmo_jobs_retried_total',
    type: 'counter',
    help: 'Failed attempts that BullMQ will retry after a backoff.',
    labels: ['queue', 'model'],
    exportedBy: ['worker'],
  },
  jobsCancelled: {
    name: 'llmo_jobs_cancelled_total',
    type: 'counter',
    help: 'Jobs cancelled by clients: removed while waiting (api) or stopped while running (worker).',
    labels: ['queue', 'model'],
    exportedBy: ['api', 'worker'],
  },
  jobsStalled: {
    name: 'llmo_jobs_stalled_total',
    type: 'counter',
    help: 'Active jobs whose worker stopped renewing the lock, found and put back by this worker.',
    labels: ['queue', 'model'],
    exportedBy: ['worker'],
  },
  queueWait: {
    name: 'llmo_job_queue_wait_seconds',
    type: 'histogram',
    help: 'Time from acceptance by the API to the start of generation (timings.queued_ms).',
    labels: ['queue', 'model'],
    buckets: QUEUE_WAIT_BUCKETS,
    exportedBy: ['worker'],
  },
  e2eLatency: {
    name: 'llmo_e2e_request_latency_seconds',
    type: 'histogram',
    help: 'Time from acceptance by the API to the finished result: queue wait plus generation.',
    labels: ['model'],
    buckets: DURATION_BUCKETS,
    exportedBy: ['worker'],
  },
  timeToFirstToken: {
    name: 'llmo_time_to_first_token_seconds',
    type: 'histogram',
    help: 'Time from the start of generation to the first generated token (prompt evaluation included).',
    labels: ['model'],
    buckets: TTFT_BUCKETS,
    exportedBy: ['worker'],
  },
  timePerOutputToken: {
    name: 'llmo_time_per_output_token_seconds',
    type: 'histogram',
    help: 'Mean time per generated token after the first, one observation per generation of two or more tokens.',
    labels: ['model'],
    buckets: TPOT_BUCKETS,
    exportedBy: ['worker'],
  },
  generationDuration: {
    name: 'llmo_generation_duration_seconds',
    type: 'histogram',
    help: 'Time from the start of generation to the last token (timings.generation_ms).',
    labels: ['model'],
    buckets: DURATION_BUCKETS,
    exportedBy: ['worker'],
  },
  promptTokens: {
    name: 'llmo_prompt_tokens_total',
    type: 'counter',
    help: 'Prompt tokens evaluated.',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  generationTokens: {
    name: 'llmo_generation_tokens_total',
    type: 'counter',
    help: 'Tokens generated (the sum of usage.completion_tokens).',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  embeddingInputs: {
    name: 'llmo_embedding_inputs_total',
    type: 'counter',
    help: 'Texts embedded: the inputs of completed embedding jobs (their tokens count in llmo_prompt_tokens_total).',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  embeddingDuration: {
    name: 'llmo_embedding_duration_seconds',
    type: 'histogram',
    help: 'Time a completed embedding job spent computing the vectors of all its inputs (timings.generation_ms).',
    labels: ['model'],
    buckets: TTFT_BUCKETS,
    exportedBy: ['worker'],
  },
  embeddingContextsCreated: {
    name: 'llmo_embedding_contexts_created_total',
    type: 'counter',
    help: "Embedding contexts created in this worker's pool threads: each thread creates one with its first embedding job.",
    labels: ['model'],
    exportedBy: ['worker'],
  },
  sequencesBusy: {
    name: 'llmo_sequences_busy',
    type: 'gauge',
    help: 'Sequences generating right now.',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  sequencesCapacity: {
    name: 'llmo_sequences_capacity',
    type: 'gauge',
    help: 'Sequences this worker can run at once (POOL_THREADS x CONTEXTS_PER_THREAD x SEQUENCES_PER_THREAD).',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  modelLoad: {
    name: 'llmo_model_load_seconds',
    type: 'gauge',
    help: 'Time a pool thread took to load the model and create its context.',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  modelLoads: {
    name: 'llmo_model_loads_total',
    type: 'counter',
    help: 'Models this worker loaded: once each at start, and again at each switch when its models do not all fit WORKER_MEMORY_BUDGET.',
    labels: ['model'],
    exportedBy: ['worker'],
  },
  modelInfo: {
    name: 'llmo_model_info',
    type: 'gauge',
    help: 'Always 1; the labels describe the loaded model.',
    labels: ['model', 'architecture', 'file_type', 'context_size', 'train_context_size'],
    exportedBy: ['worker'],
  },
  cacheRequests: {
    name: 'llmo_cache_requests_total',
    type: 'counter',
    help: 'Cacheable submissions by result: hit (answered from the cache), coalesced (shared an in-flight job), miss (started a job).',
    labels: ['model', 'result'],
    exportedBy: ['api'],
  },
  tenantTokens: {
    name: 'llmo_tenant_tokens_total',
    type: 'counter',
    help: "Tokens of each tenant's finished jobs (completed or cancelled) by kind (prompt, completion), as recorded in its usage.",
    labels: ['tenant', 'kind'],
    exportedBy: ['worker', 'api'],
  },
  tenantJobs: {
    name: 'llmo_tenant_jobs_total',
    type: 'counter',
    help: "Each tenant's jobs that ended, by outcome (completed, failed, cancelled), as recorded in its usage.",
    labels: ['tenant', 'outcome'],
    exportedBy: ['worker', 'api'],
  },
  redisMemoryUsed: {
    name: 'llmo_redis_memory_used_bytes',
    type: 'gauge',
    help: 'Memory Redis uses (INFO memory used_memory), read by the API at scrape time at most every 5 s.',
    labels: [],
    exportedBy: ['api'],
  },
  redisMemoryMax: {
    name: 'llmo_redis_memory_max_bytes',
    type: 'gauge',
    help: 'Redis maxmemory (INFO memory); 0 means no limit: with noeviction Redis then grows until the host runs out of memory.',
    labels: [],
    exportedBy: ['api'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;
export type LabelsOf<K extends MetricKey> = (typeof METRICS)[K]['labels'][number];

/** Every name in the catalog. */
export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);

/** Names a scrape may show for a catalog metric: histograms expose `_bucket`, `_sum` and `_count`. */
export function exposedSeriesNames(definition: MetricDefinition): string[] {
  return definition.type === 'histogram'
    ? [`${definition.name}_bucket`, `${definition.name}_sum`, `${definition.name}_count`]
    : [definition.name];
}
