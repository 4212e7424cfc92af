import { statSync } from 'node:fs';
import { effectiveDims, metadataNumber, type GgufEntry, type GgufFile, type GgufTensor } from './gguf-file.ts';
import { TensorReader } from './gguf-data.ts';
import { readGguf } from './gguf-reader.ts';
import {
  FILE_TYPE_MOSTLY_Q8_0,
  FILE_TYPE_NAMES,
  FLOAT_FILE_TYPES,
  FLOAT_TYPES,
  GgmlType,
  ggmlTypeName,
  GgufValueType,
  QUANTIZATION_VERSION,
} from './gguf-types.ts';
import { writeGguf } from './gguf-writer.ts';
import { Q8_0_BLOCK, quantizeQ8_0 } from './q8-0.ts';

/**
 * Weights llama.cpp's quantizer leaves alone even when 2-D: small or precision-critical tensors
 * (MoE routers, positional and token-type embeddings, convolution and RWKV mixing weights,
 * relative position biases).
 */
const KEEP_AS_IS = [
  '_norm.weight',
  'ffn_gate_inp.weight',
  'pos_embd.weight',
  'token_types.weight',
  'ssm_conv1d.weight',
  'shortconv.conv.weight',
  'time_mix_',
  'attn_rel_b.weight',
  'altup',
  'laurel',
];

/** Metadata key recording which file (path, size, mtime) a quantized copy was made from. */
export const QUANTIZED_FROM_KEY = 'llm_orchestrator.quantized_from';

/**
 * Whether a tensor becomes Q8_0: a float weight matrix (2-D or more) whose rows are whole 32-value
 * blocks, as llama.cpp decides for `Q8_0`, token embeddings and output included.
 */
export function isQ8_0Candidate(tensor: Pick<GgufTensor, 'name' | 'dims' | 'type'>): boolean {
  return (
    FLOAT_TYPES.has(tensor.type) &&
    tensor.name.endsWith('weight') &&
    effectiveDims(tensor.dims) >= 2 &&
    (tensor.dims[0] ?? 0) % Q8_0_BLOCK === 0 &&
    !KEEP_AS_IS.some((part) => tensor.name.includes(part))
  );
}

/** A float model (F32/F16/BF16, by its file type or by its tensors) with at least one weight to quantize. */
export function needsQ8_0(file: GgufFile): boolean {
  const fileType = metadataNumber(file, 'general.file_type');
  if (fileType !== undefined && !FLOAT_FILE_TYPES.has(fileType)) return false;
  if (file.tensors.some((t) => !FLOAT_TYPES.has(t.type))) return false;
  return file.tensors.some(isQ8_0Candidate);
}

/** The quantization people would call this file: its `general.file_type`, else the type of its weight matrices. */
export function quantizationName(file: GgufFile): string {
  const fileType = metadataNumber(file, 'general.file_type');
  if (fileType !== undefined) return FILE_TYPE_NAMES.get(fileType) ?? `file type ${fileType}`;
  const matrixTypes = new Set(file.tensors.filter((t) => effectiveDims(t.dims) >= 2).map((t) => t.type));
  if (matrixTypes.size === 1) return ggmlTypeName([...matrixTypes][0] ?? GgmlType.F32);
  return matrixTypes.size === 0 ? 'unknown' : 'mixed';
}

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
export function quantizeToQ8_0(source: string | GgufFile, target: string, options: { provenance?: string } = {}): QuantizeReport {
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
          data: () => (quantize ? quantizeQ8_0(reader.floats(tensor)) : reader.bytes(tensor)),
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
