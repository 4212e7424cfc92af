/**
 * GGUF and GGML constants: metadata value types, tensor types with their block layout, and the
 * `general.file_type` names llama.cpp uses. Numbers are part of the file format and never change.
 */

/** Metadata value types of GGUF v2/v3. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Size in bytes of each fixed-size metadata value type. */
export const FIXED_VALUE_SIZE: Partial<Record<number, number>> = {
  0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8,
};

export interface GgmlTypeInfo {
  name: string;
  /** Values per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

/** GGML tensor types: id → name and block layout (ggml's type traits). */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, 'F32', 1, 4],
      [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18],
      [3, 'Q4_1', 32, 20],
      [6, 'Q5_0', 32, 22],
      [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34],
      [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84],
      [11, 'Q3_K', 256, 110],
      [12, 'Q4_K', 256, 144],
      [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210],
      [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66],
      [17, 'IQ2_XS', 256, 74],
      [18, 'IQ3_XXS', 256, 98],
      [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18],
      [21, 'IQ3_S', 256, 110],
      [22, 'IQ2_S', 256, 82],
      [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1],
      [25, 'I16', 1, 2],
      [26, 'I32', 1, 4],
      [27, 'I64', 1, 8],
      [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56],
      [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54],
      [35, 'TQ2_0', 256, 66],
      [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

export const GgmlType = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;

/** Tensor types that hold plain floating-point weights (what the quantizer accepts). */
export const FLOAT_TYPES: ReadonlySet<number> = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

/** `general.file_type` (llama.cpp's `llama_ftype`) → the name people use for it. */
export const FILE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'F32'], [1, 'F16'], [2, 'Q4_0'], [3, 'Q4_1'], [7, 'Q8_0'], [8, 'Q5_0'], [9, 'Q5_1'],
  [10, 'Q2_K'], [11, 'Q3_K_S'], [12, 'Q3_K_M'], [13, 'Q3_K_L'], [14, 'Q4_K_S'], [15, 'Q4_K_M'],
  [16, 'Q5_K_S'], [17, 'Q5_K_M'], [18, 'Q6_K'], [19, 'IQ2_XXS'], [20, 'IQ2_XS'], [21, 'Q2_K_S'],
  [22, 'IQ3_XS'], [23, 'IQ3_XXS'], [24, 'IQ1_S'], [25, 'IQ4_NL'], [26, 'IQ3_S'], [27, 'IQ3_M'],
  [28, 'IQ2_S'], [29, 'IQ2_M'], [30, 'IQ4_XS'], [31, 'IQ1_M'], [32, 'BF16'], [36, 'TQ1_0'],
  [37, 'TQ2_0'], [38, 'MXFP4_MOE'],
]);

/** File types whose weights are unquantized floats. */
export const FLOAT_FILE_TYPES: ReadonlySet<number> = new Set([0, 1, 32]);

export const FILE_TYPE_MOSTLY_Q8_0 = 7;
/** ggml's quantization format version, written as `general.quantization_version`. */
export const QUANTIZATION_VERSION = 2;
export const DEFAULT_ALIGNMENT = 32;
export const GGUF_MAGIC = 'GGUF';

/** Bytes of a tensor of `type` with `elements` values. */
export function tensorByteSize(type: number, elements: number): number {
  const info = GGML_TYPES.get(type);
  if (!info) throw new Error(`unknown tensor type ${type}`);
  return (elements / info.blockSize) * info.typeSize;
}

export function ggmlTypeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `type ${type}`;
}
