import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ModelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { projectRoot } from '../paths.ts';
import { downloadFileName, downloadModel, isRemoteModel, remoteModelName } from './download.ts';
import { readGguf } from './gguf-reader.ts';
import { describeModel, type ModelFacts } from './model-facts.ts';
import { needsQ8_0, quantizationName } from './quantize.ts';
import { ensureQ8_0 } from './int8-copy.ts';
import { TINY_MODEL_NAME, writeTinyModel } from './tiny-model.ts';

/** The real tiny Llama kept beside the project on offline machines. */
export const SHARED_TINY_MODEL = path.resolve(projectRoot, '..', 'shared', 'models', 'stories260K.gguf');
/** The random-weight model the project writes itself. */
export const BUILTIN_TINY = 'builtin:tiny';

export interface ModelSource {
  /** Absolute path of the GGUF file to load. */
  path: string;
  /** Name clients see in results and `/v1/models`: `<name>:<quantization>`, e.g. `stories260K:Q8_0`. */
  id: string;
  /** What was asked for: MODEL, the default URI, or the fallback used instead. */
  setting: string;
  /** The file as read from its header (quantization, parameters, …). */
  facts: ModelFacts;
  /** The original file, when `path` is the Q8_0 copy made of it. */
  quantizedFrom?: string;
}

/** The model setting every process of a deployment agrees on: MODEL, else DEFAULT_MODEL_URI. */
export function modelSetting(config: Config): string {
  return config.MODEL ?? config.DEFAULT_MODEL_URI;
}

const QUANT_SUFFIX = /[-._](?:i?q\d[a-z0-9_]*|f16|f32|bf16)$/i;

/** A model's name without directories, extension or quantization tag: `qwen2.5-0.5b-instruct-q8_0.gguf` → `qwen2.5-0.5b-instruct`. */
export function modelName(setting: string): string {
  if (setting === BUILTIN_TINY) return TINY_MODEL_NAME;
  const file = isRemoteModel(setting) ? remoteModelName(setting) : path.basename(setting);
  const stem = file.replace(/\.gguf$/i, '');
  return stem.replace(QUANT_SUFFIX, '') || stem;
}

export function modelIdFor(name: string, quantization: string): string {
  return `${name}:${quantization}`;
}

/** Where a worker would start from, judged without network or writing anything. */
function predictSource(config: Config): { setting: string; file: string | undefined } {
  const dir = path.resolve(config.MODELS_DIR);
  const local = (setting: string): string | undefined => {
    if (setting === BUILTIN_TINY) return path.join(dir, `${TINY_MODEL_NAME}.gguf`);
    if (!isRemoteModel(setting)) return path.resolve(setting);
    const file = path.join(dir, downloadFileName(setting));
    return existsSync(file) ? file : undefined;
  };
  if (config.MODEL !== undefined) return { setting: config.MODEL, file: local(config.MODEL) };
  const downloaded = local(config.DEFAULT_MODEL_URI);
  if (downloaded) return { setting: config.DEFAULT_MODEL_URI, file: downloaded };
  const fallback = existsSync(SHARED_TINY_MODEL) ? SHARED_TINY_MODEL : BUILTIN_TINY;
  return { setting: fallback, file: local(fallback) };
}

/**
 * The local file a worker would start from, for processes that read the model but never load it
 * (the API reads its vocabulary); the setting itself when no local file is known yet.
 */
export function configuredModel(config: Config): string {
  const { setting, file } = predictSource(config);
  return file ?? setting;
}

/**
 * The id a worker will report, predicted from configuration (and the model file's header when this
 * process can read it): what the API uses until a worker has published the id it actually serves.
 */
export function expectedModelId(config: Config): string {
  const { setting, file } = predictSource(config);
  let quantization: string | undefined;
  try {
    if (file !== undefined && existsSync(file)) {
      const gguf = readGguf(file);
      quantization = config.USE_INT8 && needsQ8_0(gguf) ? 'Q8_0' : quantizationName(gguf);
    }
  } catch {
    // unreadable here: predicted from the name below
  }
  if (quantization === undefined) {
    const tag = /[-._](i?q\d[a-z0-9_]*|f16|f32|bf16)(?:\.gguf)?$/i.exec(setting)?.[1]?.toUpperCase();
    const float = setting === BUILTIN_TINY || tag === 'F32' || tag === 'F16' || tag === 'BF16';
    quantization = config.USE_INT8 && float ? 'Q8_0' : setting === BUILTIN_TINY ? 'F32' : (tag ?? 'unknown');
  }
  return modelIdFor(modelName(setting), quantization);
}

/**
 * Finds the model to serve and makes it ready to load, in the main thread before any pool thread
 * starts: downloads a remote model once, writes builtin:tiny, checks the GGUF header, and with
 * USE_INT8 makes (once) and picks the Q8_0 copy of a float model. With MODEL unset, a default
 * that cannot be fetched falls back to the shared stories260K, else to builtin:tiny, with one
 * warning. Every user-facing failure is a `ModelError` with a message meant for the user.
 */
export async function resolveModelSource(
  config: Config,
  logger: Logger,
  options: { sharedModel?: string } = {},
): Promise<ModelSource> {
  const sharedModel = options.sharedModel ?? SHARED_TINY_MODEL;
  const dir = path.resolve(config.MODELS_DIR);
  let setting = modelSetting(config);
  let original: string;
  let warnedRandom = false;
  try {
    original = await obtain(setting, config, logger);
  } catch (error) {
    if (config.MODEL !== undefined || !(error instanceof ModelError)) throw error;
    const fallback = existsSync(sharedModel) ? sharedModel : BUILTIN_TINY;
    const what =
      fallback === BUILTIN_TINY
        ? `${BUILTIN_TINY}, a random-weight model whose output is noise`
        : `${path.relative(process.cwd(), fallback) || fallback}, a tiny story-writing model`;
    logger.warn({ model: fallback, reason: error.code }, `MODEL is not set and the default model is unavailable: ${error.message} Using ${what}, instead; set MODEL to choose a model.`);
    warnedRandom = fallback === BUILTIN_TINY;
    setting = fallback;
    original = await obtain(setting, config, logger);
  }

  const file = readGguf(original);
  let facts = describeModel(file);
  let served = original;
  let quantizedFrom: string | undefined;
  if (config.USE_INT8) {
    const copy = await ensureQ8_0(file, dir, logger);
    if (copy) {
      served = copy.path;
      facts = copy.facts;
      quantizedFrom = original;
    }
  }
  if (facts.randomWeights && !warnedRandom) {
    logger.warn({ model: setting }, `${setting} has random weights: everything it generates is noise. Set MODEL to a real model.`);
  }
  const source: ModelSource = { path: served, id: modelIdFor(modelName(setting), facts.quantization), setting, facts };
  if (quantizedFrom !== undefined) source.quantizedFrom = quantizedFrom;
  return source;
}

/** The local GGUF file for a setting: downloaded, written (builtin) or as given. */
async function obtain(setting: string, config: Config, logger: Logger): Promise<string> {
  const dir = path.resolve(config.MODELS_DIR);
  if (setting === BUILTIN_TINY) {
    const file = path.join(dir, `${TINY_MODEL_NAME}.gguf`);
    if (!existsSync(file)) {
      ensureDir(dir);
      writeTinyModel(file);
      logger.info({ file }, 'wrote the builtin random-weight model');
    }
    return file;
  }
  if (setting.toLowerCase().startsWith('builtin:')) {
    throw new ModelError('model_unknown_builtin', `MODEL=${setting}: unknown builtin model; the only one is ${BUILTIN_TINY}.`);
  }
  if (isRemoteModel(setting)) {
    ensureDir(dir);
    return await downloadModel(setting, dir, {
      logger,
      timeoutMs: config.MODEL_DOWNLOAD_TIMEOUT_MS,
      progressBar: process.stdout.isTTY === true,
    });
  }
  const file = path.resolve(setting);
  if (!existsSync(file)) {
    throw new ModelError('model_missing', `MODEL=${setting}: no such file (${file}). Set MODEL to a .gguf file, a hf:/https: model URI, or ${BUILTIN_TINY}.`);
  }
  if (statSync(file).isDirectory()) throw new ModelError('model_not_gguf', `MODEL=${setting} is a directory; name a .gguf file in it.`);
  return file;
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new ModelError('models_dir_unusable', `MODELS_DIR=${dir} cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
}
