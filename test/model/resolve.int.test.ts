import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.ts';
import { ModelError } from '../../core/errors.ts';
import { expectedModelId, modelName } from '../../core/model/model-naming.ts';
import { resolveModelSource } from '../../core/model/resolve.ts';
import { TINY_MODEL } from '../support/stack.ts';
import { captureLog, closedPort, startModelServer, WARN, type ModelServer } from './support.ts';

let dir: string;
const config = (env: Record<string, string>) => loadConfig({ MODELS_DIR: path.join(dir, 'models'), MODEL_DOWNLOAD_TIMEOUT_MS: '3000', ...env });

async function resolveError(env: Record<string, string>): Promise<ModelError> {
  const error = await resolveModelSource(config(env), captureLog().logger).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof ModelError) return error;
  throw new Error(`expected a ModelError, got ${String(error)}`);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-resolve-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('modelName', () => {
  it('names a model by its file or repository, without directories, extension or quantization tag', () => {
    expect(modelName('/srv/models/stories260K.gguf')).toBe('stories260K');
    expect(modelName('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf')).toBe('qwen2.5-0.5b-instruct');
    expect(modelName('hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M')).toBe('Llama-3.2-1B-Instruct');
    expect(modelName('https://example.com/m/phi-3-mini.F16.gguf?download=1')).toBe('phi-3-mini');
    expect(modelName('builtin:tiny')).toBe('builtin-tiny');
  });
});

describe('resolveModelSource with USE_INT8', () => {
  it('quantizes an F32 model once into MODELS_DIR and reuses the copy at the next start', async () => {
    const first = captureLog();
    const source = await resolveModelSource(config({ MODEL: TINY_MODEL }), first.logger);
    expect(source).toMatchObject({ id: 'stories260K:Q8_0', path: path.join(dir, 'models', 'stories260K.q8_0.gguf'), quantizedFrom: TINY_MODEL });
    expect(source.facts).toMatchObject({ quantization: 'Q8_0', fileType: 7, architecture: 'llama', randomWeights: false });
    expect(first.messages()).toContain('model quantized to Q8_0');
    const made = statSync(source.path);

    const second = captureLog();
    const again = await resolveModelSource(config({ MODEL: TINY_MODEL }), second.logger);
    expect(again.path).toBe(source.path);
    expect(second.messages()).toContain('using the Q8_0 copy made earlier');
    expect(second.messages().some((m) => m.startsWith('quantizing'))).toBe(false);
    const reused = statSync(again.path);
    expect([reused.ino, reused.mtimeMs]).toEqual([made.ino, made.mtimeMs]);
  });

  it('makes the copy again when the source file changed', async () => {
    const own = path.join(dir, 'story.gguf');
    copyFileSync(TINY_MODEL, own);
    await resolveModelSource(config({ MODEL: own }), captureLog().logger);
    utimesSync(own, new Date(), new Date(Date.now() + 60_000));
    const log = captureLog();
    const source = await resolveModelSource(config({ MODEL: own }), log.logger);
    expect(source.id).toBe('story:Q8_0');
    expect(log.messages()).toContain('model quantized to Q8_0');
  });

  it('serves the original file with USE_INT8=false', async () => {
    const source = await resolveModelSource(config({ MODEL: TINY_MODEL, USE_INT8: 'false' }), captureLog().logger);
    expect(source).toMatchObject({ id: 'stories260K:F32', path: TINY_MODEL });
    expect(existsSync(path.join(dir, 'models'))).toBe(false);
  });

  it('predicts in the API the id a worker reports', async () => {
    const settings: Array<Record<string, string>> = [{ MODEL: TINY_MODEL }, { MODEL: TINY_MODEL, USE_INT8: 'false' }, { MODEL: 'builtin:tiny' }];
    for (const env of settings) {
      const source = await resolveModelSource(config(env), captureLog().logger);
      expect(expectedModelId(config(env))).toBe(source.id);
    }
  });
});

describe('resolveModelSource with builtin:tiny', () => {
  it('writes the random-weight model, quantizes it, and warns that its output is noise', async () => {
    const log = captureLog();
    const source = await resolveModelSource(config({ MODEL: 'builtin:tiny' }), log.logger);
    expect(source).toMatchObject({ id: 'builtin-tiny:Q8_0', path: path.join(dir, 'models', 'builtin-tiny.q8_0.gguf') });
    expect(source.facts.randomWeights).toBe(true);
    expect(log.messages(WARN)).toEqual(['builtin:tiny has random weights: everything it generates is noise. Set MODEL to a real model.']);
  });
});

describe('resolveModelSource without MODEL', () => {
  it('falls back to the shared stories260K with one warning when the default cannot be fetched', async () => {
    const port = await closedPort();
    const log = captureLog();
    const source = await resolveModelSource(config({ DEFAULT_MODEL_URI: `http://127.0.0.1:${port}/default.gguf` }), log.logger);
    expect(source.id).toBe('stories260K:Q8_0');
    expect(source.setting).toBe(TINY_MODEL);
    const warnings = log.messages(WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^MODEL is not set and the default model is unavailable: cannot download http:\/\/127\.0\.0\.1:\d+\/default\.gguf: 127\.0\.0\.1:\d+ is unreachable \(connection refused\)\. Using .*stories260K\.gguf, a tiny story-writing model, instead; set MODEL to choose a model\.$/);
  });

  it('falls back to builtin:tiny with one warning when the shared model is not there either', async () => {
    const port = await closedPort();
    const log = captureLog();
    const source = await resolveModelSource(config({ DEFAULT_MODEL_URI: `http://127.0.0.1:${port}/default.gguf` }), log.logger, {
      sharedModel: path.join(dir, 'absent.gguf'),
    });
    expect(source.id).toBe('builtin-tiny:Q8_0');
    const warnings = log.messages(WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Using builtin:tiny, a random-weight model whose output is noise, instead; set MODEL to choose a model\.$/);
  });
});

describe('resolveModelSource with a bad MODEL', () => {
  it('says a text file named .gguf is not a model', async () => {
    const file = path.join(dir, 'model.gguf');
    writeFileSync(file, 'hello, I am a text file\n');
    const error = await resolveError({ MODEL: file });
    expect(error.message).toBe(`${file} is not a GGUF model file: it is a text file (it starts with "hello, I am a text file\\n").`);
  });

  it('says a truncated GGUF is truncated', async () => {
    const file = path.join(dir, 'cut.gguf');
    copyFileSync(TINY_MODEL, file);
    truncateSync(file, 600_000);
    const error = await resolveError({ MODEL: file });
    expect(error.code).toBe('model_truncated');
    expect(error.message).toMatch(/cut\.gguf is truncated: tensor blk\.\d\.\w+\.weight ends at byte \d+ but the file has 600000 bytes\. The file is incomplete/);
  });

  it('says a missing path does not exist', async () => {
    const error = await resolveError({ MODEL: 'no/such/model.gguf' });
    expect(error.code).toBe('model_missing');
    expect(error.message).toBe(`MODEL=no/such/model.gguf: no such file (${path.resolve('no/such/model.gguf')}). Set MODEL to a .gguf file, a hf:/https: model URI, or builtin:tiny.`);
  });

  it('names an unknown builtin', async () => {
    expect((await resolveError({ MODEL: 'builtin:huge' })).message).toMatch(/unknown builtin model; the only one is builtin:tiny/);
  });
});

describe('resolveModelSource with a remote MODEL', () => {
  let server: ModelServer;
  const model = readFileSync(TINY_MODEL);
  beforeAll(async () => {
    server = await startModelServer({ 'stories260K.gguf': model, 'page.gguf': Buffer.from('<html>Sign in</html>') });
  });
  afterAll(() => server.close());

  it('downloads once into MODELS_DIR, logging progress, and finds the file at the next start without the network', async () => {
    const log = captureLog();
    const uri = server.url('stories260K.gguf');
    const source = await resolveModelSource(config({ MODEL: uri }), log.logger);
    expect(source.id).toBe('stories260K:Q8_0');
    const downloaded = path.join(dir, 'models', '127.0.0.1_' + uri.split(':')[2]!.split('/')[0] + '_stories260K.gguf');
    expect(readFileSync(downloaded).equals(model)).toBe(true);
    expect(readdirSync(path.join(dir, 'models')).filter((f) => f.endsWith('.ipull') || f.endsWith('.lock'))).toEqual([]);
    expect(log.records.filter((r) => r.msg === 'downloading model').length).toBeGreaterThan(0);
    expect(log.messages()).toContain('model downloaded');

    const before = server.requests.length;
    const again = await resolveModelSource(config({ MODEL: uri }), captureLog().logger);
    expect(again.path).toBe(source.path);
    expect(server.requests.length).toBe(before);
  });

  it('says a URI the server does not have is not found', async () => {
    const error = await resolveError({ MODEL: server.url('missing.gguf') });
    expect(error.code).toBe('model_not_found');
    expect(error.message).toMatch(/cannot download http:\/\/127\.0\.0\.1:\d+\/missing\.gguf: the server has no such file \(HTTP 404\)\./);
  });

  it('says a downloaded file that is a web page is not a model', async () => {
    const error = await resolveError({ MODEL: server.url('page.gguf') });
    expect(error.message).toMatch(/page\.gguf is not a GGUF model file: it is an HTML\/XML page/);
  });

  it('says an unreachable URI is unreachable (offline)', async () => {
    const port = await closedPort();
    const refused = await resolveError({ MODEL: `http://127.0.0.1:${port}/model.gguf` });
    expect(refused.code).toBe('model_unreachable');
    expect(refused.message).toBe(`cannot download http://127.0.0.1:${port}/model.gguf: 127.0.0.1:${port} is unreachable (connection refused).`);
    const unknownHost = await resolveError({ MODEL: 'https://models.invalid/model.gguf' });
    expect(unknownHost.message).toMatch(/^cannot download https:\/\/models\.invalid\/model\.gguf: models\.invalid is unreachable \((host not found, offline\?|no answer within 3 s)\)\.$/);
  });
});
