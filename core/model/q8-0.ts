import { floatToHalf, halfToFloat } from './fp16.ts';

/** Values per Q8_0 block. */
export const Q8_0_BLOCK = 32;
/** Bytes per Q8_0 block: an fp16 scale, then 32 int8 values (ggml's `block_q8_0`). */
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/** C's `roundf`: halves round away from zero (JS `Math.round` rounds them up). */
function roundAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/**
 * Quantizes float values to Q8_0, in the same float32 arithmetic as ggml's reference quantizer:
 * per block of 32, `d = max|x| / 127`, then `q = round(x * (1/d))`. `values.length` must be a
 * multiple of 32. Every intermediate goes through `Math.fround`, so the bytes are llama.cpp's.
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${values.length}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  for (let b = 0; b < blocks; b++) {
    const start = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = Math.abs(values[start + j] ?? 0);
      if (v > amax) amax = v;
    }
    const d = Math.fround(amax / 127);
    const inverse = d !== 0 ? Math.fround(1 / d) : 0;
    const half = floatToHalf(d);
    const at = b * Q8_0_BLOCK_BYTES;
    out[at] = half & 0xff;
    out[at + 1] = half >>> 8;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const q = roundAwayFromZero(Math.fround((values[start + j] ?? 0) * inverse));
      out[at + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/** Q8_0 bytes → float values (`d * q`). */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  if (bytes.length % Q8_0_BLOCK_BYTES !== 0) throw new Error(`Q8_0 data must be whole ${Q8_0_BLOCK_BYTES}-byte blocks`);
  const blocks = bytes.length / Q8_0_BLOCK_BYTES;
  const out = new Float32Array(blocks * Q8_0_BLOCK);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q8_0_BLOCK_BYTES;
    const d = halfToFloat((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8));
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const raw = bytes[at + 2 + j] ?? 0;
      out[b * Q8_0_BLOCK + j] = d * (raw > 127 ? raw - 256 : raw);
    }
  }
  return out;
}
