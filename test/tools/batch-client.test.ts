import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, BatchClient, ConnectionError, clientOptionsFromEnv, DEFAULT_BASE_URL, parseRetryAfter } from '../../tools/batch/batch-client.ts';

interface Call {
  url: string;
  init: RequestInit;
}

/** A client whose fetch answers from `answer` and records what it was asked. */
function fakeClient(answer: (call: Call) => Response | Promise<Response>, apiKey?: string) {
  const calls: Call[] = [];
  const fetch = (async (url: string | URL, init: RequestInit = {}) => {
    const call = { url: String(url), init };
    calls.push(call);
    return answer(call);
  }) as typeof globalThis.fetch;
  return { calls, client: new BatchClient({ baseUrl: 'http://api.test/v1/', fetch, ...(apiKey ? { apiKey } : {}) }) };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('the batch client', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-batch-client-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads OPENAI_BASE_URL and OPENAI_API_KEY as the official clients do', () => {
    expect(clientOptionsFromEnv({})).toEqual({ baseUrl: DEFAULT_BASE_URL });
    expect(clientOptionsFromEnv({ OPENAI_BASE_URL: 'https://x.test/v1', OPENAI_API_KEY: 'sk-1' })).toEqual({ baseUrl: 'https://x.test/v1', apiKey: 'sk-1' });
    expect(clientOptionsFromEnv({ OPENAI_BASE_URL: '', OPENAI_API_KEY: '' })).toEqual({ baseUrl: DEFAULT_BASE_URL });
  });

  it('uploads a file as multipart with its name and purpose, and the key as a bearer token', async () => {
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, '{"custom_id":"r1"}\n');
    const { calls, client } = fakeClient(() => json(200, { id: 'file-1', object: 'file', bytes: 19, created_at: 1, filename: 'in.jsonl', purpose: 'batch' }), 'sk-test');
    expect((await client.uploadFile(input, 'batch')).id).toBe('file-1');
    const [call] = calls;
    expect(call?.url).toBe('http://api.test/v1/files');
    expect(call?.init.method).toBe('POST');
    expect((call?.init.headers as Record<string, string>).authorization).toBe('Bearer sk-test');
    const form = call?.init.body as FormData;
    expect(form.get('purpose')).toBe('batch');
    const file = form.get('file') as File;
    expect(file.name).toBe('in.jsonl');
    expect(await file.text()).toBe('{"custom_id":"r1"}\n');
  });

  it('sends JSON to create a batch, and no authorization without a key', async () => {
    const { calls, client } = fakeClient(() => json(200, { id: 'batch_1', status: 'validating' }));
    await client.createBatch({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { a: 'b' } });
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toBeUndefined();
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(calls[0]?.init.body as string)).toEqual({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { a: 'b' } });
    await client.cancelBatch('batch/1');
    expect(calls[1]?.url).toBe('http://api.test/v1/batches/batch%2F1/cancel');
  });

  it("reads OpenAI's error shape", async () => {
    const { client } = fakeClient(() =>
      json(400, { error: { message: 'completion_window must be 24h', type: 'invalid_request_error', code: 'invalid_value', param: 'completion_window' } }),
    );
    const error = await refusal(client.createBatch({ input_file_id: 'f', endpoint: '/v1/chat/completions', completion_window: '1h' }));
    expect(error).toMatchObject({ request: 'POST /v1/batches', status: 400, message: 'completion_window must be 24h', type: 'invalid_request_error', code: 'invalid_value', param: 'completion_window' });
    expect(error.transient).toBe(false);
  });

  it("reads this server's own error shape, and a page that is not JSON", async () => {
    const native = await refusal(fakeClient(() => json(404, { error: { code: 'not_found', message: 'no such batch' } })).client.getBatch('b'));
    expect(native).toMatchObject({ status: 404, code: 'not_found', message: 'no such batch', type: undefined });
    const page = await refusal(fakeClient(() => new Response('<html>Bad gateway</html>', { status: 502 })).client.getBatch('b'));
    expect(page).toMatchObject({ request: 'GET /v1/batches/b', status: 502, message: '<html>Bad gateway</html>' });
    expect(page.transient).toBe(true);
  });

  it('keeps Retry-After, and counts 408, 429 and 5xx (but 501) as worth another try', async () => {
    const limited = await refusal(fakeClient(() => json(429, { error: { message: 'slow down' } }, { 'retry-after': '7' })).client.getBatch('b'));
    expect(limited.retryAfterMs).toBe(7_000);
    expect(limited.transient).toBe(true);
    const transient = (status: number) => new ApiError('GET /x', status, 'm').transient;
    expect([408, 429, 500, 503].map(transient)).toEqual([true, true, true, true]);
    expect([400, 401, 404, 409, 501].map(transient)).toEqual([false, false, false, false, false]);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('says which server it could not reach, in the words of the cause', async () => {
    const { client } = fakeClient(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    });
    const error = await client.getBatch('b').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toBe('cannot reach http://api.test (GET /v1/batches/b): connect ECONNREFUSED 127.0.0.1:1');
  });

  it('downloads a file to its place only once it is complete', async () => {
    const target = path.join(dir, 'out.jsonl');
    const { calls, client } = fakeClient(() => new Response('{"custom_id":"r1"}\n{"custom_id":"r2"}\n'));
    expect(await client.downloadFile('file-out', target)).toBe(38);
    expect(calls[0]?.url).toBe('http://api.test/v1/files/file-out/content');
    expect(readFileSync(target, 'utf8')).toBe('{"custom_id":"r1"}\n{"custom_id":"r2"}\n');
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('leaves no file behind when the download breaks off', async () => {
    const target = path.join(dir, 'broken.jsonl');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"custom_id":"r1"}\n'));
        controller.error(new TypeError('terminated'));
      },
    });
    const error = await fakeClient(() => new Response(body)).client.downloadFile('file-out', target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('writes nothing for an empty file when asked to skip it', async () => {
    const target = path.join(dir, 'errors.jsonl');
    writeFileSync(target, 'an earlier run\n');
    expect(await fakeClient(() => new Response('')).client.downloadFile('file-err', target, { skipEmpty: true })).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('an earlier run\n');
  });
});
