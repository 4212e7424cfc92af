import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.ts';
import { laneKeyPrefix, loadCatalogue, modelConfig, parseModelsFile, SINGLE_MODEL_ID, workerModels } from '../../core/model/catalogue.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-catalogue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const at = path.join(dir, `${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(at, text);
  return at;
}

const TWO = `models:
  - id: chat
    source: hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf
    aliases: [gpt-4o-mini]
    context_size: 4096
    pool_threads: 1
  - id: embed
    source: builtin:tiny
    kind: embedding
`;

const problems = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
};

describe('the models catalogue', () => {
  it('reads a models file: ids, aliases, kinds, one queue per model, the first as default', () => {
    const catalogue = loadCatalogue(loadConfig({ MODELS_FILE: file(TWO), QUEUE_NAME: 'gen' }));
    expect(catalogue.single).toBe(false);
    expect(catalogue.models.map((m) => [m.id, m.queue, m.kind])).toEqual([
      ['chat', 'gen-chat', 'generate'],
      ['embed', 'gen-embed', 'embedding'],
    ]);
    expect(catalogue.default.id).toBe('chat');
    expect(catalogue.find('gpt-4o-mini')?.id).toBe('chat');
    expect(catalogue.find('embed')?.id).toBe('embed');
    expect(catalogue.find('gpt-5')).toBeUndefined();
    expect(catalogue.byQueue('gen-embed')?.id).toBe('embed');
  });

  it('is MODEL alone, in QUEUE_NAME, without a models file', () => {
    const config = loadConfig({ MODEL: 'builtin:tiny' });
    const catalogue = loadCatalogue(config);
    expect(catalogue.single).toBe(true);
    expect(catalogue.models).toEqual([expect.objectContaining({ id: SINGLE_MODEL_ID, source: 'builtin:tiny', queue: 'generate' })]);
    expect(modelConfig(config, catalogue.default)).toBe(config);
    expect(laneKeyPrefix(config, catalogue, catalogue.default)).toBe(config.REDIS_PREFIX);
  });

  it("gives each model its own settings, falling back to the process's", () => {
    const config = loadConfig({ MODELS_FILE: file(TWO), CONTEXT_SIZE: '1024', LLAMA_THREADS: '2' });
    const catalogue = loadCatalogue(config);
    const chat = modelConfig(config, catalogue.find('chat')!);
    expect(chat).toMatchObject({ MODEL: catalogue.find('chat')!.source, CONTEXT_SIZE: 4096, POOL_THREADS: 1, LLAMA_THREADS: 2 });
    const embed = modelConfig(config, catalogue.find('embed')!);
    expect(embed).toMatchObject({ MODEL: 'builtin:tiny', CONTEXT_SIZE: 1024, POOL_THREADS: undefined });
    expect(laneKeyPrefix(config, catalogue, catalogue.find('embed')!)).toBe(`${config.REDIS_PREFIX}:model:embed`);
  });

  it('serves WORKER_MODELS, or every model', () => {
    const all = loadConfig({ MODELS_FILE: file(TWO) });
    expect(workerModels(all, loadCatalogue(all)).map((m) => m.id)).toEqual(['chat', 'embed']);
    const some = loadConfig({ MODELS_FILE: file(TWO), WORKER_MODELS: ' embed ' });
    expect(workerModels(some, loadCatalogue(some)).map((m) => m.id)).toEqual(['embed']);
  });

  it('refuses, naming the problem: duplicates, unknown fields, bad ids, bad YAML, an empty list, unknown WORKER_MODELS, a missing file', () => {
    expect(problems(() => parseModelsFile('models:\n  - {id: a, source: x}\n  - {id: b, source: y, aliases: [a]}\n', 'f.yml'))).toEqual([
      "MODELS_FILE: f.yml: 'a' names both a and b",
    ]);
    expect(problems(() => parseModelsFile('models:\n  - {id: a, source: x, threads: 2}\n', 'f.yml'))[0]).toMatch(/^MODELS_FILE: f\.yml: models\.0: .*threads/);
    expect(problems(() => parseModelsFile('models:\n  - {id: "a:b", source: x}\n', 'f.yml'))[0]).toMatch(/models\.0\.id/);
    expect(problems(() => parseModelsFile('models: [\n', 'f.yml'))[0]).toMatch(/^MODELS_FILE: f\.yml is not valid YAML/);
    expect(problems(() => parseModelsFile('models: []\n', 'f.yml'))[0]).toMatch(/models/);
    expect(problems(() => loadCatalogue(loadConfig({ MODELS_FILE: file(TWO), WORKER_MODELS: 'chat,gpt' })))).toEqual([
      'WORKER_MODELS: gpt not in the catalogue (the models file lists chat, embed)',
    ]);
    expect(problems(() => loadCatalogue(loadConfig({ MODELS_FILE: path.join(dir, 'none.yml') })))[0]).toMatch(/^MODELS_FILE: cannot read .*ENOENT/);
  });
});
