import { z } from 'zod';
import { parseSentinels } from './redis-target.ts';

/** One `API_KEYS` entry: an optional `<tenant>=`, then a key of 16+ printable characters or `sha256:<64 hex>`. */
function isKeyEntry(entry: string): boolean {
  const key = /^[a-z0-9][a-z0-9_.-]{0,62}=(.+)$/.exec(entry)?.[1] ?? entry;
  return /^sha256:[0-9a-fA-F]{64}$/.test(key) || /^[\x21-\x7e]{16,}$/.test(key);
}

/** Environment booleans: only explicit words count, so a typo is an error rather than `false`. */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Every setting of every process, read from the environment once in each `main.ts`.
 * Defaults are chosen so that `npm start` works on one machine with no configuration.
 * docs/configuration.md lists the same variables for operators.
 */
export const configSchema = z.object({
  /** Log level of pino. Default `info`. */
  LOG_LEVEL: logLevel.default('info'),

  /** Redis URL (`redis://` or `rediss://` with password). Default: unset, meaning 127.0.0.1:6379 or a private redis-server. */
  REDIS_URL: z.string().url().optional(),
  /**
   * Redis Sentinel: `host:port` of each sentinel, comma-separated. Set, every connection asks them
   * for the primary of REDIS_SENTINEL_NAME and follows their failovers; REDIS_URL then gives only
   * password, database and TLS. Default: unset (REDIS_URL alone).
   */
  REDIS_SENTINELS: z
    .string()
    .transform((value, context) => {
      const sentinels = parseSentinels(value);
      if (!sentinels) context.addIssue({ code: 'custom', message: 'must be host:port[,host:port...]' });
      return sentinels ?? [];
    })
    .optional(),
  /** Master group name the sentinels watch (`sentinel monitor <name> …`). Required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  /**
   * Replicas that must confirm a new job (Redis `WAIT`) before the API acknowledges it; not
   * confirmed within REDIS_REPLICA_ACK_TIMEOUT_MS, the submission is withdrawn and answered 503
   * `redis_replication_timeout`. Default `0`: acknowledged once the primary has it (docs/reliability.md).
   */
  REDIS_MIN_REPLICAS_ACK: int(0, 16).default(0),
  /** Longest wait for those replicas (ms). Default `500`. */
  REDIS_REPLICA_ACK_TIMEOUT_MS: int(1, 60_000).default(500),
  /** Prefix of every Redis key this system writes (BullMQ queues, cache, streams). Default `llmo`. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('llmo'),
  /** BullMQ queue that carries generation jobs. Default `generate`. */
  QUEUE_NAME: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('generate'),

  /** Interface the API (and `all`) binds to. Default `127.0.0.1`; containers set `0.0.0.0`. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** HTTP port of the API (and of `npm start`). Default `8080`. */
  PORT: int(0, 65535).default(8080),
  /** Port of the metrics/health server of a worker process. Default `9464`; `0` picks a free port. */
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  /** Port of the standalone dashboard process. Default `8081`. */
  DASHBOARD_PORT: int(0, 65535).default(8081),
  /** User name for Bull Board (HTTP basic auth). Default `admin`. */
  DASHBOARD_USER: z.string().min(1).regex(/^[^:]+$/, 'must not contain ":"').default('admin'),
  /** Password for Bull Board. Default: unset, meaning a random one generated at start and printed once. */
  DASHBOARD_PASSWORD: z.string().min(1).optional(),
  /** Bull Board shows queues and jobs but cannot retry, remove or pause anything. Default `false`. */
  DASHBOARD_READ_ONLY: bool.default(false),

  /**
   * Model: a `.gguf` path, a remote URI (`hf:<user>/<repo>/<file>.gguf`, `https://…/x.gguf`; downloaded
   * once into MODELS_DIR), `builtin:tiny` or `synth:<preset>` (random weights; real shapes for the latter).
   * Default: unset, meaning DEFAULT_MODEL_URI,
   * falling back to `../shared/models/stories260K.gguf`, then `builtin:tiny`, when it cannot be fetched.
   */
  MODEL: z.string().min(1).optional(),
  /**
   * A YAML file listing several served models (docs/models.md): ids, sources, aliases, context and
   * thread settings. Each model gets its own queue, `<QUEUE_NAME>-<id>`. Default: unset, meaning
   * MODEL is the one model, in QUEUE_NAME.
   */
  MODELS_FILE: z.string().min(1).optional(),
  /** Ids of the models a worker serves, comma-separated. Default: every model of the catalogue. */
  WORKER_MODELS: z
    .string()
    .transform((value) => value.split(',').map((id) => id.trim()).filter(Boolean))
    .refine((ids) => ids.length > 0, 'must name at least one model id')
    .optional(),
  /**
   * Memory (bytes) a worker may hold in loaded models: weights of every pool thread plus KV caches.
   * Models that do not all fit are loaded on demand, one set at a time (docs/models.md). A model
   * larger than the budget is still loaded, alone. Default: 75% of the machine's memory.
   */
  WORKER_MEMORY_BUDGET: int(1).optional(),
  /**
   * A worker that cannot hold all its models switches to an unloaded one when that model's oldest
   * waiting job has waited this long (ms), and keeps a model it switched to at least this long
   * while it has work, so that alternating requests do not load and unload at every job. Default `2000`.
   */
  MODEL_SWITCH_AFTER_MS: int(0).default(2000),
  /** The model used when MODEL is unset. Default: Qwen2.5 0.5B Instruct, Q8_0 (see docs/models.md). */
  DEFAULT_MODEL_URI: z.string().min(1).default('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf'),
  /** Directory where downloaded and converted models are kept. Default `./models`. */
  MODELS_DIR: z.string().min(1).default('models'),
  /** Use an INT8 (Q8_0) copy of F32/F16 models. Default `true`. */
  USE_INT8: bool.default(true),
  /** How long a model server may stay silent (first answer, then between data) before a download fails. Default `30000`. */
  MODEL_DOWNLOAD_TIMEOUT_MS: int(1000).default(30_000),
  /** Context size of each sequence in tokens (prompt + generation). Default `2048`, capped at the model's training context. */
  CONTEXT_SIZE: int(64, 1 << 20).default(2048),
  /**
   * Piscina threads per worker process; each loads its own copy of the model and has its own
   * context. Default: chosen at start from the model and the machine (core/model/inference-plan.ts):
   * one per core (at most 4) for a small model, 1 for a large one.
   */
  POOL_THREADS: int(1, 64).optional(),
  /**
   * llama.cpp contexts per pool thread, sharing its copy of the weights and decoding in parallel.
   * Default: 1 for a small model; one per core (4 to 8) for a large one.
   */
  CONTEXTS_PER_THREAD: int(1, 64).optional(),
  /** Sequences per context, batched together. Default `1`. */
  SEQUENCES_PER_THREAD: int(1, 64).optional(),
  /** llama.cpp threads per context. Default: CPU cores / (pool threads × contexts), at least 1. */
  LLAMA_THREADS: int(1, 256).optional(),
  /**
   * Jobs each pool thread takes beyond its sequences, waiting in the thread to start the moment a
   * sequence frees, so that no sequence idles while the next job comes from Redis. Default `1`;
   * `0` takes a job only when a sequence is free (fairest between many workers).
   */
  PREFETCH_PER_THREAD: int(0, 64).default(1),

  /** Largest `max_tokens` a request may ask for. Default `2048`. */
  MAX_TOKENS_LIMIT: int(1).default(2048),
  /** `max_tokens` when a request does not say. Default `128`. */
  DEFAULT_MAX_TOKENS: int(1).default(128),
  /** Longest prompt in characters. Default `32000`. */
  MAX_PROMPT_CHARS: int(1).default(32_000),
  /** Largest JSON body accepted, in bytes. Default `262144` (256 KiB). */
  BODY_LIMIT_BYTES: int(1024).default(256 * 1024),
  /** Wait of `POST /api/v1/generate` when the body gives no `timeout_ms`. Default `30000`. */
  DEFAULT_WAIT_MS: int(0).default(30_000),
  /** Largest `timeout_ms` a client may ask of `POST /api/v1/generate`. Default `120000`. */
  MAX_WAIT_MS: int(0).default(120_000),
  /**
   * An OpenAI-compatible request whose client disconnects before its answer cancels its job, unless
   * other connected requests share that job. Default `true`. See docs/streaming.md.
   */
  CANCEL_ON_DISCONNECT: bool.default(true),

  /** Seconds a cached result lives. Default `3600`; `0` turns the cache off. */
  CACHE_TTL_SECONDS: int(0).default(3600),

  /** Attempts per job before it fails (transient errors only). Default `3`. */
  JOB_ATTEMPTS: int(1, 100).default(3),
  /** First retry delay in ms, doubled each attempt. Default `1000`. */
  JOB_BACKOFF_MS: int(0).default(1000),
  /** Completed jobs are kept this many seconds... Default `86400` (1 day). */
  KEEP_COMPLETED_SECONDS: int(0).default(86_400),
  /** ...and at most this many. Default `10000`. */
  KEEP_COMPLETED_COUNT: int(0).default(10_000),
  /** Failed jobs are kept this many seconds... Default `604800` (7 days). */
  KEEP_FAILED_SECONDS: int(0).default(604_800),
  /** ...and at most this many. Default `10000`. */
  KEEP_FAILED_COUNT: int(0).default(10_000),
  /**
   * How long an active job's lock lives without renewal before BullMQ calls it stalled (ms); renewals
   * and stalled checks follow from it (core/job-locks.ts). A dead worker's jobs run again within
   * about this plus a fifth. Default `5000`.
   */
  JOB_LOCK_MS: int(1000).default(5000),
  /** Times a job may stall (its worker died) before it fails. Default `2`. */
  MAX_STALLED_COUNT: int(0).default(2),
  /**
   * Lifetime (s) of the keys that follow a job while it runs: its token stream and the stream's
   * owner (after their last write), its cancel flag and its count of connected OpenAI clients.
   * Readers that come later get the job's stored result instead of a replay. Default `3600`.
   */
  STREAM_TTL_SECONDS: int(1).default(3600),
  /** Entries of BullMQ's event stream of the queue (approximate cap). Default `10000` (BullMQ's own). */
  QUEUE_EVENTS_MAX_LEN: int(100).default(10_000),

  /** On SIGTERM, time active jobs get to finish before they are stopped (ms). Default `30000`. */
  SHUTDOWN_GRACE_MS: int(0).default(30_000),
  /** A worker counts as alive for `/api/ready` if it reported within this many ms. Default `15000`. */
  WORKER_HEARTBEAT_TTL_MS: int(1000).default(15_000),

  /**
   * API keys, comma-separated: each `<tenant>=<key>`, `<tenant>=sha256:<64 hex>` (the SHA-256 of a
   * key, so the secret need not be stored), or a key or digest alone, which is then a tenant of its
   * own. Keys are at least 16 printable characters without spaces or commas. Default: unset, meaning
   * anyone who can reach the API may use it, as the tenant `anonymous` (the API warns at start).
   */
  API_KEYS: z
    .string()
    .refine((value) => {
      const keys = value.split(',').map((key) => key.trim()).filter(Boolean);
      return keys.length > 0 && keys.every(isKeyEntry);
    }, 'each entry must be <tenant>=<key>, <tenant>=sha256:<64 hex digits>, or the key or digest alone; a key has at least 16 printable characters without spaces')
    .optional(),
  /**
   * A YAML or JSON file of tenants: names, key digests, roles (`user`, `admin`) and limits that
   * override the defaults (docs/security.md). Read at start and again whenever it changes (or on
   * SIGHUP), in every API process. Default: unset.
   */
  API_KEYS_FILE: z.string().min(1).optional(),
  /** Jobs each tenant may have queued or active at once; beyond, 429 `too_many_jobs`. Default `1000`; `0` turns it off. */
  TENANT_MAX_JOBS: int(0).default(1000),
  /**
   * Prompt and completion tokens each tenant may use per UTC day; beyond, 429 `budget_exceeded`
   * until midnight UTC. Default `0`: no budget.
   */
  TENANT_TOKENS_PER_DAY: int(0).default(0),
  /**
   * Days each tenant's daily usage record (`GET /api/v1/usage`) is kept after its day ends. Default
   * `400`: a year back, with a month to spare.
   */
  USAGE_RETENTION_DAYS: int(1, 3660).default(400),
  /**
   * Whose requests share cached results and in-flight jobs: `tenant` (only a tenant's own) or
   * `global` (every tenant's, so one tenant can tell from `cached: true` what another asked).
   * Default `tenant`.
   */
  CACHE_SCOPE: z.enum(['tenant', 'global']).default('tenant'),
  /** `/metrics` of the API requires an API key too. Default `false` (scrapes come from the internal network). */
  METRICS_REQUIRE_KEY: bool.default(false),
  /** Requests each API key (or client IP, when anonymous) may make per window. Default `6000`; `0` turns the limit off. */
  RATE_LIMIT_REQUESTS: int(0).default(6000),
  /** Length of the rate limit window in seconds. Default `60`. */
  RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  /**
   * Event streams (`GET /api/v1/jobs/:id/events`, OpenAI `stream: true`) each API key (or client
   * address, when anonymous) may hold open at a time in one API process; beyond, 429
   * `too_many_streams`. Default `100`; `0` turns the cap off.
   */
  MAX_STREAMS_PER_CLIENT: int(0).default(100),
  /** Jobs waiting in the queue above which submissions get 503 with Retry-After. Default `10000`; `0` turns it off. */
  MAX_QUEUE_DEPTH: int(0).default(10_000),
  /**
   * Fair scheduling between tenants: jobs ready for the workers to take (beyond those they run or
   * hold prefetched) are at most this many; further jobs wait held in their tenant's backlog and
   * are admitted round robin, the tenant served least first. So a tenant that floods the queue is
   * at most this many jobs ahead of a tenant that comes later. Default `16`: no fewer than the
   * jobs a few workers take at once, so the ready set does not run dry between a completion and
   * the admission it starts. `0` turns fair scheduling off (first come, first served by priority).
   * See docs/architecture.md, "Fair scheduling".
   */
  FAIR_READY_DEPTH: int(0, 100_000).default(16),
  /**
   * Nothing waits forever: a held job that has waited this long (s) is promoted by BullMQ itself
   * (it is a delayed job), whether or not its turn has come. Default `600`.
   */
  MAX_WAIT_BEFORE_BOOST_SECONDS: int(1).default(600),
  /**
   * Directory of uploaded files and batch results (`/v1/files`, docs/batches.md). Every API replica
   * must see the same directory: a shared volume in compose, EFS on AWS. Default `data/files`.
   */
  FILES_DIR: z.string().min(1).default('data/files'),
  /** Largest file upload in bytes; above it, 413 `file_too_large`. Default `209715200` (200 MiB). */
  FILE_MAX_BYTES: int(1).default(200 * 1024 * 1024),
  /** Most request lines in one batch input file; a longer file fails validation. Default `50000`. */
  BATCH_MAX_LINES: int(1, 10_000_000).default(50_000),
  /**
   * Lines of one batch in the queue (waiting or running) at once: a batch is admitted gradually, in
   * a priority class below every interactive request. Default `64`.
   */
  BATCH_LINES_IN_FLIGHT: int(1, 100_000).default(64),
  /** Batches one API process coordinates at once; more wait their turn (or another replica's). Default `8`. */
  BATCH_COORDINATORS: int(1, 1000).default(8),
  /** Longest `completion_window` a batch may ask for, in seconds (OpenAI's `24h` and shorter `<n>s|m|h`). Default `604800` (7 days). */
  BATCH_MAX_WINDOW_SECONDS: int(1).default(604_800),
  /** Seconds a finished batch's record is kept (its files stay until deleted). Default `2592000` (30 days). */
  BATCH_RETENTION_SECONDS: int(1).default(2_592_000),
  /** The API reads the model's vocabulary (not its weights) to refuse prompts longer than the context with 400. Default `true`. */
  CHECK_PROMPT_TOKENS: bool.default(true),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/**
 * Lifetime (s) of the record of a waiting job that a cancel removed from the queue (its tombstone):
 * as long as a completed job is kept, and never shorter than the job's stream would have lived, so
 * that a retention of `0` still leaves the cancel readable just after it.
 */
export function tombstoneTtlSeconds(config: Pick<Config, 'KEEP_COMPLETED_SECONDS' | 'STREAM_TTL_SECONDS'>): number {
  return Math.max(config.KEEP_COMPLETED_SECONDS, config.STREAM_TTL_SECONDS);
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; empty strings count as unset so `FOO=` in an .env file means "default". */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const config = parsed.data;
  const problems: string[] = [];
  if (config.DEFAULT_MAX_TOKENS > config.MAX_TOKENS_LIMIT) {
    problems.push('DEFAULT_MAX_TOKENS: must not exceed MAX_TOKENS_LIMIT');
  }
  if (config.DEFAULT_WAIT_MS > config.MAX_WAIT_MS) problems.push('DEFAULT_WAIT_MS: must not exceed MAX_WAIT_MS');
  if (config.REDIS_SENTINELS && !config.REDIS_SENTINEL_NAME) {
    problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master group name the sentinels monitor)');
  }
  if (config.REDIS_SENTINEL_NAME && !config.REDIS_SENTINELS) problems.push('REDIS_SENTINELS: required with REDIS_SENTINEL_NAME');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** For `main.ts`: a bad configuration ends the process with a message naming the variable, never a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee docs/configuration.md.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
