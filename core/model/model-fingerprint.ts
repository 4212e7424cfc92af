import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { readGguf } from './gguf-reader.ts';

/** Bytes of tensor data read from the start and from the end of the weights. */
const SAMPLE_BYTES = 1 << 20;

/**
 * A short identity of a model file's content: its size, its whole GGUF header (architecture,
 * vocabulary, tensor shapes and types) and a megabyte of weights from each end. Two files of the
 * same name and quantization that differ (another fine-tune, an upgrade, the same shape with other
 * random weights) get different fingerprints; the same file always the same one. Reads a few
 * megabytes, not the whole file: cheap enough to compute once at every start.
 */
export function modelFingerprint(file: string): string {
  const gguf = readGguf(file);
  const hash = createHash('sha256').update(String(gguf.fileSize));
  const fd = openSync(file, 'r');
  try {
    const read = (position: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, length));
      const n = readSync(fd, buffer, 0, buffer.length, position);
      hash.update(buffer.subarray(0, n));
    };
    read(0, gguf.dataOffset);
    const weights = gguf.fileSize - gguf.dataOffset;
    read(gguf.dataOffset, Math.min(SAMPLE_BYTES, weights));
    if (weights > SAMPLE_BYTES) read(Math.max(gguf.dataOffset + SAMPLE_BYTES, gguf.fileSize - SAMPLE_BYTES), SAMPLE_BYTES);
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex').slice(0, 16);
}
