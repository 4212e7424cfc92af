import { closeSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import { bfloat16ToFloat, halfToFloat } from './fp16.ts';
import type { GgufFile, GgufTensor } from './gguf-file.ts';
import { dequantizeQ8_0 } from './q8-0.ts';
import { GgmlType, ggmlTypeName } from './gguf-types.ts';

if (os.endianness() !== 'LE') throw new Error('GGUF tensor data is little-endian; this host is big-endian');

/** Reads tensors' raw bytes from a GGUF file; one open file for many reads. */
export class TensorReader {
  private readonly fd: number;

  constructor(private readonly file: GgufFile) {
    this.fd = openSync(file.path, 'r');
  }

  /** The tensor's bytes, in a buffer of its own (offset 0), so typed-array views are aligned. */
  bytes(tensor: GgufTensor): Uint8Array {
    const buffer = Buffer.allocUnsafeSlow(tensor.size);
    const start = this.file.dataOffset + tensor.offset;
    let got = 0;
    while (got < tensor.size) {
      const read = readSync(this.fd, buffer, got, tensor.size - got, start + got);
      if (read === 0) throw new Error(`${this.file.path}: tensor ${tensor.name} is cut short`);
      got += read;
    }
    return buffer;
  }

  /** The tensor's values as float32 (from F32, F16, BF16 or Q8_0). */
  floats(tensor: GgufTensor): Float32Array {
    return toFloat32(tensor.type, this.bytes(tensor), tensor.name);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function toFloat32(type: number, bytes: Uint8Array, name = 'tensor'): Float32Array {
  switch (type) {
    case GgmlType.F32:
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    case GgmlType.F16:
    case GgmlType.BF16: {
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const out = new Float32Array(halves.length);
      const convert = type === GgmlType.F16 ? halfToFloat : bfloat16ToFloat;
      for (let i = 0; i < halves.length; i++) out[i] = convert(halves[i] ?? 0);
      return out;
    }
    case GgmlType.Q8_0:
      return dequantizeQ8_0(bytes);
    default:
      throw new Error(`${name}: cannot convert ${ggmlTypeName(type)} values to float`);
  }
}
