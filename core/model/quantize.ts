import { statSync } from 'node:fs';
import type { GgufEntry, GgufFile } from './gguf-file.ts';
import { TensorReader } from './gguf-data.ts';
import { readGguf } from './gguf-reader.ts';
import { FILE_TYPE_MOSTLY_Q8_0, GgmlType, GgufValueType, QUANTIZATION_VERSION } from './gguf-types.ts';
import { writeGguf } from './gguf-writer.ts';
import { quantizeQ8_0 } from './q8-0.ts';
import { isQ8_0Candidate } from './quantization.ts';

/** Metadata key recording which file (path, size, mtime) a quantized copy was made from. */
export const QUANTIZED_FROM_KEY = 'llm_orchestrator.quantized_from';

export interface QuantizeReport {
  source: string;
  target: string;
  quantized: number;
  kept: number;
  sourceBytes: number;
  targetBytes: number;
  ms: number;
}

/** Identity of a source file for the quantized copy's provenance: a changed source means a stale copy. */
export function sourceIdentity(file: string): string {
  const stat = statSync(file);
  return JSON.stringify({ path: file, size: stat.size, mtimeMs: Math.round(stat.mtimeMs) });
}

function withEntry(metadata: GgufEntry[], entry: GgufEntry): GgufEntry[] {
  const at = metadata.findIndex((e) => e.key === entry.key);
  if (at === -1) return [...metadata, entry];
  return metadata.map((e, i) => (i === at ? entry : e));
}

/**
 * Writes a Q8_0 copy of a float GGUF: candidate weights become Q8_0 blocks (bit-identical to
 * llama.cpp's quantizer), every other tensor and all metadata are copied, and
 * `general.quantization_version = 2`, `general.file_type = 7` (MOSTLY_Q8_0) are set. Streams one
 * tensor at a time and writes atomically (see `writeGguf`).
 */
export function quantizeToQ8_0(source: string | GgufFile, target: string, options: { provenance?: string; onTensor?: () => void } = {}): QuantizeReport {
  const started = performance.now();
  const file = typeof source === 'string' ? readGguf(source) : source;
  let metadata = withEntry(file.metadata, { key: 'general.quantization_version', type: GgufValueType.UINT32, value: QUANTIZATION_VERSION });
  metadata = withEntry(metadata, { key: 'general.file_type', type: GgufValueType.UINT32, value: FILE_TYPE_MOSTLY_Q8_0 });
  if (options.provenance !== undefined) metadata = withEntry(metadata, { key: QUANTIZED_FROM_KEY, type: GgufValueType.STRING, value: options.provenance });

  const reader = new TensorReader(file);
  let quantized = 0;
  try {
    const targetBytes = writeGguf(target, {
      version: file.version,
      metadata,
      tensors: file.tensors.map((tensor) => {
        const quantize = isQ8_0Candidate(tensor);
        if (quantize) quantized += 1;
        return {
          name: tensor.name,
          dims: tensor.dims,
          type: quantize ? GgmlType.Q8_0 : tensor.type,
          data: () => {
            options.onTensor?.();
            return quantize ? quantizeQ8_0(reader.floats(tensor)) : reader.bytes(tensor);
          },
        };
      }),
    });
    return {
      source: file.path,
      target,
      quantized,
      kept: file.tensors.length - quantized,
      sourceBytes: file.fileSize,
      targetBytes,
      ms: performance.now() - started,
    };
  } finally {
    reader.close();
  }
}
