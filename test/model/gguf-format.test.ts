import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../core/errors.ts';
import { TensorReader } from '../../core/model/gguf-data.ts';
import type { GgufEntry } from '../../core/model/gguf-file.ts';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { GgmlType, GgufValueType as T } from '../../core/model/gguf-types.ts';
import { writeGguf, type GgufTensorSpec } from '../../core/model/gguf-writer.ts';
import { quantizeQ8_0 } from '../../core/model/q8-0.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-gguf-format-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const METADATA: GgufEntry[] = [
  { key: 'general.architecture', type: T.STRING, value: 'llama' },
  { key: 'general.alignment', type: T.UINT32, value: 64 },
  { key: 'u8', type: T.UINT8, value: 200 },
  { key: 'i8', type: T.INT8, value: -100 },
  { key: 'u16', type: T.UINT16, value: 60000 },
  { key: 'i16', type: T.INT16, value: -30000 },
  { key: 'i32', type: T.INT32, value: -2_000_000_000 },
  { key: 'f32', type: T.FLOAT32, value: Math.fround(0.1) },
  { key: 'bool', type: T.BOOL, value: true },
  { key: 'u64', type: T.UINT64, value: 2n ** 63n + 5n },
  { key: 'i64', type: T.INT64, value: -(2n ** 62n) },
  { key: 'f64', type: T.FLOAT64, value: 0.1 },
  { key: 'text', type: T.STRING, value: 'héllo ▁ 🙂' },
  { key: 'raw', type: T.STRING, value: Uint8Array.from([0xff, 0xfe, 0x41]) },
  { key: 'tokens', type: T.ARRAY, value: { itemType: T.STRING, items: ['<s>', 'a', Uint8Array.from([0xc3])] } },
  {
    key: 'nested',
    type: T.ARRAY,
    value: { itemType: T.ARRAY, items: [{ itemType: T.INT32, items: [1, -2] }, { itemType: T.INT32, items: [] }] },
  },
];

function tensors(): GgufTensorSpec[] {
  const weights = Float32Array.from({ length: 64 }, (_, i) => i / 10);
  return [
    { name: 'a.weight', dims: [32, 2], type: GgmlType.F32, data: () => new Uint8Array(weights.buffer) },
    { name: 'b.weight', dims: [32, 1], type: GgmlType.Q8_0, data: () => quantizeQ8_0(weights.subarray(0, 32)) },
    { name: 'c.bias', dims: [3], type: GgmlType.F16, data: () => Uint8Array.from([0, 0x3c, 0, 0x40, 0, 0xc0]) },
  ];
}

function sample(name: string): string {
  const file = path.join(dir, name);
  writeGguf(file, { metadata: METADATA, tensors: tensors() });
  return file;
}

function modelError(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ModelError) return error;
    throw error;
  }
  throw new Error('expected a ModelError');
}

describe('readGguf', () => {
  it('reads back every metadata value type, tensor infos and aligned data', () => {
    const file = readGguf(sample('all-types.gguf'));
    expect(file.version).toBe(3);
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(file.metadata).toEqual(METADATA);
    expect(file.tensors.map((t) => [t.name, t.dims, t.type, t.offset, t.size])).toEqual([
      ['a.weight', [32, 2], GgmlType.F32, 0, 256],
      ['b.weight', [32, 1], GgmlType.Q8_0, 256, 34],
      ['c.bias', [3], GgmlType.F16, 320, 6],
    ]);
    const reader = new TensorReader(file);
    try {
      expect([...reader.floats(file.tensors[2]!)]).toEqual([1, 2, -2]);
      expect(reader.floats(file.tensors[0]!)[63]).toBeCloseTo(6.3, 5);
    } finally {
      reader.close();
    }
  });

  it('writes back what it read byte for byte', () => {
    const original = sample('round-trip.gguf');
    const file = readGguf(original);
    const reader = new TensorReader(file);
    const copy = path.join(dir, 'round-trip-copy.gguf');
    try {
      writeGguf(copy, { version: file.version, metadata: file.metadata, tensors: file.tensors.map((t) => ({ ...t, data: () => reader.bytes(t) })) });
    } finally {
      reader.close();
    }
    expect(readFileSync(copy).equals(readFileSync(original))).toBe(true);
  });

  it('says a text file named .gguf is a text file', () => {
    const file = path.join(dir, 'notes.gguf');
    writeFileSync(file, 'these are my notes, not a model\n');
    const error = modelError(() => readGguf(file));
    expect(error.code).toBe('model_not_gguf');
    expect(error.message).toBe(`${file} is not a GGUF model file: it is a text file (it starts with "these are my notes, not ").`);
  });

  it('says a downloaded web page is a web page', () => {
    const file = path.join(dir, 'page.gguf');
    writeFileSync(file, '<!DOCTYPE html><html><body>Not found</body></html>');
    expect(modelError(() => readGguf(file)).message).toMatch(/is not a GGUF model file: it is an HTML\/XML page/);
  });

  it('says an empty file is empty, and other binary files are not GGUF', () => {
    const empty = path.join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    expect(modelError(() => readGguf(empty)).message).toBe(`${empty} is not a GGUF model file: it is empty.`);
    const zip = path.join(dir, 'archive.gguf');
    writeFileSync(zip, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00, 0x80, 0x81]));
    expect(modelError(() => readGguf(zip)).message).toMatch(/starts with bytes 50 4b 03 04, not "GGUF"/);
  });

  it('says a file cut inside its header is truncated', () => {
    const file = sample('cut-header.gguf');
    truncateSync(file, 100);
    const error = modelError(() => readGguf(file));
    expect(error.code).toBe('model_truncated');
    expect(error.message).toMatch(/is truncated: its GGUF header ends early \(the file has 100 bytes\)/);
  });

  it('says a file cut inside its tensor data is truncated, naming the tensor', () => {
    const file = sample('cut-data.gguf');
    const full = readGguf(file);
    truncateSync(file, full.dataOffset + 270);
    const error = modelError(() => readGguf(file));
    expect(error.code).toBe('model_truncated');
    expect(error.message).toMatch(/is truncated: tensor b\.weight ends at byte \d+ but the file has \d+ bytes/);
  });

  it('says a missing path or a directory is not a model', () => {
    expect(modelError(() => readGguf(path.join(dir, 'nowhere.gguf'))).code).toBe('model_missing');
    const folder = path.join(dir, 'folder.gguf');
    mkdirSync(folder);
    expect(modelError(() => readGguf(folder)).message).toMatch(/is a directory/);
  });

  it('refuses GGUF version 1 with a reason', () => {
    const file = path.join(dir, 'v1.gguf');
    const header = Buffer.alloc(32);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(1, 4);
    writeFileSync(file, header);
    const error = modelError(() => readGguf(file));
    expect(error.code).toBe('model_unsupported');
    expect(error.message).toMatch(/GGUF version 1; versions 2 and 3 are supported/);
  });
});
