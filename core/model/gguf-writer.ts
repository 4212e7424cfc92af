import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { isGgufArray, type GgufEntry, type GgufValue } from './gguf-file.ts';
import { DEFAULT_ALIGNMENT, GGML_TYPES, GGUF_MAGIC, GgufValueType } from './gguf-types.ts';

/** A tensor to write: its data comes from `data()` when its turn comes, so files stream tensor by tensor. */
export interface GgufTensorSpec {
  name: string;
  dims: number[];
  type: number;
  data(): Uint8Array;
}

export interface GgufSpec {
  version?: number;
  metadata: GgufEntry[];
  tensors: GgufTensorSpec[];
}

/** Collects little-endian bytes of the header. */
class HeaderBuilder {
  private readonly parts: Buffer[] = [];
  length = 0;

  private push(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }

  u32(value: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value >>> 0);
    this.push(b);
  }

  u64(value: number | bigint): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }

  string(value: string | Uint8Array): void {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.u64(bytes.length);
    this.push(bytes);
  }

  value(type: number, value: GgufValue): void {
    if (type === GgufValueType.ARRAY) {
      if (!isGgufArray(value)) throw new Error('an ARRAY entry needs an array value');
      this.u32(value.itemType);
      this.u64(value.items.length);
      for (const item of value.items) this.value(value.itemType, item);
      return;
    }
    if (isGgufArray(value)) throw new Error(`a value of type ${type} cannot be an array`);
    const b = Buffer.allocUnsafe(8);
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(Number(value)); return this.push(b.subarray(0, 1));
      case GgufValueType.INT8: b.writeInt8(Number(value)); return this.push(b.subarray(0, 1));
      case GgufValueType.UINT16: b.writeUInt16LE(Number(value)); return this.push(b.subarray(0, 2));
      case GgufValueType.INT16: b.writeInt16LE(Number(value)); return this.push(b.subarray(0, 2));
      case GgufValueType.UINT32: b.writeUInt32LE(Number(value)); return this.push(b.subarray(0, 4));
      case GgufValueType.INT32: b.writeInt32LE(Number(value)); return this.push(b.subarray(0, 4));
      case GgufValueType.FLOAT32: b.writeFloatLE(Number(value)); return this.push(b.subarray(0, 4));
      case GgufValueType.BOOL: b.writeUInt8(value ? 1 : 0); return this.push(b.subarray(0, 1));
      case GgufValueType.STRING:
        if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw new Error('a STRING entry needs a string');
        return this.string(value);
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(value as number | bigint)); return this.push(b);
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(value as number | bigint)); return this.push(b);
      case GgufValueType.FLOAT64: b.writeDoubleLE(Number(value)); return this.push(b);
      default: throw new Error(`unknown metadata value type ${type}`);
    }
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

const alignUp = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

export function alignmentOf(metadata: GgufEntry[]): number {
  const entry = metadata.find((e) => e.key === 'general.alignment');
  return entry === undefined ? DEFAULT_ALIGNMENT : Number(entry.value);
}

/** Tensor byte sizes and their offsets in the data section, each aligned, in the given order. */
export function layoutTensors(tensors: Array<Pick<GgufTensorSpec, 'name' | 'dims' | 'type'>>, alignment: number) {
  let offset = 0;
  return tensors.map((tensor) => {
    const info = GGML_TYPES.get(tensor.type);
    if (!info) throw new Error(`tensor ${tensor.name}: unknown type ${tensor.type}`);
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    if ((tensor.dims[0] ?? 0) % info.blockSize !== 0) throw new Error(`tensor ${tensor.name}: rows are not whole ${info.name} blocks`);
    const size = (elements / info.blockSize) * info.typeSize;
    const at = offset;
    offset = alignUp(offset + size, alignment);
    return { offset: at, size };
  });
}

/** The header bytes (magic to the last tensor info), without the padding that follows. */
export function serializeHeader(spec: GgufSpec): Buffer {
  const alignment = alignmentOf(spec.metadata);
  const layout = layoutTensors(spec.tensors, alignment);
  const header = new HeaderBuilder();
  header.u32(Buffer.from(GGUF_MAGIC, 'latin1').readUInt32LE(0));
  header.u32(spec.version ?? 3);
  header.u64(spec.tensors.length);
  header.u64(spec.metadata.length);
  for (const entry of spec.metadata) {
    header.string(entry.key);
    header.u32(entry.type);
    header.value(entry.type, entry.value);
  }
  spec.tensors.forEach((tensor, i) => {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(dim);
    header.u32(tensor.type);
    header.u64(layout[i]?.offset ?? 0);
  });
  return header.bytes();
}

/**
 * Writes a GGUF file as llama.cpp does: header, zero padding to the alignment, then each tensor's
 * data followed by padding to the alignment. The file appears under its name only once complete
 * (written to a temporary name in the same directory, synced, then renamed), so a reader never
 * sees half a model. Returns the file size.
 */
export function writeGguf(file: string, spec: GgufSpec): number {
  const alignment = alignmentOf(spec.metadata);
  const layout = layoutTensors(spec.tensors, alignment);
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'w');
  let position = 0;
  const write = (bytes: Uint8Array) => {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    position += bytes.length;
  };
  const pad = () => {
    const to = alignUp(position, alignment);
    if (to > position) write(new Uint8Array(to - position));
  };
  try {
    write(serializeHeader(spec));
    pad();
    spec.tensors.forEach((tensor, i) => {
      const data = tensor.data();
      const expected = layout[i]?.size ?? 0;
      if (data.length !== expected) throw new Error(`tensor ${tensor.name}: ${data.length} bytes of data, expected ${expected}`);
      write(data);
      pad();
    });
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, file);
    return position;
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    throw error;
  }
}
