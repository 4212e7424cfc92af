import { describe, expect, it } from 'vitest';
import { decodeVector, encodeVector } from '../../../core/contract/embedding-vectors.ts';

describe('an embedding vector encoded for travel', () => {
  it('decodes to the same float32 values, bit for bit', () => {
    const vector = Array.from(new Float32Array([0, -0, 1, -1.5, 0.1, 3.4028234663852886e38, 1.401298464324817e-45, -123.456]));
    const decoded = decodeVector(encodeVector(vector));
    expect(decoded).toEqual(vector);
    expect(Object.is(decoded[1], -0)).toBe(true);
  });

  it('is OpenAI base64: float32 little-endian', () => {
    // 1.0f is 0x3f800000: bytes 00 00 80 3f in little-endian order.
    expect(encodeVector([1])).toBe(Buffer.from([0x00, 0x00, 0x80, 0x3f]).toString('base64'));
    // What OpenAI's clients do with it: the bytes as a Float32Array (on a little-endian machine, as this one).
    const fromOpenAiClient = Array.from(new Float32Array(new Uint8Array(Buffer.from(encodeVector([0.25, -2]), 'base64')).buffer));
    expect(fromOpenAiClient).toEqual([0.25, -2]);
  });

  it('rounds numbers that are not float32 to the nearest float32, as the model would have', () => {
    expect(decodeVector(encodeVector([0.1]))).toEqual([Math.fround(0.1)]);
  });

  it('encodes an empty vector as an empty string, and refuses bytes that are not whole floats', () => {
    expect(encodeVector([])).toBe('');
    expect(decodeVector('')).toEqual([]);
    expect(() => decodeVector(Buffer.from([1, 2, 3]).toString('base64'))).toThrow(/not float32/);
  });
});
