import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { ModelError } from '../../core/errors.ts';
import { TensorReader } from '../../core/model/gguf-data.ts';
import { metadataNumber, metadataString, metadataValue, type GgufFile } from '../../core/model/gguf-file.ts';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { describeModel } from '../../core/model/model-facts.ts';
import { expectedModelId, isSynthModel, modelName, synthPresetOf } from '../../core/model/model-naming.ts';
import { isQ8_0Candidate, needsQ8_0 } from '../../core/model/quantization.ts';
import { quantizeToQ8_0 } from '../../core/model/quantize.ts';
import { BOS_ID, byteTokenId, EOS_ID, RANDOM_WEIGHTS_KEY, UNK_ID } from '../../core/model/random-llama.ts';
import { SYNTH_PRESET_KEY, SYNTH_PRESETS, synthModelSize, synthVocabulary, writeSynthModel } from '../../core/model/synth-model.ts';

let dir: string;
let micro: string;
let gguf: GgufFile;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-synth-'));
  micro = path.join(dir, 'micro.gguf');
  writeSynthModel(micro, 'micro', 7);
  gguf = readGguf(micro);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('synthModelSize', () => {
  it('counts the parameters of the real shapes (Qwen2.5 0.5B without its 27,648 q/k/v bias values)', () => {
    expect(synthModelSize('qwen2.5-0.5b').parameters).toBe(494_032_768 - 27_648);
    expect(synthModelSize('llama-1b').parameters).toBe(1_235_814_400);
    expect(synthModelSize('llama-3b').parameters).toBe(3_212_749_824);
    expect(synthModelSize('micro').parameters).toBe(4_458_752);
  });

  it('gives the exact sizes of the file written and of its Q8_0 copy', () => {
    const size = synthModelSize('micro');
    expect(statSync(micro).size).toBe(size.f32Bytes);
    expect(describeModel(gguf).parameters).toBe(size.parameters);
    const copy = path.join(dir, 'micro.q8_0.gguf');
    expect(quantizeToQ8_0(gguf, copy).targetBytes).toBe(size.q8_0Bytes);
  });
});

describe('writeSynthModel', () => {
  it('writes the preset\'s shape as an F32 llama with a tied output embedding', () => {
    const p = SYNTH_PRESETS.micro;
    const dims = (name: string) => gguf.tensors.find((t) => t.name === name)?.dims;
    expect(gguf.tensors).toHaveLength(2 + 9 * p.layers);
    expect(dims('token_embd.weight')).toEqual([256, 8192]);
    expect(dims('output.weight')).toBeUndefined();
    expect(dims('blk.3.attn_q.weight')).toEqual([256, 256]);
    expect(dims('blk.3.attn_k.weight')).toEqual([256, 128]);
    expect(dims('blk.3.attn_v.weight')).toEqual([256, 128]);
    expect(dims('blk.3.ffn_gate.weight')).toEqual([256, 512]);
    expect(dims('blk.3.ffn_down.weight')).toEqual([512, 256]);
    expect(describeModel(gguf)).toMatchObject({ architecture: 'llama', quantization: 'F32', randomWeights: true, trainContextSize: 4096 });
    expect(metadataNumber(gguf, 'llama.attention.head_count_kv')).toBe(2);
    expect(metadataNumber(gguf, 'llama.rope.dimension_count')).toBe(64);
    expect(metadataNumber(gguf, 'llama.rope.freq_base')).toBe(10000);
    expect(gguf.tensors.filter((t) => t.dims.length === 2).every(isQ8_0Candidate)).toBe(true);
    expect(needsQ8_0(gguf)).toBe(true);
  });

  it('says what it is: name, random weights, seed and preset', () => {
    expect(metadataString(gguf, 'general.name')).toBe('synth-micro');
    expect(metadataString(gguf, 'general.description')).toMatch(/^Random weights \(seed 7\) .*: output is noise\.$/);
    expect(metadataValue(gguf, RANDOM_WEIGHTS_KEY)).toBe(true);
    expect(metadataNumber(gguf, 'llm_orchestrator.seed')).toBe(7);
    expect(metadataString(gguf, SYNTH_PRESET_KEY)).toBe('micro');
  });

  it('has a vocabulary of the preset\'s size, of unique printable pieces after the base tokens', () => {
    const tokens = metadataValue(gguf, 'tokenizer.ggml.tokens') as string[];
    expect(tokens).toHaveLength(8192);
    expect(new Set(tokens).size).toBe(8192);
    expect(tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(tokens.slice(260, 263)).toEqual(['\u2581a', '\u2581b', '\u2581c']);
    expect(tokens.slice(260).every((t) => /^\u2581[a-z]+$/.test(t))).toBe(true);
    expect(synthVocabulary(151936).tokens).toHaveLength(151936);
  });

  it('zeroes the rows of control and unprintable byte tokens, and shadows <s> with a printable pair', () => {
    const reader = new TensorReader(gguf);
    try {
      const embd = 256;
      const values = reader.floats(gguf.tensors.find((t) => t.name === 'token_embd.weight')!);
      const row = (id: number) => Array.from(values.subarray(id * embd, (id + 1) * embd));
      const zero = new Array(embd).fill(0);
      for (const id of [UNK_ID, EOS_ID, byteTokenId(0x00), byteTokenId(0x09), byteTokenId(0x7f), byteTokenId(0x80), byteTokenId(0xff)]) {
        expect(row(id), `token ${id}`).toEqual(zero);
      }
      for (const id of [byteTokenId(0x0a), byteTokenId(0x41), 300]) expect(row(id).some((v) => v !== 0), `token ${id}`).toBe(true);
      const bos = row(BOS_ID);
      expect(bos.some((v) => v !== 0)).toBe(true);
      expect(row(8190)).toEqual(bos.map((v) => 2 * v));
      expect(row(8191)).toEqual(bos.map((v) => -2 * v));
      expect(values.reduce((max, v) => Math.max(max, Math.abs(v)), 0)).toBeLessThanOrEqual(2 / Math.sqrt(embd));
    } finally {
      reader.close();
    }
  });

  it('writes the same bytes for the same seed and different ones for another seed', () => {
    const [same, other] = ['same', 'other'].map((name) => path.join(dir, `${name}.gguf`));
    writeSynthModel(same!, 'micro', 7);
    writeSynthModel(other!, 'micro', 8);
    expect(sha256(same!)).toBe(sha256(micro));
    expect(sha256(other!)).not.toBe(sha256(micro));
  });
});

describe('synth: model settings', () => {
  it('are named synth-<preset>, in any case', () => {
    expect(isSynthModel('synth:qwen2.5-0.5b')).toBe(true);
    expect(isSynthModel('builtin:tiny')).toBe(false);
    expect(modelName('synth:qwen2.5-0.5b')).toBe('synth-qwen2.5-0.5b');
    expect(modelName('synth:Llama-3B')).toBe('synth-llama-3b');
    expect(synthPresetOf('synth:micro')).toBe('micro');
  });

  it('name the presets when the preset is unknown', () => {
    const error = (() => {
      try {
        modelName('synth:qwen-72b');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({
      code: 'model_unknown_synth',
      message: 'synth:qwen-72b: unknown synth preset; the presets are synth:qwen2.5-0.5b, synth:llama-1b, synth:llama-3b, synth:micro.',
    });
  });

  it('predict the id a worker reports before the file exists', () => {
    const config = (env: Record<string, string>) => loadConfig({ MODELS_DIR: path.join(dir, 'none'), ...env });
    expect(expectedModelId(config({ MODEL: 'synth:micro' }))).toBe('synth-micro:Q8_0');
    expect(expectedModelId(config({ MODEL: 'synth:micro', USE_INT8: 'false' }))).toBe('synth-micro:F32');
  });
});
