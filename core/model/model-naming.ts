import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ModelError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import { readGguf } from './gguf-reader.ts';
import { downloadFileName, isRemoteModel, remoteModelName } from './model-uri.ts';
import { needsQ8_0, quantizationName } from './quantization.ts';
import { findSynthPreset, SYNTH_PRESET_NAMES, type SynthPresetName } from './synth-presets.ts';

/**
 * What a model is called and which file a configuration points at, decided without downloading,
 * quantizing or writing anything: what every process agrees on, including those (the API) that
 * never load a model.
 */

/** The real tiny Llama kept beside the project on offline machines. */
export const SHARED_TINY_MODEL = path.resolve(projectRoot, '..', 'shared', 'models', 'stories260K.gguf');
/** The random-weight model the project writes itself. */
export const BUILTIN_TINY = 'builtin:tiny';

/** Name of the builtin random-weight model's file and id. */
export const TINY_MODEL_NAME = 'builtin-tiny';

/** `synth:<preset>`: random weights in a real model's shape, written by the project (synth-model.ts). */
export const SYNTH_PREFIX = 'synth:';

export function isSynthModel(setting: string): boolean {
  return setting.toLowerCase().startsWith(SYNTH_PREFIX);
}

/** The preset a `synth:` setting names; a `ModelError` naming the presets when there is none such. */
export function synthPresetOf(setting: string): SynthPresetName {
  const preset = findSynthPreset(setting.slice(SYNTH_PREFIX.length));
  if (preset === undefined) {
    const known = SYNTH_PRESET_NAMES.map((name) => `${SYNTH_PREFIX}${name}`).join(', ');
    throw new ModelError('model_unknown_synth', `${setting}: unknown synth preset; the presets are ${known}.`);
  }
  return preset;
}

/** Name of a synth model's file (in MODELS_DIR) and id: `synth-qwen2.5-0.5b`. */
export function synthModelName(preset: SynthPresetName): string {
  return `synth-${preset}`;
}

/** The model setting every process of a deployment agrees on: MODEL, else DEFAULT_MODEL_URI. */
export function modelSetting(config: Config): string {
  return config.MODEL ?? config.DEFAULT_MODEL_URI;
}

const QUANT_SUFFIX = /[-._](?:i?q\d[a-z0-9_]*|f16|f32|bf16)$/i;

/** A model's name without directories, extension or quantization tag: `qwen2.5-0.5b-instruct-q8_0.gguf` → `qwen2.5-0.5b-instruct`. */
export function modelName(setting: string): string {
  if (setting === BUILTIN_TINY) return TINY_MODEL_NAME;
  if (isSynthModel(setting)) return synthModelName(synthPresetOf(setting));
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
    if (isSynthModel(setting)) return path.join(dir, `${synthModelName(synthPresetOf(setting))}.gguf`);
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
    const written = setting === BUILTIN_TINY || isSynthModel(setting);
    const float = written || tag === 'F32' || tag === 'F16' || tag === 'BF16';
    quantization = config.USE_INT8 && float ? 'Q8_0' : written ? 'F32' : (tag ?? 'unknown');
  }
  return modelIdFor(modelName(setting), quantization);
}
