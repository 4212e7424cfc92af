import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../core/errors.ts';
import { downloadModel } from '../../core/model/download.ts';
import { downloadFileName } from '../../core/model/model-uri.ts';
import { captureLog, startModelServer, type ModelServer } from './support.ts';

describe('downloadFileName', () => {
  it('derives a stable local name from the URI alone', () => {
    expect(downloadFileName('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf')).toBe(
      'hf_Qwen_Qwen2.5-0.5B-Instruct-GGUF_qwen2.5-0.5b-instruct-q8_0.gguf',
    );
    expect(downloadFileName('hf:user/model:Q8_0')).toBe('hf_user_model_Q8_0.gguf');
    expect(downloadFileName('hf:user/repo/sub/model-f16.gguf#dev')).toBe('hf_user_repo_dev_sub_model-f16.gguf');
    expect(downloadFileName('https://example.com/files/My%20Model.gguf?download=true')).toBe('example.com_My_Model.gguf');
  });
});

describe('downloadModel', () => {
  let dir: string;
  let server: ModelServer;
  // 12 MB in several of the downloader's chunks, so that part of it can arrive before a stall.
  const payload = Buffer.alloc(12 * 1024 * 1024);
  for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-download-'));
    server = await startModelServer({ 'big.gguf': payload });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops a stalled download with a clear error, keeps what arrived under a temporary name, and resumes from it', async () => {
    const uri = server.url('big.gguf');
    const target = path.join(dir, downloadFileName(uri));
    server.mode.stallAfter = 7 * 1024 * 1024;
    const stalled = await downloadModel(uri, dir, { logger: captureLog().logger, timeoutMs: 1500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(stalled).toBeInstanceOf(ModelError);
    expect((stalled as ModelError).code).toBe('model_download_stalled');
    expect((stalled as ModelError).message).toBe(
      `download of ${uri} received no data for 2 s; stopped. What arrived is kept, and the download resumes at the next start.`,
    );
    // Never half-written under the model's name: only the temporary file exists.
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir)).toEqual([`${path.basename(target)}.ipull`]);

    server.mode.stallAfter = undefined;
    const firstAttempt = server.requests.length;
    const file = await downloadModel(uri, dir, { logger: captureLog().logger, timeoutMs: 5000 });
    expect(file).toBe(target);
    expect(readFileSync(file).equals(payload)).toBe(true);
    expect(readdirSync(dir)).toEqual([path.basename(target)]);
    const refetched = server.requests
      .slice(firstAttempt)
      .filter((r) => r.method === 'GET' && r.range)
      .map((r) => /bytes=(\d+)-(\d+)/.exec(r.range!)!)
      .reduce((bytes, m) => bytes + Number(m[2]) - Number(m[1]) + 1, 0);
    expect(refetched).toBeGreaterThan(0);
    expect(refetched).toBeLessThan(payload.length);
  });
});
