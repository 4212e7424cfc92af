import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { projectRoot } from '../../core/paths.ts';
import { TINY_MODEL } from '../support/stack.ts';

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'tools', 'model-cli.ts'), ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run model', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('info shows metadata, tensors with types and sizes, and totals', () => {
    const { code, stdout } = cli('info', TINY_MODEL);
    expect(code).toBe(0);
    expect(stdout).toContain('GGUF v3, 1185376 bytes');
    expect(stdout).toContain('llama, 292,800 parameters, F32, trained context 2048');
    expect(stdout).toMatch(/llama\.embedding_length\s+uint32\s+64/);
    expect(stdout).toMatch(/token_embd\.weight\s+F32\s+64 × 512\s+131072/);
    expect(stdout).toMatch(/By type\n\s+F32\s+48 tensors/);
  });

  it('quantize writes a Q8_0 copy, and refuses to quantize it again', () => {
    const out = path.join(dir, 'stories.q8_0.gguf');
    const first = cli('quantize', TINY_MODEL, out);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('32 tensors quantized to Q8_0, 16 kept');
    expect(readGguf(out).tensors.filter((t) => t.type === 8)).toHaveLength(32);
    const again = cli('quantize', out, path.join(dir, 'twice.gguf'));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`${out} is Q8_0, not a float model: nothing to quantize.\n`);
  });

  it('tiny writes the random-weight model', () => {
    const out = path.join(dir, 'tiny.gguf');
    const { code, stdout } = cli('tiny', out, '--seed', '3');
    expect(code).toBe(0);
    expect(stdout).toContain('random-weight Llama (seed 3)');
    expect(cli('info', out).stdout).toContain('RANDOM WEIGHTS');
  });

  it('says what is wrong with a bad file in one line', () => {
    const bad = path.join(dir, 'bad.gguf');
    writeFileSync(bad, 'not a model');
    const { code, stderr } = cli('info', bad);
    expect(code).toBe(1);
    expect(stderr).toBe(`${bad} is not a GGUF model file: it is a text file (it starts with "not a model").\n`);
  });

  it('prints its usage for an unknown command', () => {
    const { code, stderr } = cli('convert', 'x');
    expect(code).toBe(2);
    expect(stderr).toContain('usage: npm run model -- <command>');
  });
});
