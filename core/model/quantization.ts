import { effectiveDims, metadataNumber, type GgufFile, type GgufTensor } from './gguf-file.ts';
import { FILE_TYPE_NAMES, FLOAT_FILE_TYPES, FLOAT_TYPES, GgmlType, ggmlTypeName } from './gguf-types.ts';
import { Q8_0_BLOCK } from './q8-0.ts';

/**
 * What a GGUF file's quantization is and whether the INT8 path would quantize it, judged from its
 * header alone: what processes that only name models need, without the quantizer itself.
 */

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
