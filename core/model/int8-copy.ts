import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { withFileLock } from './file-lock.ts';
import { metadataNumber, metadataString, type GgufFile } from './gguf-file.ts';
import { readGguf } from './gguf-reader.ts';
import { describeModel, type ModelFacts } from './model-facts.ts';
import { needsQ8_0, quantizationName } from './quantization.ts';
import { QUANTIZED_FROM_KEY, quantizeToQ8_0, sourceIdentity } from './quantize.ts';

/** The Q8_0 copy of a float model's file: `<dir>/<name>.q8_0.gguf`. */
export function q8_0CopyPath(source: string, dir: string): string {
  return path.join(dir, `${path.basename(source).replace(/\.gguf$/i, '')}.q8_0.gguf`);
}

/**
 * For USE_INT8: the Q8_0 copy of a float (F32/F16/BF16) model, made once in `dir` and reused by
 * later starts as long as its recorded source (path, size, mtime) still matches. Undefined when the
 * model is already quantized (it is served as is). Processes starting together make it once.
 */
export async function ensureQ8_0(file: GgufFile, dir: string, logger: Logger): Promise<{ path: string; facts: ModelFacts } | undefined> {
  if (!needsQ8_0(file)) return undefined;
  if ((metadataNumber(file, 'split.count') ?? 1) > 1) {
    logger.warn({ model: file.path }, 'split GGUF files are not quantized by this project: served as they are');
    return undefined;
  }
  const target = q8_0CopyPath(file.path, dir);
  const provenance = sourceIdentity(file.path);
  const earlier = (): GgufFile | undefined => {
    try {
      const copy = readGguf(target);
      return metadataString(copy, QUANTIZED_FROM_KEY) === provenance && quantizationName(copy) === 'Q8_0' ? copy : undefined;
    } catch {
      return undefined; // missing, or damaged: made again
    }
  };

  let copy = earlier();
  if (copy) {
    logger.info({ model: file.path, q8_0: target }, 'using the Q8_0 copy made earlier');
  } else {
    try {
      mkdirSync(dir, { recursive: true });
      copy = await withFileLock(`${target}.lock`, async (lock) => earlier() ?? quantize(file, target, provenance, logger, lock.touch));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC') {
        throw new ModelError('models_dir_unusable', `cannot write the Q8_0 copy ${target} (${code}); set MODELS_DIR to a writable directory, or USE_INT8=false.`);
      }
      throw error;
    }
  }
  return { path: target, facts: describeModel(copy) };
}

/** `onTensor` keeps the lock alive: a large model takes minutes, during which this thread does nothing else. */
function quantize(file: GgufFile, target: string, provenance: string, logger: Logger, onTensor: () => void): GgufFile {
  logger.info({ model: file.path, q8_0: target }, 'quantizing the model to Q8_0 (once; later starts reuse the copy)');
  const report = quantizeToQ8_0(file, target, { provenance, onTensor });
  logger.info(
    { q8_0: target, ms: Math.round(report.ms), tensorsQuantized: report.quantized, tensorsKept: report.kept, sourceBytes: report.sourceBytes, bytes: report.targetBytes },
    'model quantized to Q8_0',
  );
  return readGguf(target);
}
