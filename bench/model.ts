import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import type { ModelFacts } from '../core/model/model-facts.ts';
import { resolveModelSource } from '../core/model/resolve.ts';

export interface BenchModel {
  /** What was given: a file or `synth:<preset>`. */
  setting: string;
  /** The file both sides load: what a worker serves for this MODEL with the default settings. */
  served: string;
  /** The model id the system reports, e.g. `stories260K:Q8_0`. */
  id: string;
  quantization: string;
  sizeBytes: number;
  /** The served file's header: size and shape choose the system's default settings. */
  facts: ModelFacts;
  /** The float original, when `served` is the Q8_0 copy the system made of it (USE_INT8). */
  quantizedFrom?: string;
  /** Environment that makes the system resolve the same file (and find the copy already made). */
  env: Record<string, string>;
}

const isSynth = (setting: string) => setting.toLowerCase().startsWith('synth:');

/**
 * Both sides must run the same weights. The system serves a Q8_0 copy of float models by default
 * (USE_INT8), so the bench resolves the model exactly as a worker does, once, before anything
 * starts: the workers then find the copy made and the baselines load the same file. A model file's
 * copy goes to `workDir` (it takes a moment); a `synth:` model is made once in `modelsDir` and kept,
 * as the system itself keeps it.
 */
export async function resolveBenchModel(setting: string, workDir: string, modelsDir: string): Promise<BenchModel> {
  const model = isSynth(setting) ? setting : path.resolve(setting);
  const env = { MODEL: model, MODELS_DIR: path.resolve(isSynth(setting) ? modelsDir : workDir) };
  const source = await resolveModelSource(loadConfig(env), createLogger('bench', 'warn'));
  return {
    setting,
    served: source.path,
    id: source.id,
    quantization: source.facts.quantization,
    sizeBytes: source.facts.sizeBytes,
    facts: source.facts,
    ...(source.quantizedFrom ? { quantizedFrom: source.quantizedFrom } : {}),
    env,
  };
}
