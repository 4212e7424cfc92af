import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../core/paths.ts';

/** The project's quantizer (core/model/), loaded by path: the bench also runs on builds without it. */
interface Quantizer {
  needsQ8_0(file: unknown): boolean;
  quantizeToQ8_0(source: string, target: string): { quantized: number; targetBytes: number; ms: number };
}
interface GgufReader {
  readGguf(file: string): unknown;
}

export interface BenchModels {
  /** The file as given (BENCH_MODEL). */
  source: string;
  /** Its Q8_0 copy made by the project's quantizer, when the source is a float model and the quantizer exists. */
  q8?: { path: string; quantizedTensors: number; bytes: number; ms: number };
  /** Why there is no Q8_0 copy. */
  missing?: string;
}

/**
 * Both sides must run the same weights. The system uses a Q8_0 copy of float models by default
 * (USE_INT8), so the bench makes that copy once with the project's quantizer and hands the same
 * file to the system and to the baselines.
 */
export async function prepareModels(source: string, workDir: string): Promise<BenchModels> {
  const quantizerFile = path.join(projectRoot, 'core', 'model', 'quantize.ts');
  const readerFile = path.join(projectRoot, 'core', 'model', 'gguf-reader.ts');
  if (!existsSync(quantizerFile) || !existsSync(readerFile)) return { source, missing: 'this build has no Q8_0 quantizer (core/model/quantize.ts)' };
  try {
    const quantizer = (await import(pathToFileURL(quantizerFile).href)) as Quantizer;
    const reader = (await import(pathToFileURL(readerFile).href)) as GgufReader;
    if (!quantizer.needsQ8_0(reader.readGguf(source))) return { source, missing: `${path.basename(source)} is not a float (F32/F16) model` };
    const target = path.join(workDir, path.basename(source).replace(/\.gguf$/i, '.q8_0.gguf'));
    const report = quantizer.quantizeToQ8_0(source, target);
    return { source, q8: { path: target, quantizedTensors: report.quantized, bytes: report.targetBytes, ms: report.ms } };
  } catch (error) {
    return { source, missing: `the quantizer failed: ${(error as Error).message}` };
  }
}
