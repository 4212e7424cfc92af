import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import OpenAI, { APIError, BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestSetting } from '../../core/key-digest.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';

const MAX_BYTES = 64 * 1024;
const KEYS = { alice: `alice-key-${randomUUID()}`, bob: `bob-key-${randomUUID()}`, ops: `ops-key-${randomUUID()}` };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

const batchLines = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v1/completions', body: { prompt: `Line ${i}`, max_tokens: 4 } })).join('\n') + '\n';

/** What FILES_DIR holds besides finished files: temp files of writes that were abandoned. */
const leftovers = async (dir: string) => (await readdir(dir).catch(() => [])).filter((name) => !/^file-[0-9a-f]{32}(\.json)?$/.test(name));

describe('/v1/files through the official openai client', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-files-api-'));
  const filesDir = path.join(dir, 'files');
  let stack: TestStack;
  let alice: OpenAI;
  let bob: OpenAI;
  let ops: OpenAI;

  beforeAll(async () => {
    // ops is an admin, which only a keys file can say; alice and bob are users from API_KEYS.
    const keysFile = path.join(dir, 'keys.yaml');
    writeFileSync(keysFile, `tenants:\n  - { name: ops, role: admin, keys: [${digestSetting(KEYS.ops)}] }\n`);
    stack = await startStack({
      worker: false,
      env: { FILES_DIR: filesDir, FILE_MAX_BYTES: String(MAX_BYTES), API_KEYS: `alice=${KEYS.alice},bob=${KEYS.bob}`, API_KEYS_FILE: keysFile },
    });
    const client = (apiKey: string) => new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey, maxRetries: 0 });
    [alice, bob, ops] = [client(KEYS.alice), client(KEYS.bob), client(KEYS.ops)];
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function inputFile(content: string): string {
    const file = path.join(dir, `input-${randomUUID().slice(0, 8)}.jsonl`);
    writeFileSync(file, content);
    return file;
  }

  it('uploads a file from a stream and answers OpenAI’s file object', async () => {
    const content = batchLines(3);
    const source = inputFile(content);
    const file = await alice.files.create({ file: createReadStream(source), purpose: 'batch' });
    expect(file).toEqual({
      id: expect.stringMatching(/^file-[0-9a-f]{32}$/),
      object: 'file',
      bytes: Buffer.byteLength(content),
      created_at: expect.any(Number),
      filename: path.basename(source),
      purpose: 'batch',
      status: 'processed',
      status_details: null,
      expires_at: null,
    });
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(60);
  });

  it('lists, retrieves and reads back what was uploaded', async () => {
    const content = batchLines(5);
    const file = await alice.files.create({ file: createReadStream(inputFile(content)), purpose: 'batch' });
    expect(await alice.files.retrieve(file.id)).toEqual(file);
    const listed = [];
    for await (const item of alice.files.list()) listed.push(item);
    expect(listed).toContainEqual(file);
    const response = await alice.files.content(file.id);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(await response.text()).toBe(content);
  });

  it('accepts the file before the purpose (a form built in another order)', async () => {
    const file = await alice.files.create({ file: await toFile(Buffer.from('{}\n'), 'first.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ bytes: 3, filename: 'first.jsonl', purpose: 'batch' });
  });

  it('pages the list with limit, after and order, newest first by default', async () => {
    const created = [];
    for (let i = 0; i < 3; i += 1) created.push(await bob.files.create({ file: await toFile(Buffer.from(`${i}\n`), `p${i}.jsonl`), purpose: 'batch' }));
    const all = await bob.files.list();
    expect(all.data).toEqual([...all.data].sort((a, b) => b.created_at - a.created_at || b.id.localeCompare(a.id)));
    expect(new Set(all.data.map((f) => f.id))).toEqual(new Set(created.map((f) => f.id)));

    const firstPage = await http(stack.baseUrl, 'GET', '/v1/files?limit=2&order=asc', undefined, auth(KEYS.bob));
    expect(firstPage.body).toMatchObject({ object: 'list', has_more: true });
    expect(firstPage.body.data.map((f: { id: string }) => f.id)).toEqual([...all.data].reverse().slice(0, 2).map((f) => f.id));
    expect(firstPage.body.first_id).toBe(firstPage.body.data[0].id);
    expect(firstPage.body.last_id).toBe(firstPage.body.data[1].id);
    const rest = await http(stack.baseUrl, 'GET', `/v1/files?limit=2&order=asc&after=${firstPage.body.last_id}`, undefined, auth(KEYS.bob));
    expect(rest.body).toMatchObject({ has_more: false, data: [{ id: all.data[0]!.id }] });

    // The client follows the cursor by itself.
    const ids = [];
    for await (const file of bob.files.list({ limit: 1 })) ids.push(file.id);
    expect(ids).toEqual(all.data.map((f) => f.id));

    const bad = await http(stack.baseUrl, 'GET', '/v1/files?limit=0', undefined, auth(KEYS.bob));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', param: 'limit' });
  });

  it('deletes a file, which is then not found', async () => {
    const file = await alice.files.create({ file: createReadStream(inputFile(batchLines(1))), purpose: 'batch' });
    expect(await alice.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(alice.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.files.content(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(alice.files.delete(file.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await readdir(filesDir)).filter((name) => name.startsWith(file.id))).toEqual([]);
  });

  it('refuses a file above FILE_MAX_BYTES with 413, keeps nothing of it, and goes on serving', async () => {
    const before = (await readdir(filesDir)).sort();
    const error = await alice.files
      .create({ file: createReadStream(inputFile('x'.repeat(MAX_BYTES + 1))), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 413, code: 'file_too_large', type: 'invalid_request_error' });
    expect((error as APIError).error).toMatchObject({ message: expect.stringContaining(String(MAX_BYTES)), param: null });
    expect((await readdir(filesDir)).sort()).toEqual(before);
    // At the limit exactly, it is stored.
    expect((await alice.files.create({ file: await toFile(Buffer.alloc(MAX_BYTES, 'y'), 'max.jsonl'), purpose: 'batch' })).bytes).toBe(MAX_BYTES);
  });

  it('refuses a purpose other than batch with 400, in either order of the form', async () => {
    const before = (await readdir(filesDir)).sort();
    const purposeFirst = await alice.files.create({ file: createReadStream(inputFile('{}\n')), purpose: 'fine-tune' }).catch((e: unknown) => e);
    expect(purposeFirst).toBeInstanceOf(BadRequestError);
    expect(purposeFirst).toMatchObject({ code: 'unsupported_value', param: 'purpose' });
    const fileFirst = await alice.files.create({ file: await toFile(Buffer.from('{}\n'), 'a.jsonl'), purpose: 'assistants' }).catch((e: unknown) => e);
    expect(fileFirst).toMatchObject({ status: 400, code: 'unsupported_value', param: 'purpose' });
    const form = new FormData();
    form.append('file', new Blob(['{}\n']), 'no-purpose.jsonl');
    const noPurpose = await fetch(`${stack.baseUrl}/v1/files`, { method: 'POST', body: form, headers: auth(KEYS.alice) });
    expect(noPurpose.status).toBe(400);
    expect((await noPurpose.json()).error).toMatchObject({ param: 'purpose', type: 'invalid_request_error' });
    expect((await readdir(filesDir)).sort()).toEqual(before);
  });

  it('refuses a body that is not a multipart form with 400', async () => {
    const json = await http(stack.baseUrl, 'POST', '/v1/files', { purpose: 'batch', file: 'inline' }, auth(KEYS.alice));
    expect(json.status).toBe(400);
    expect(json.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('multipart/form-data') });
    const form = new FormData();
    form.append('purpose', 'batch');
    const noFile = await fetch(`${stack.baseUrl}/v1/files`, { method: 'POST', body: form, headers: auth(KEYS.alice) });
    expect(noFile.status).toBe(400);
    expect((await noFile.json()).error).toMatchObject({ param: 'file' });
    const twoFiles = new FormData();
    twoFiles.append('purpose', 'batch');
    twoFiles.append('file', new Blob(['1\n']), 'one.jsonl');
    twoFiles.append('file', new Blob(['2\n']), 'two.jsonl');
    const refused = await fetch(`${stack.baseUrl}/v1/files`, { method: 'POST', body: twoFiles, headers: auth(KEYS.alice) });
    expect(refused.status).toBe(400);
    expect(await leftovers(filesDir)).toEqual([]);
  });

  it('keeps nothing of an upload the client abandons midway', async () => {
    const boundary = 'llmo-abandoned';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.jsonl"\r\n\r\n`;
    const upload = request(`${stack.baseUrl}/v1/files`, {
      method: 'POST',
      headers: { ...auth(KEYS.alice), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + MAX_BYTES) },
    });
    upload.on('error', () => undefined);
    upload.write(head);
    upload.write('z'.repeat(1000));
    // The server has begun writing the file: a temp file exists until the abandonment is noticed.
    await until(async () => (await leftovers(filesDir)).length > 0);
    upload.destroy();
    await until(async () => (await leftovers(filesDir)).length === 0);
    expect((await alice.files.list()).data.map((f) => f.filename)).not.toContain('cut.jsonl');
  });

  it("answers another tenant's file as an unknown one, and lists only the caller's files", async () => {
    const file = await alice.files.create({ file: createReadStream(inputFile(batchLines(2))), purpose: 'batch' });
    const unknown = `file-${'0'.repeat(32)}`;
    for (const id of [file.id, unknown]) {
      const retrieve = await bob.files.retrieve(id).catch((e: unknown) => e);
      expect(retrieve).toBeInstanceOf(NotFoundError);
      expect((retrieve as NotFoundError).error).toEqual({ message: `no such file: ${id}`, type: 'invalid_request_error', param: null, code: 'not_found' });
      await expect(bob.files.content(id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(bob.files.delete(id)).rejects.toBeInstanceOf(NotFoundError);
    }
    const bobs = await bob.files.list();
    expect(bobs.data.map((f) => f.id)).not.toContain(file.id);
    expect((await alice.files.list()).data.map((f) => f.id)).toContain(file.id);
    // Not a file id at all: the same answer, and nothing outside FILES_DIR is looked at.
    const traversal = await http(stack.baseUrl, 'GET', '/v1/files/..%2Fkeys.yaml', undefined, auth(KEYS.alice));
    expect(traversal.status).toBe(404);
    // An admin sees every tenant's files.
    expect(await ops.files.retrieve(file.id)).toEqual(file);
    const everyone = (await ops.files.list()).data.map((f) => f.id);
    expect(everyone).toEqual(expect.arrayContaining([file.id, ...bobs.data.map((f) => f.id)]));
    // And the upload needs a key like everything else.
    const anonymous = await http(stack.baseUrl, 'GET', '/v1/files');
    expect(anonymous.status).toBe(401);
  });
});

describe('POST /v1/files while the queue is full', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-files-full-'));
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { FILES_DIR: dir, MAX_QUEUE_DEPTH: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('still uploads: a file enqueues no work, so backpressure does not apply', async () => {
    // No worker: the first job stays queued and fills the queue.
    expect((await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once', max_tokens: 2, cache: false })).status).toBe(202);
    expect((await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Twice', max_tokens: 2, cache: false })).status).toBe(503);
    const client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    const file = await client.files.create({ file: await toFile(Buffer.from('{}\n'), 'full.jsonl'), purpose: 'batch' });
    expect(file.bytes).toBe(3);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
