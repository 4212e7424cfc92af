import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat, floatToHalf, halfToFloat } from '../../core/model/fp16.ts';
import { dequantizeQ8_0, quantizeQ8_0 } from '../../core/model/q8-0.ts';

describe('floatToHalf', () => {
  it('converts exact values and the largest finite half', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(0)).toBe(0x0000);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
  });

  it('rounds to nearest with ties to even, as F16C and ggml do', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway, even stays
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd rounds up
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above halfway
    expect(floatToHalf(2 ** -25)).toBe(0x0000); // subnormal tie to even (0)
    expect(floatToHalf(3 * 2 ** -25)).toBe(0x0002); // subnormal tie to even (2)
    expect(floatToHalf(65520)).toBe(0x7c00); // halfway to the next binade: Inf
  });

  it('keeps infinities and NaN', () => {
    expect(floatToHalf(Infinity)).toBe(0x7c00);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('round-trips every finite half value', () => {
    const mismatches: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) !== 0x7c00 && floatToHalf(halfToFloat(h)) !== h) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('bfloat16ToFloat', () => {
  it('reads the top half of a float32', () => {
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(bfloat16ToFloat(0xc040)).toBe(-3);
  });
});

describe('quantizeQ8_0', () => {
  it('writes a fp16 scale max|x|/127 and values rounded half away from zero', () => {
    const values = new Float32Array(64);
    // Block 1: max|x| = 127, so d = 1 and q = round(x).
    values.set([127, -127, 2.5, -2.5, 1.5, -1.5, 0.49, -0.49], 0);
    // Block 2: max|x| = 254, so d = 2 and q = round(x / 2).
    values.set([254, 5, -5, 3, -1], 32);
    const bytes = quantizeQ8_0(values);
    expect(bytes).toHaveLength(2 * 34);
    expect(bytes[0]! | (bytes[1]! << 8)).toBe(0x3c00);
    expect([...new Int8Array(bytes.buffer, 2, 8)]).toEqual([127, -127, 3, -3, 2, -2, 0, 0]);
    expect(bytes[34]! | (bytes[35]! << 8)).toBe(0x4000);
    expect([...new Int8Array(bytes.buffer, 36, 5)]).toEqual([127, 3, -3, 2, -1]);
  });

  it('writes a zero block as zero scale and zero values', () => {
    expect([...quantizeQ8_0(new Float32Array(32))]).toEqual(new Array(34).fill(0));
  });

  it('dequantizes within half a step of the original', () => {
    const values = Float32Array.from({ length: 32 * 50 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const restored = dequantizeQ8_0(quantizeQ8_0(values));
    for (let block = 0; block < 50; block++) {
      const slice = values.subarray(block * 32, block * 32 + 32);
      const d = Math.max(...slice.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++) {
        expect(Math.abs(restored[block * 32 + j]! - slice[j]!)).toBeLessThanOrEqual(d / 2 + 127 * d * 2 ** -11);
      }
    }
  });

  it('refuses a length that is not whole blocks', () => {
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/multiple of 32/);
  });
});
