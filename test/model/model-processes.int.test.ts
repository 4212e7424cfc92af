import { copyFileSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRole, startRole, stopRole } from '../support/processes.ts';
import { deletePrefix, redisUrl, TINY_MODEL } from '../support/stack.ts';
import { closedPort } from './support.ts';

/** Worker processes started as operators start them, with good and bad models. */
describe('worker process model start', () => {
  let dir: string;
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const env = (extra: Record<string, string>) => ({
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    MODELS_DIR: path.join(dir, 'models'),
    LLAMA_THREADS: '1',
    POOL_THREADS: '1',
    CONTEXT_SIZE: '256',
    WORKER_METRICS_PORT: '0',
    MODEL_DOWNLOAD_TIMEOUT_MS: '3000',
    ...extra,
  });

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-model-processes-'));
  });
  afterAll(async () => {
    const redis = new Redis(redisUrl());
    await deletePrefix(redis, prefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('quantizes an F32 model at the first start and reuses the Q8_0 file at the second', async () => {
    const first = await startRole('worker', env({ MODEL: TINY_MODEL }));
    await stopRole(first);
    const copy = path.join(dir, 'models', 'stories260K.q8_0.gguf');
    const made = statSync(copy);
    expect(first.lines.some((l) => l.includes('"msg":"model quantized to Q8_0"'))).toBe(true);
    expect(first.lines.some((l) => l.includes('"model":"stories260K:Q8_0"') && l.includes('"msg":"model loaded"'))).toBe(true);

    const second = await startRole('worker', env({ MODEL: TINY_MODEL }));
    await stopRole(second);
    expect(second.lines.some((l) => l.includes('"msg":"using the Q8_0 copy made earlier"'))).toBe(true);
    expect(second.lines.some((l) => l.includes('quantizing the model'))).toBe(false);
    const reused = statSync(copy);
    expect([reused.ino, reused.mtimeMs]).toEqual([made.ino, made.mtimeMs]);
  });

  const badModels: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'a text file named .gguf',
      async () => {
        const file = path.join(dir, 'readme.gguf');
        writeFileSync(file, '# My model\nDownload it from the website.\n');
        return file;
      },
      /cannot start: \S+readme\.gguf is not a GGUF model file: it is a text file \(it starts with "# My model\\nDownload it f"\)\.$/,
    ],
    [
      'a truncated GGUF',
      async () => {
        const file = path.join(dir, 'partial.gguf');
        copyFileSync(TINY_MODEL, file);
        truncateSync(file, 300_000);
        return file;
      },
      /cannot start: \S+partial\.gguf is truncated: tensor \S+ ends at byte \d+ but the file has 300000 bytes\. The file is incomplete \(an interrupted download or copy\); fetch it again\.$/,
    ],
    [
      'a missing path',
      async () => path.join(dir, 'nowhere', 'model.gguf'),
      /cannot start: MODEL=\S+model\.gguf: no such file \(\S+\)\. Set MODEL to a \.gguf file, a hf:\/https: model URI, or builtin:tiny\.$/,
    ],
    [
      'an unreachable URI (offline)',
      async () => `http://127.0.0.1:${await closedPort()}/models/llama.gguf`,
      /cannot start: cannot download http:\/\/127\.0\.0\.1:\d+\/models\/llama\.gguf: 127\.0\.0\.1:\d+ is unreachable \(connection refused\)\.$/,
    ],
  ];

  for (const [what, make, message] of badModels) {
    it(`exits with one clear line and no stack trace for ${what}`, async () => {
      const worker = spawnRole('worker', env({ MODEL: await make() }));
      const { code } = await worker.exited;
      expect(code).toBe(1);
      const userLine = worker.lines.find((l) => l.startsWith('llm-orchestrator cannot start:'));
      expect(userLine).toMatch(message);
      // Neither the plain output nor the JSON log carries a stack trace.
      expect(worker.lines.filter((l) => /^\s+at\s/.test(l) || /"stack":"[^"]/.test(l) || l.includes('\\n    at '))).toEqual([]);
    });
  }
});
