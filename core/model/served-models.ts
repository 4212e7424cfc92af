import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';

/**
 * What a worker serves, published in Redis (`<prefix>:models`, one field per worker) so that API
 * processes, which never load the model, can list it and key their result cache by it.
 */
export interface ServedModel {
  /** `<name>:<quantization>`, as results' `model` field shows it. */
  id: string;
  /** File name of the loaded GGUF. */
  file: string;
  architecture: string;
  parameters: number;
  /** `Q8_0` when INT8 is in use. */
  quantization: string;
  file_type: number | null;
  /** Context of each sequence, in tokens. */
  context_size: number;
  train_context_size: number | null;
  size_bytes: number;
  /** builtin:tiny: every output is noise. */
  random_weights: boolean;
  has_chat_template: boolean;
  /** Length of the model's embedding vectors (what `dimensions` must be); absent in records of older workers. */
  embedding_size?: number;
  load_ms: number;
  /** Epoch ms the worker finished loading it. */
  loaded_at: number;
  /** Identity of the file's content (`modelFingerprint`); absent in records of older workers. */
  fingerprint?: string;
}

interface PublishedEntry extends ServedModel {
  updated_at: number;
}

/** A model as listed: the facts plus the live workers that have it loaded. */
export interface ServedModelListing extends ServedModel {
  workers: number;
  /** Ids of those workers (`<host>:<pid>:<random>`). */
  loaded_by: string[];
}

/** The field of a worker's entry for one of its models: `<worker id>#<model id>`. */
const fieldOf = (workerId: string, modelId: string) => `${workerId}#${modelId}`;
const workerOf = (field: string) => field.split('#')[0] ?? field;

/** Writes (or refreshes) this worker's entries, one per loaded model; called with every heartbeat. */
export async function publishServedModels(redis: Redis, keys: RedisKeys, workerId: string, models: readonly ServedModel[]): Promise<void> {
  if (models.length === 0) return;
  const now = Date.now();
  const fields = models.flatMap((model) => [fieldOf(workerId, model.id), JSON.stringify({ ...model, updated_at: now } satisfies PublishedEntry)]);
  await redis.hset(keys.models, ...fields);
}

/** Removes this worker's entries of `modelIds` (models it unloaded, or all of them as it stops). */
export async function withdrawServedModels(redis: Redis, keys: RedisKeys, workerId: string, modelIds: readonly string[]): Promise<void> {
  if (modelIds.length === 0) return;
  await redis.hdel(keys.models, ...modelIds.map((id) => fieldOf(workerId, id)));
}

function parse(json: string): PublishedEntry | undefined {
  try {
    const entry = JSON.parse(json) as PublishedEntry;
    return typeof entry.id === 'string' && typeof entry.updated_at === 'number' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The models live workers serve (entries refreshed within `freshMs`), one listing per model id with
 * its worker count, most served first. Entries older than `pruneAfterMs` (workers that died without
 * withdrawing) are deleted on the way.
 */
export async function readServedModels(redis: Redis, keys: RedisKeys, freshMs: number, pruneAfterMs = 10 * freshMs): Promise<ServedModelListing[]> {
  const all = await redis.hgetall(keys.models);
  const now = Date.now();
  const byId = new Map<string, ServedModelListing>();
  const dead: string[] = [];
  for (const [field, json] of Object.entries(all)) {
    const entry = parse(json);
    if (!entry || now - entry.updated_at > pruneAfterMs) dead.push(field);
    if (!entry || now - entry.updated_at > freshMs) continue;
    const { updated_at: _updated, ...model } = entry;
    const known = byId.get(model.id);
    if (!known) byId.set(model.id, { ...model, workers: 1, loaded_by: [workerOf(field)] });
    else {
      known.workers += 1;
      known.loaded_by.push(workerOf(field));
      // The earliest load is when the model became available.
      known.loaded_at = Math.min(known.loaded_at, model.loaded_at);
    }
  }
  if (dead.length > 0) await redis.hdel(keys.models, ...dead).catch(() => undefined);
  return [...byId.values()].sort((a, b) => b.workers - a.workers || a.id.localeCompare(b.id));
}

/** What results of a reported model are cached under: its id, context size and content. */
export function servedCacheIdentity(model: Pick<ServedModel, 'id' | 'context_size' | 'fingerprint'>): string {
  return `${model.id}#${model.context_size}#${model.fingerprint ?? ''}`;
}

/**
 * The API's view of the served model, refreshed in the background: results' cache keys and the
 * OpenAI endpoints' `model` use it. Before any worker has reported, the id predicted from
 * configuration stands in.
 */
export class ServedModelView {
  private served: ServedModel | undefined;
  /** The last record seen of each model id: a model a worker unloaded keeps its identity. */
  private readonly known = new Map<string, ServedModel>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly freshMs: number,
    readonly expectedId: string,
    private readonly expectedContextSize: number,
  ) {}

  /** Reads once (a Redis error leaves the previous view), then every `refreshMs`. */
  async start(refreshMs = Math.min(2000, this.freshMs / 3)): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      const listed = await readServedModels(this.redis, this.keys, this.freshMs);
      this.served = listed[0];
      for (const model of listed) this.known.set(model.id, model);
    } catch {
      // Redis away: keep the last known id
    }
  }

  /** The id the busiest live worker reported, else the one configuration predicts. */
  id(): string {
    return this.served?.id ?? this.expectedId;
  }

  /**
   * Reads the workers' reports now if model `id` (or, without one, the served model) has none yet,
   * so that its identity is the reported one as soon as a worker has published it rather than at
   * the next background refresh: API processes that key the same request differently would miss
   * each other's cached answers and run it twice. Costs one read per call only while no worker has
   * reported the model (its requests wait in the queue meanwhile); calls at once share the read.
   */
  async ensureReported(id?: string): Promise<void> {
    if ((id === undefined ? this.served : this.known.get(id)) !== undefined) return;
    await (this.reading ??= this.refresh().finally(() => (this.reading = undefined)));
  }

  /**
   * What results are cached under: the id, the file's content and the context size, so that a new
   * file of the same name (a rolling upgrade) or another context never serves the old answers.
   * Before a worker has reported, the predicted id and configured context.
   */
  cacheIdentity(): string;
  /** The same for model `id` of several, predicted as `<id>#<contextSize>` until a worker has loaded it. */
  cacheIdentity(id: string, contextSize: number): string;
  cacheIdentity(id?: string, contextSize?: number): string {
    const served = id === undefined ? this.served : this.known.get(id);
    return served ? servedCacheIdentity(served) : `${id ?? this.expectedId}#${contextSize ?? this.expectedContextSize}`;
  }

  /** The served model's (or model `id`'s) embedding vector size, once a worker has reported it. */
  embeddingSize(id?: string): number | undefined {
    return (id === undefined ? this.served : this.known.get(id))?.embedding_size;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
