import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TensorReader } from '../../core/model/gguf-data.ts';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { GgmlType } from '../../core/model/gguf-types.ts';
import { quantizeToQ8_0 } from '../../core/model/quantize.ts';
import { projectRoot } from '../../core/paths.ts';
import { TINY_MODEL } from '../support/stack.ts';

// llama.cpp's libraries as node-llama-cpp ships them for this platform; Python's ctypes calls them.
const LIB_DIR = path.join(projectRoot, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64');
const runnable =
  process.platform === 'linux' && process.arch === 'x64' && existsSync(path.join(LIB_DIR, 'libllama.v0.4.0.so')) && spawnSync('python3', ['--version']).status === 0;

describe.skipIf(!runnable)("the project's Q8_0 quantizer against llama.cpp's", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-llama-quantize-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same bytes for every tensor both make Q8_0 or keep, on stories260K', () => {
    const theirsFile = path.join(dir, 'llama.cpp.gguf');
    const run = spawnSync('python3', [path.join(import.meta.dirname, 'llama-quantize.py'), LIB_DIR, TINY_MODEL, theirsFile], { encoding: 'utf8' });
    expect(run.status, run.stderr.slice(-2000)).toBe(0);
    const oursFile = path.join(dir, 'ours.gguf');
    quantizeToQ8_0(TINY_MODEL, oursFile);

    const theirs = readGguf(theirsFile);
    const ours = readGguf(oursFile);
    const theirReader = new TensorReader(theirs);
    const ourReader = new TensorReader(ours);
    try {
      const compared: string[] = [];
      const differentType: string[] = [];
      for (const tensor of ours.tensors) {
        const their = theirs.tensors.find((t) => t.name === tensor.name);
        expect(their, tensor.name).toBeDefined();
        if (their!.type !== tensor.type) {
          differentType.push(tensor.name);
          continue;
        }
        expect(Buffer.from(ourReader.bytes(tensor)).equals(Buffer.from(theirReader.bytes(their!))), tensor.name).toBe(true);
        compared.push(tensor.name);
      }
      expect(ours.tensors.filter((t) => t.type === GgmlType.Q8_0).every((t) => compared.includes(t.name))).toBe(true);
      expect(compared).toHaveLength(43);
      // Rows of 172 values are not whole Q8_0 blocks: llama.cpp falls back to F16, the project keeps F32.
      expect(differentType).toEqual([0, 1, 2, 3, 4].map((i) => `blk.${i}.ffn_down.weight`));
      expect(differentType.every((name) => theirs.tensors.find((t) => t.name === name)!.type === GgmlType.F16)).toBe(true);
      expect(theirs.metadata.slice(-2)).toEqual(ours.metadata.slice(-2));
    } finally {
      theirReader.close();
      ourReader.close();
    }
  });
});
