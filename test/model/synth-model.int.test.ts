import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { readGguf } from '../../core/model/gguf-reader.ts';
import { greedyRun } from '../../core/model/greedy.ts';
import { expectedModelId } from '../../core/model/model-naming.ts';
import { quantizeToQ8_0 } from '../../core/model/quantize.ts';
import { resolveModelSource } from '../../core/model/resolve.ts';
import { synthModelSize, writeSynthModel } from '../../core/model/synth-model.ts';
import { projectRoot } from '../../core/paths.ts';
import { captureLog, WARN } from './support.ts';

const GREEDY_TOKENS = 48;
// Plain words, and text whose every token has a zero row (non-ASCII bytes, control bytes).
const PROMPTS = ['Once upon a time', 'The quick brown fox', 'Привет, мир', '\u0001\u0002'];
const PRINTABLE = /^[\x20-\x7e\n]*$/;

describe('synth:micro in llama.cpp', () => {
  let dir: string;
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-synth-llama-'));
    const f32 = path.join(dir, 'synth-micro.gguf');
    const q8 = path.join(dir, 'synth-micro.q8_0.gguf');
    writeSynthModel(f32, 'micro');
    quantizeToQ8_0(f32, q8);
    llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    model = await llama.loadModel({ modelPath: q8 });
  });
  afterAll(async () => {
    await model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`writes ${GREEDY_TOKENS} greedy tokens of printable text for every prompt, never ending early`, async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    try {
      const sequence = context.getSequence();
      for (const prompt of PROMPTS) {
        const run = await greedyRun(model, sequence, prompt, GREEDY_TOKENS);
        const text = model.detokenize(run.tokens);
        expect(run.tokens, prompt).toHaveLength(GREEDY_TOKENS);
        expect(run.tokens.some((token) => model.isEogToken(token)), prompt).toBe(false);
        expect(text, prompt).toMatch(PRINTABLE);
        expect(text.length, prompt).toBeGreaterThanOrEqual(GREEDY_TOKENS);
        // Noise, not one token over and over.
        expect(new Set(run.tokens).size, prompt).toBeGreaterThan(1);
      }
    } finally {
      await context.dispose();
    }
  });
});

describe('resolveModelSource with MODEL=synth:micro', () => {
  let dir: string;
  const config = () => loadConfig({ MODEL: 'synth:micro', MODELS_DIR: path.join(dir, 'models') });
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-synth-resolve-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the model once into MODELS_DIR and serves its Q8_0 copy, saying its output is noise', async () => {
    const log = captureLog();
    const source = await resolveModelSource(config(), log.logger);
    const written = path.join(dir, 'models', 'synth-micro.gguf');
    expect(source).toMatchObject({ id: 'synth-micro:Q8_0', path: path.join(dir, 'models', 'synth-micro.q8_0.gguf'), quantizedFrom: written, setting: 'synth:micro' });
    expect(source.facts).toMatchObject({ quantization: 'Q8_0', randomWeights: true, architecture: 'llama' });
    expect(statSync(written).size).toBe(synthModelSize('micro').f32Bytes);
    expect(log.messages()).toContain('wrote the synth random-weight model');
    expect(log.messages(WARN)).toEqual(['synth:micro has random weights: everything it generates is noise. Set MODEL to a real model.']);
    expect(expectedModelId(config())).toBe(source.id);
    expect(readdirSync(path.join(dir, 'models')).sort()).toEqual(['synth-micro.gguf', 'synth-micro.q8_0.gguf']);

    const before = statSync(written);
    const copyBefore = statSync(source.path);
    const second = captureLog();
    const again = await resolveModelSource(config(), second.logger);
    expect(again.path).toBe(source.path);
    expect(second.messages().some((m) => m.startsWith('writing the synth'))).toBe(false);
    expect(second.messages()).toContain('using the Q8_0 copy made earlier');
    const after = statSync(written);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(statSync(again.path).mtimeMs).toBe(copyBefore.mtimeMs);
  });

  it('waits for another process writing it, and does not write it again', async () => {
    const models = path.join(dir, 'waiting');
    mkdirSync(models);
    const file = path.join(models, 'synth-micro.gguf');
    // Another process holds the lock and is writing the file.
    writeFileSync(`${file}.lock`, `elsewhere 1\n`);
    const log = captureLog();
    const resolving = resolveModelSource(loadConfig({ MODEL: 'synth:micro', MODELS_DIR: models, USE_INT8: 'false' }), log.logger);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(log.messages()).toContain('another process is writing the synth model: waiting for it');
    expect(existsSync(file)).toBe(false);
    writeSynthModel(file, 'micro');
    const made = statSync(file).mtimeMs;
    rmSync(`${file}.lock`);

    const source = await resolving;
    expect(source).toMatchObject({ id: 'synth-micro:F32', path: file });
    expect(log.messages().some((m) => m.startsWith('writing the synth'))).toBe(false);
    expect(statSync(file).mtimeMs).toBe(made);
    expect(readdirSync(models)).toEqual(['synth-micro.gguf']);
  });

  it('names the presets for an unknown one', async () => {
    const error = await resolveModelSource(loadConfig({ MODEL: 'synth:gpt-5', MODELS_DIR: path.join(dir, 'models') }), captureLog().logger).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'model_unknown_synth', message: expect.stringMatching(/^synth:gpt-5: unknown synth preset; the presets are synth:qwen2\.5-0\.5b, /) });
  });
});

describe('npm run model -- synth', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-synth-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'tools', 'model-cli.ts'), ...args], { cwd: projectRoot, encoding: 'utf8' });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it('lists the presets with shape, parameters and sizes', () => {
    const { code, stdout } = cli('synth', '--list');
    expect(code).toBe(0);
    expect(stdout).toMatch(/synth:qwen2\.5-0\.5b\s+896 wide, 24 layers, 14\/2 heads, FFN 4864, vocab 151936, context 32768\s+494,005,120\s+1\.84 GiB\s+504\.02 MiB/);
    expect(stdout).toMatch(/synth:llama-3b\s+3072 wide, 28 layers/);
    expect(stdout).toContain('the text is noise');
  });

  it('writes a preset with a seed and says its output is noise', () => {
    const out = path.join(dir, 'micro.gguf');
    const { code, stdout } = cli('synth', 'micro', out, '--seed', '3');
    expect(code).toBe(0);
    expect(stdout).toMatch(/micro\.gguf: synth:micro .*seed 3, 4,458,752 parameters, F32, 18017888 bytes .* in \d+\.\d s\. Its output is noise\.\n$/);
    expect(readGguf(out).fileSize).toBe(synthModelSize('micro').f32Bytes);
  });

  it('refuses an unknown preset in one line, with exit code 2', () => {
    const { code, stdout, stderr } = cli('synth', 'llama-70b', path.join(dir, 'x.gguf'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('unknown synth preset "llama-70b"; the presets are qwen2.5-0.5b, llama-1b, llama-3b, micro.\n');
  });
});
