import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataValue } from '../../core/model/gguf-file.ts';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { describeModel } from '../../core/model/model-facts.ts';
import { isQ8_0Candidate, needsQ8_0 } from '../../core/model/quantization.ts';
import { quantizeToQ8_0 } from '../../core/model/quantize.ts';
import { RANDOM_WEIGHTS_KEY, writeTinyModel } from '../../core/model/tiny-model.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-tiny-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeTinyModel', () => {
  it('writes the same bytes for the same seed and different ones for another seed', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(dir, `${name}.gguf`));
    writeTinyModel(a!, 7);
    writeTinyModel(b!, 7);
    writeTinyModel(c!, 8);
    expect(readFileSync(a!).equals(readFileSync(b!))).toBe(true);
    expect(readFileSync(a!).equals(readFileSync(c!))).toBe(false);
  });

  it('writes an F32 Llama that says its weights are random', () => {
    const file = path.join(dir, 'tiny.gguf');
    writeTinyModel(file);
    const gguf = readGguf(file);
    const facts = describeModel(gguf);
    expect(facts).toMatchObject({ architecture: 'llama', quantization: 'F32', randomWeights: true, trainContextSize: 2048 });
    expect(metadataValue(gguf, RANDOM_WEIGHTS_KEY)).toBe(true);
    expect((metadataValue(gguf, 'tokenizer.ggml.tokens') as string[]).length).toBe(260);
  });

  it('has every weight matrix quantizable, and its Q8_0 copy keeps the random-weights flag', () => {
    const file = path.join(dir, 'tiny-q.gguf');
    writeTinyModel(file);
    const gguf = readGguf(file);
    const matrices = gguf.tensors.filter((t) => t.dims.length === 2);
    expect(matrices.length).toBeGreaterThan(0);
    expect(matrices.every(isQ8_0Candidate)).toBe(true);
    expect(needsQ8_0(gguf)).toBe(true);

    const copy = path.join(dir, 'tiny-q.q8_0.gguf');
    quantizeToQ8_0(gguf, copy);
    const quantized = readGguf(copy);
    expect(describeModel(quantized)).toMatchObject({ quantization: 'Q8_0', randomWeights: true });
    // A quantized model is served as it is: quantizing is never applied twice.
    expect(needsQ8_0(quantized)).toBe(false);
  });
});
