import { loadConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { resolveModelSource } from '../core/model/resolve.ts';

export interface BenchModel {
  /** The file both sides load: what a worker serves for this MODEL with the default settings. */
  served: string;
  /** The model id the system reports, e.g. `stories260K:Q8_0`. */
  id: string;
  quantization: string;
  sizeBytes: number;
  /** The float original, when `served` is the Q8_0 copy the system made of it (USE_INT8). */
  quantizedFrom?: string;
  /** Environment that makes the system resolve the same file (and find the copy already made). */
  env: Record<string, string>;
}

/**
 * Both sides must run the same weights. The system serves a Q8_0 copy of float models by default
 * (USE_INT8), so the bench resolves the model exactly as a worker does, once, before anything
 * starts: the workers then find the copy made and the baselines load the same file.
 */
export async function resolveBenchModel(model: string, modelsDir: string): Promise<BenchModel> {
  const env = { MODEL: model, MODELS_DIR: modelsDir };
  const source = await resolveModelSource(loadConfig(env), createLogger('bench', 'warn'));
  return {
    served: source.path,
    id: source.id,
    quantization: source.facts.quantization,
    sizeBytes: source.facts.sizeBytes,
    ...(source.quantizedFrom ? { quantizedFrom: source.quantizedFrom } : {}),
    env,
  };
}
