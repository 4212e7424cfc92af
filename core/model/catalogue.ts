import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from '../config.ts';

/** Model ids and aliases: what clients send as `model` and what queue names are made of (BullMQ forbids `:` in them). */
const MODEL_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const entrySchema = z
  .object({
    id: z.string().regex(MODEL_ID, 'letters, digits, `_`, `.` and `-`, at most 64'),
    /** As MODEL: a path, `hf:` URI, https URL, `builtin:tiny` or `synth:<preset>`. */
    source: z.string().min(1),
    aliases: z.array(z.string().regex(MODEL_ID, 'letters, digits, `_`, `.` and `-`, at most 64')).default([]),
    kind: z.enum(['generate', 'embedding']).default('generate'),
    context_size: int(64, 1 << 20).optional(),
    pool_threads: int(1, 64).optional(),
    contexts_per_thread: int(1, 64).optional(),
    sequences_per_thread: int(1, 64).optional(),
    llama_threads: int(1, 256).optional(),
    prefetch_per_thread: int(0, 64).optional(),
  })
  .strict();

const fileSchema = z.object({ models: z.array(entrySchema).min(1) }).strict();

export type ModelEntry = z.infer<typeof entrySchema>;

/** One served model: its entry, and the BullMQ queue that carries its jobs. */
export interface CatalogueModel extends ModelEntry {
  queue: string;
}

/**
 * The models a deployment serves (docs/models.md): those of MODELS_FILE, or MODEL alone. Every
 * process reads the same one, so that the API routes a request to the queue of its model and a
 * worker takes jobs from the queues of the models it serves.
 */
export interface Catalogue {
  readonly models: readonly CatalogueModel[];
  /** Jobs that name no model go to this one: the first of the file, or MODEL's. */
  readonly default: CatalogueModel;
  /**
   * True without MODELS_FILE: one model, in QUEUE_NAME, shown under the id its worker reports
   * (`<name>:<quantization>`), exactly as before several models existed.
   */
  readonly single: boolean;
  /** The model an id or alias names, if any. */
  find(name: string): CatalogueModel | undefined;
  byQueue(queue: string): CatalogueModel | undefined;
}

/** The id of MODEL's one-entry catalogue (its queue and metrics label); clients see the id its worker reports. */
export const SINGLE_MODEL_ID = 'default';

function catalogueOf(models: CatalogueModel[], single: boolean): Catalogue {
  const byName = new Map<string, CatalogueModel>();
  for (const model of models) for (const name of [model.id, ...model.aliases]) byName.set(name, model);
  return Object.freeze({
    models: Object.freeze(models),
    default: models[0]!,
    single,
    find: (name: string) => byName.get(name),
    byQueue: (queue: string) => models.find((model) => model.queue === queue),
  });
}

/** `<QUEUE_NAME>-<id>`: each model's own queue when MODELS_FILE lists them. */
export function modelQueueName(queueName: string, id: string): string {
  return `${queueName}-${id}`;
}

/** Checks a parsed models file: ids and aliases unique across the file. Returns the problems. */
function duplicates(entries: readonly ModelEntry[]): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const entry of entries) {
    for (const name of [entry.id, ...entry.aliases]) {
      const owner = seen.get(name);
      if (owner !== undefined) problems.push(`'${name}' names both ${owner} and ${entry.id}`);
      else seen.set(name, entry.id);
    }
  }
  return problems;
}

/** Parses the text of a models file; a `ConfigError` names each problem. */
export function parseModelsFile(text: string, where: string): ModelEntry[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`MODELS_FILE: ${where} is not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `MODELS_FILE: ${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const problems = duplicates(parsed.data.models);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `MODELS_FILE: ${where}: ${problem}`));
  return parsed.data.models;
}

/** The catalogue of this deployment: MODELS_FILE's models, or MODEL as the only one. */
export function loadCatalogue(config: Pick<Config, 'MODELS_FILE' | 'QUEUE_NAME' | 'MODEL' | 'DEFAULT_MODEL_URI' | 'WORKER_MODELS'>): Catalogue {
  if (config.MODELS_FILE === undefined) {
    const source = config.MODEL ?? config.DEFAULT_MODEL_URI;
    const catalogue = catalogueOf([{ id: SINGLE_MODEL_ID, source, aliases: [], kind: 'generate', queue: config.QUEUE_NAME }], true);
    checkWorkerModels(config, catalogue);
    return catalogue;
  }
  let text: string;
  try {
    text = readFileSync(config.MODELS_FILE, 'utf8');
  } catch (error) {
    throw new ConfigError([`MODELS_FILE: cannot read ${config.MODELS_FILE}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  const entries = parseModelsFile(text, config.MODELS_FILE);
  const catalogue = catalogueOf(entries.map((entry) => ({ ...entry, queue: modelQueueName(config.QUEUE_NAME, entry.id) })), false);
  checkWorkerModels(config, catalogue);
  return catalogue;
}

function checkWorkerModels(config: Pick<Config, 'WORKER_MODELS'>, catalogue: Catalogue): void {
  const unknown = (config.WORKER_MODELS ?? []).filter((id) => !catalogue.models.some((model) => model.id === id));
  if (unknown.length === 0) return;
  const known = catalogue.single ? 'without MODELS_FILE there is one model, `default`' : `the models file lists ${catalogue.models.map((m) => m.id).join(', ')}`;
  throw new ConfigError([`WORKER_MODELS: ${unknown.join(', ')} not in the catalogue (${known})`]);
}

/** The models a worker serves: WORKER_MODELS, else every one. */
export function workerModels(config: Pick<Config, 'WORKER_MODELS'>, catalogue: Catalogue): CatalogueModel[] {
  const wanted = config.WORKER_MODELS;
  return wanted ? catalogue.models.filter((model) => wanted.includes(model.id)) : [...catalogue.models];
}

/**
 * The configuration of one model: the process's, with the model's source and its own context and
 * thread settings, so the single-model code (resolution, planning, loading) serves each model as it
 * served MODEL.
 */
export function modelConfig(config: Config, model: CatalogueModel): Config {
  if (model.id === SINGLE_MODEL_ID && model.queue === config.QUEUE_NAME && config.MODELS_FILE === undefined) return config;
  const set = <T>(value: T | undefined, fallback: T | undefined) => value ?? fallback;
  return Object.freeze({
    ...config,
    MODEL: model.source,
    CONTEXT_SIZE: model.context_size ?? config.CONTEXT_SIZE,
    POOL_THREADS: set(model.pool_threads, config.POOL_THREADS),
    CONTEXTS_PER_THREAD: set(model.contexts_per_thread, config.CONTEXTS_PER_THREAD),
    SEQUENCES_PER_THREAD: set(model.sequences_per_thread, config.SEQUENCES_PER_THREAD),
    LLAMA_THREADS: set(model.llama_threads, config.LLAMA_THREADS),
    PREFETCH_PER_THREAD: model.prefetch_per_thread ?? config.PREFETCH_PER_THREAD,
  });
}

/**
 * Where a model's fair schedule keeps its keys (core/fair/): under REDIS_PREFIX for MODEL alone,
 * as before several models existed; under `<REDIS_PREFIX>:model:<id>` for each model of a models
 * file, so that each model's queue has a schedule of its own.
 */
export function laneKeyPrefix(config: Pick<Config, 'REDIS_PREFIX'>, catalogue: Pick<Catalogue, 'single'>, model: Pick<CatalogueModel, 'id'>): string {
  return catalogue.single ? config.REDIS_PREFIX : `${config.REDIS_PREFIX}:model:${model.id}`;
}
