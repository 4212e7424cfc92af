import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { GenerationResult, JobInput, Sampling } from './job-contract.ts';
import type { RedisKeys } from './keys.ts';

/** Only deterministic requests are cached: greedy sampling, or a fixed seed. */
export function isDeterministic(sampling: Pick<Sampling, 'temperature' | 'seed'>): boolean {
  return sampling.temperature === 0 || sampling.seed !== undefined;
}

/** Whether a job's result may be cached and shared: embeddings always are (a model computes one vector per text), generations when deterministic. */
export function isCacheable(input: JobInput, sampling: Pick<Sampling, 'temperature' | 'seed'>): boolean {
  return input.embed !== undefined || isDeterministic(sampling);
}

/**
 * Cache key: sha256 over the model (its id, context size and content: `ServedModelView.cacheIdentity`),
 * the input and every sampling parameter (none for embeddings), in a fixed order,
 * so two requests share an entry only when they would produce the same text.
 * Prompts are used exactly as sent (no whitespace folding): whitespace changes tokens.
 * Penalties, logit bias, the response format, logprobs and tools join the key only when a request sets
 * them, so that requests without them keep the keys they had before these options existed.
 */
export function cacheHash(
  model: string,
  input: JobInput,
  sampling: Sampling,
  /** The tenant when results are shared within a tenant only (`CACHE_SCOPE=tenant`). */
  owner?: string,
): string {
  // Vectors depend on the texts alone. The leading tag keeps them apart from a generation of the
  // same text; `dimensions` is in the key because a job that asked for another size fails, and a
  // request must never join (or be answered by) a job that checked another size than its own.
  if (input.embed) {
    const canonical = JSON.stringify(['embed-v1', owner ?? null, model, input.embed.inputs, input.embed.dimensions ?? null]);
    return createHash('sha256').update(canonical).digest('hex');
  }
  const canonical = JSON.stringify([
    'v2',
    owner ?? null,
    model,
    input.prompt ?? null,
    // A message's calls and the call a tool message answers join its entry only when present.
    input.messages?.map((m) => [m.role, m.content, ...(m.tool_calls ? [m.tool_calls] : []), ...(m.tool_call_id === undefined ? [] : [m.tool_call_id])]) ?? null,
    sampling.max_tokens,
    sampling.temperature,
    sampling.temperature === 0 ? null : sampling.top_p,
    sampling.temperature === 0 ? null : sampling.top_k,
    sampling.temperature === 0 ? null : (sampling.seed ?? null),
    sampling.stop,
    ...constraints(sampling),
    // A result with logprobs is another answer than one without (and one with 5 alternatives than one with 2).
    ...(sampling.logprobs === undefined ? [] : [{ logprobs: sampling.logprobs }]),
    ...(sampling.tools === undefined ? [] : [{ tools: sampling.tools }]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The output constraints a request sets, as one trailing element of the key; none when it sets none. */
function constraints(sampling: Sampling): [Record<string, unknown>] | [] {
  const { presence_penalty, frequency_penalty, logit_bias, response_format } = sampling;
  if (presence_penalty === undefined && frequency_penalty === undefined && logit_bias === undefined && response_format === undefined) return [];
  return [
    {
      presence_penalty: presence_penalty ?? 0,
      frequency_penalty: frequency_penalty ?? 0,
      // Entries in ascending token order, whatever order the request listed them in.
      logit_bias: Object.entries(logit_bias ?? {}).sort(([a], [b]) => Number(a) - Number(b)),
      response_format: response_format ?? null,
    },
  ];
}

interface StoredEntry {
  result: GenerationResult;
  owner?: string;
}

export interface CacheEntry {
  result: GenerationResult;
  /** The tenant whose requests made it, when the cache is per tenant. */
  owner?: string;
}

export class ResultCache {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  /** The cached result and the tenant it belongs to (none when shared by all). */
  async get(hash: string): Promise<CacheEntry | undefined> {
    if (!this.enabled) return undefined;
    const raw = await this.redis.get(this.keys.cache(hash));
    if (raw === null) return undefined;
    const entry = JSON.parse(raw) as Partial<StoredEntry>;
    // An entry in another shape (written by an older version) is a miss.
    if (typeof entry.result !== 'object' || entry.result === null) return undefined;
    return { result: { ...entry.result, cached: true }, ...(typeof entry.owner === 'string' ? { owner: entry.owner } : {}) };
  }

  async set(hash: string, result: GenerationResult, owner?: string): Promise<void> {
    if (!this.enabled || result.finish_reason === 'cancelled') return;
    const entry: StoredEntry = { result, ...(owner === undefined ? {} : { owner }) };
    await this.redis.set(this.keys.cache(hash), JSON.stringify(entry), 'EX', this.ttlSeconds);
  }
}
