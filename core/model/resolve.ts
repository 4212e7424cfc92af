import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ModelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { redactUrl } from '../redact-url.ts';
import { downloadModel } from './download.ts';
import { withFileLock } from './file-lock.ts';
import { readGguf } from './gguf-reader.ts';
import { ensureQ8_0 } from './int8-copy.ts';
import { describeModel, type ModelFacts } from './model-facts.ts';
import { modelFingerprint } from './model-fingerprint.ts';
import {
  BUILTIN_TINY,
  isSynthModel,
  modelIdFor,
  modelName,
  modelSetting,
  SHARED_TINY_MODEL,
  synthModelName,
  synthPresetOf,
  TINY_MODEL_NAME,
} from './model-naming.ts';
import { isRemoteModel } from './model-uri.ts';
import { synthModelSize, writeSynthModel } from './synth-model.ts';
import { writeTinyModel } from './tiny-model.ts';

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
  /** Identity of the served file's content (`modelFingerprint`), computed once here. */
  fingerprint: string;
}

/**
 * Finds the model to serve and makes it ready to load, in the main thread before any pool thread
 * starts: downloads a remote model once, writes builtin:tiny or synth:<preset>, checks the GGUF
 * header, and with USE_INT8 makes (once) and picks the Q8_0 copy of a float model. With MODEL
 * unset, a default that cannot be fetched falls back to the shared stories260K, else to
 * builtin:tiny, with one warning. Every user-facing failure is a `ModelError` with a message meant for the user.
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
    logger.warn({ model: redactUrl(setting) }, `${redactUrl(setting)} has random weights: everything it generates is noise. Set MODEL to a real model.`);
  }
  const source: ModelSource = { path: served, id: modelIdFor(modelName(setting), facts.quantization), setting, facts, fingerprint: modelFingerprint(served) };
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
  if (isSynthModel(setting)) return await obtainSynth(setting, dir, logger);
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

/**
 * `synth:<preset>` written once into MODELS_DIR as `synth-<preset>.gguf`. Processes starting
 * together write it once (lock file); the others wait for it. The write is synchronous (gigabytes,
 * tens of seconds) so the lock's own timer cannot run meanwhile: the lock is touched after each
 * tensor instead, or a waiting process would take it for a dead one's.
 */
async function obtainSynth(setting: string, dir: string, logger: Logger): Promise<string> {
  const preset = synthPresetOf(setting);
  const file = path.join(dir, `${synthModelName(preset)}.gguf`);
  if (existsSync(file)) return file;
  ensureDir(dir);
  try {
    await withFileLock(
      `${file}.lock`,
      async (lock) => {
        if (existsSync(file)) return;
        logger.info({ file, preset }, 'writing the synth random-weight model (once; later starts reuse it)');
        const started = performance.now();
        const bytes = writeSynthModel(file, preset, undefined, { onTensor: lock.touch });
        logger.info({ file, bytes, ms: Math.round(performance.now() - started) }, 'wrote the synth random-weight model');
      },
      { onWait: () => logger.info({ file }, 'another process is writing the synth model: waiting for it') },
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC') {
      const gb = (synthModelSize(preset).f32Bytes / 1e9).toFixed(2);
      throw new ModelError('models_dir_unusable', `cannot write ${file} (${code}); it needs ${gb} GB: set MODELS_DIR to a writable directory with room for it.`);
    }
    throw error;
  }
  return file;
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new ModelError('models_dir_unusable', `MODELS_DIR=${dir} cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
}
