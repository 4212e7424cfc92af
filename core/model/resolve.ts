import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ModelError } from '../errors.ts';
import { projectRoot } from '../paths.ts';

/** The real tiny Llama kept beside the project on offline machines. */
export const SHARED_TINY_MODEL = path.resolve(projectRoot, '..', 'shared', 'models', 'stories260K.gguf');

export interface ModelSource {
  /** Absolute path of the GGUF file to load. */
  path: string;
  /** Name clients see in results and `/v1/models`. */
  id: string;
}

/** The model id as the API computes it without loading anything: the file name without `.gguf`. */
export function modelIdFor(modelSetting: string): string {
  return path.basename(modelSetting).replace(/\.gguf$/i, '');
}

/** The model every process of a deployment agrees on, from configuration alone. */
export function configuredModel(config: Config): string {
  return config.MODEL ?? SHARED_TINY_MODEL;
}

export function resolveModelSource(config: Config): ModelSource {
  const setting = configuredModel(config);
  const file = path.resolve(setting);
  if (!existsSync(file)) {
    throw new ModelError(
      'model_missing',
      config.MODEL
        ? `MODEL=${config.MODEL}: no such file (${file}).`
        : `MODEL is not set and the default model ${SHARED_TINY_MODEL} does not exist. Set MODEL to a .gguf file.`,
    );
  }
  return { path: file, id: modelIdFor(setting) };
}
