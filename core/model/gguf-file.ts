/** The in-memory picture of a GGUF file's header: what the reader returns and the writer takes. */

/**
 * A scalar metadata value. Integers of 64 bits are `bigint`; strings that are not valid UTF-8 stay
 * raw bytes so that they are written back exactly as they were read.
 */
export type GgufScalar = number | bigint | boolean | string | Uint8Array;

export interface GgufArray {
  itemType: number;
  items: Array<GgufScalar | GgufArray>;
}

export type GgufValue = GgufScalar | GgufArray;

/** One metadata entry, in file order, with its exact GGUF value type. */
export interface GgufEntry {
  key: string;
  type: number;
  value: GgufValue;
}

export interface GgufTensor {
  name: string;
  /** ggml order: `dims[0]` is the row length (contiguous values). */
  dims: number[];
  type: number;
  /** Offset from the start of the data section. */
  offset: number;
  /** Bytes of data. */
  size: number;
  /** Number of values. */
  elements: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: GgufEntry[];
  tensors: GgufTensor[];
  /** `general.alignment`, or 32. */
  alignment: number;
  /** Where tensor data starts (after the header and its padding). */
  dataOffset: number;
  fileSize: number;
}

export function isGgufArray(value: GgufValue): value is GgufArray {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array);
}

/** A metadata value by key, as plain JS (arrays become their items). */
export function metadataValue(file: Pick<GgufFile, 'metadata'>, key: string): GgufScalar | Array<GgufScalar | GgufArray> | undefined {
  const entry = file.metadata.find((e) => e.key === key);
  if (!entry) return undefined;
  return isGgufArray(entry.value) ? entry.value.items : entry.value;
}

export function metadataString(file: Pick<GgufFile, 'metadata'>, key: string): string | undefined {
  const value = metadataValue(file, key);
  return typeof value === 'string' ? value : undefined;
}

export function metadataNumber(file: Pick<GgufFile, 'metadata'>, key: string): number | undefined {
  const value = metadataValue(file, key);
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** ggml's `ggml_n_dims`: dimensions up to the last one larger than 1. */
export function effectiveDims(dims: number[]): number {
  let n = dims.length;
  while (n > 1 && dims[n - 1] === 1) n -= 1;
  return n;
}
