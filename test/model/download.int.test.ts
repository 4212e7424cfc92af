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

describe('downloadModel with a URL that carries secrets', () => {
  const SIGNATURE = 'f00dfeedcafe0123456789abcdefsignature';
  const TOKEN = 'hf_tokenThatMustNotLeak';
  let dir: string;
  let server: ModelServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-download-secret-'));
    server = await startModelServer({ 'signed.gguf': Buffer.alloc(4 * 1024 * 1024, 7) });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const failure = (uri: string, log: ReturnType<typeof captureLog>) =>
    downloadModel(uri, dir, { logger: log.logger, timeoutMs: 1000 }).then(
      () => expect.unreachable('the download should fail'),
      (e: unknown) => e as ModelError,
    );

  it('logs and reports a presigned URL without its query', async () => {
    const uri = `${server.url('signed.gguf')}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${SIGNATURE}`;
    server.mode.stallAfter = 1024 * 1024;
    const log = captureLog();
    const error = await failure(uri, log);
    server.mode.stallAfter = undefined;

    const everything = JSON.stringify(log.records) + error.message + String(error.stack);
    expect(everything).not.toContain(SIGNATURE);
    expect(error.code).toBe('model_download_stalled');
    expect(error.message).toContain(`download of ${server.url('signed.gguf')}?*** received no data`);
    // The download got as far as logging its progress, under the redacted URL.
    expect(log.records.filter((r) => r.msg === 'downloading model').map((r) => r.uri)).toContain(`${server.url('signed.gguf')}?***`);
  });

  it('reports a URL with a user and token without them', async () => {
    const uri = server.url('signed.gguf').replace('http://', `http://user:${TOKEN}@`);
    const log = captureLog();
    const error = await failure(uri, log);

    const everything = JSON.stringify(log.records) + error.message + String(error.stack) + String(error.cause);
    expect(everything).not.toContain(TOKEN);
    // fetch refuses URLs with credentials, quoting the URL in its own message.
    expect(error.code).toBe('model_unreachable');
    expect(error.message).toContain(`cannot download ${server.url('signed.gguf').replace('http://', 'http://***@')}:`);
  });
});
