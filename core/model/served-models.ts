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

/** A model as listed: the facts plus how many live workers serve it. */
export interface ServedModelListing extends ServedModel {
  workers: number;
}

/** Writes (or refreshes) this worker's entry; called with every heartbeat. */
export async function publishServedModel(redis: Redis, keys: RedisKeys, workerId: string, model: ServedModel): Promise<void> {
  const entry: PublishedEntry = { ...model, updated_at: Date.now() };
  await redis.hset(keys.models, workerId, JSON.stringify(entry));
}

export async function withdrawServedModel(redis: Redis, keys: RedisKeys, workerId: string): Promise<void> {
  await redis.hdel(keys.models, workerId);
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
  for (const [worker, json] of Object.entries(all)) {
    const entry = parse(json);
    if (!entry || now - entry.updated_at > pruneAfterMs) dead.push(worker);
    if (!entry || now - entry.updated_at > freshMs) continue;
    const { updated_at: _updated, ...model } = entry;
    const known = byId.get(model.id);
    if (!known) byId.set(model.id, { ...model, workers: 1 });
    else {
      known.workers += 1;
      // The earliest load is when the model became available.
      known.loaded_at = Math.min(known.loaded_at, model.loaded_at);
    }
  }
  if (dead.length > 0) await redis.hdel(keys.models, ...dead).catch(() => undefined);
  return [...byId.values()].sort((a, b) => b.workers - a.workers || a.id.localeCompare(b.id));
}

/**
 * The API's view of the served model, refreshed in the background: results' cache keys and the
 * OpenAI endpoints' `model` use it. Before any worker has reported, the id predicted from
 * configuration stands in.
 */
export class ServedModelView {
  private served: ServedModel | undefined;
  private timer: NodeJS.Timeout | undefined;

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
      this.served = (await readServedModels(this.redis, this.keys, this.freshMs))[0];
    } catch {
      // Redis away: keep the last known id
    }
  }

  /** The id the busiest live worker reported, else the one configuration predicts. */
  id(): string {
    return this.served?.id ?? this.expectedId;
  }

  /**
   * What results are cached under: the id, the file's content and the context size, so that a new
   * file of the same name (a rolling upgrade) or another context never serves the old answers.
   * Before a worker has reported, the predicted id and configured context.
   */
  cacheIdentity(): string {
    const served = this.served;
    if (!served) return `${this.expectedId}#${this.expectedContextSize}`;
    return `${served.id}#${served.context_size}#${served.fingerprint ?? ''}`;
  }

  /** The served model's embedding vector size, once a worker has reported it. */
  embeddingSize(): number | undefined {
    return this.served?.embedding_size;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
