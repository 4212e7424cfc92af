import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { chatLines, jsonlOf, tempDir, untilFinal, writeJsonl } from './support.ts';

describe('the Batch API with the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  const tmp = tempDir();

  beforeAll(async () => {
    stack = await startStack({ env: { FILES_DIR: `${tmp.dir}/files` } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
    tmp.remove();
  });

  const upload = async (name: string, lines: string[]) =>
    await client.files.create({ file: createReadStream(writeJsonl(tmp.dir, name, lines)), purpose: 'batch' });

  it('runs every line of a chat batch and answers each custom_id with what the endpoint answers', async () => {
    // Lines 0-2 ask the same thing: they share one job (or the cache), and still get a line each.
    const lines = chatLines(30, { model, prompt: (i) => (i < 3 ? 'Tell me about a cat.' : `Tell me story number ${i}.`) });
    const file = await upload('chat.jsonl', lines);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'one' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, metadata: { run: 'one' } });
    expect(created.id).toMatch(/^batch_/);

    const batch = await untilFinal(client, created.id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
    for (const stamp of ['created_at', 'in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(batch[stamp]).toEqual(expect.any(Number));
    expect(batch.output_file_id).toMatch(/^file-/);
    expect(batch.error_file_id).toMatch(/^file-/);

    const output = await jsonlOf(client, batch.output_file_id!);
    expect(output.map((line) => line.custom_id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i}`).sort());
    expect(await jsonlOf(client, batch.error_file_id!)).toEqual([]);
    for (const line of output) {
      expect(line).toMatchObject({ id: expect.stringMatching(/^batch_req_/), response: { status_code: 200, request_id: expect.any(String) }, error: null });
      expect(line.response.body).toMatchObject({ object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant' } }] });
    }
    // The body is the synchronous endpoint's answer to the same request (ids and times aside).
    const third = output.find((line) => line.custom_id === 'r-7');
    const direct = await client.chat.completions.create(JSON.parse(lines[7]!).body);
    const { id: _a, created: _b, ...fromBatch } = third.response.body;
    const { id: _c, created: _d, ...fromEndpoint } = direct as unknown as Record<string, unknown>;
    expect(fromBatch).toEqual(fromEndpoint);
    const same = output.filter((line) => ['r-0', 'r-1', 'r-2'].includes(line.custom_id));
    expect(new Set(same.map((line) => line.response.body.choices[0].message.content)).size).toBe(1);

    const metrics = (await http(stack.baseUrl, 'GET', '/metrics')).body as string;
    expect(Number(/^llmo_batch_lines_total\{outcome="completed"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(30);
    expect(metrics).toMatch(/^llmo_batches_finished_total\{state="completed"\} [1-9]/m);
    expect(metrics).toMatch(/^llmo_batches\{state="in_progress"\} \d+/m);
  });

  it('fails a malformed file in validation, naming each bad line', async () => {
    const [good, second] = chatLines(2, { model });
    const lines = [
      good!,
      '{not json',
      JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/completions', body: { model, prompt: 'a' } }),
      JSON.stringify({ ...JSON.parse(second!), custom_id: 'r-0' }),
      JSON.stringify({ custom_id: 'y', method: 'POST', url: '/v1/chat/completions', body: { model, messages: [], max_tokens: -1 } }),
      // A line is one job, so one choice.
      JSON.stringify({ custom_id: 'z', method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: 'a' }], n: 2 } }),
    ];
    const file = await upload('bad.jsonl', lines);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const batch = await untilFinal(client, created.id);
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).toEqual(expect.any(Number));
    const errors = batch.errors?.data ?? [];
    expect(errors.map((error) => [error.line, error.code])).toEqual([
      [2, 'invalid_json_line'],
      [3, 'mismatched_url'],
      [4, 'duplicate_custom_id'],
      [5, 'invalid_value'],
      [6, 'unsupported_value'],
    ]);
    expect(errors.every((error) => typeof error.message === 'string' && error.message.length > 0)).toBe(true);
  });

  it('refuses bad requests with OpenAI-shaped 4xx errors', async () => {
    const file = await upload('ok.jsonl', chatLines(1, { model }));
    const cases: [unknown, number, string][] = [
      [{ input_file_id: 'file-00000000000000000000000000000000', endpoint: '/v1/chat/completions', completion_window: '24h' }, 404, 'not_found'],
      [{ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }, 400, 'invalid_value'],
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: 'tomorrow' }, 400, 'invalid_value'],
      [{ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', extra: 1 }, 400, 'unknown_parameter'],
    ];
    for (const [body, status, code] of cases) {
      const response = await http(stack.baseUrl, 'POST', '/v1/batches', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error).toMatchObject({ code, message: expect.any(String) });
    }
    expect((await http(stack.baseUrl, 'GET', '/v1/batches/batch_nope')).status).toBe(404);
    expect((await http(stack.baseUrl, 'POST', '/v1/batches/batch_00000000000000000000000000000000/cancel')).status).toBe(404);
  });

  it('lists batches newest first, a page at a time', async () => {
    const file = await upload('list.jsonl', chatLines(1, { model }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    const first = await http(stack.baseUrl, 'GET', '/v1/batches?limit=2');
    expect(first.body.data.map((b: { id: string }) => b.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await http(stack.baseUrl, 'GET', `/v1/batches?limit=2&after=${first.body.last_id}`);
    expect(second.body.data[0].id).toBe(ids[0]);
    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all.slice(0, 3)).toEqual([ids[2], ids[1], ids[0]]);
    for (const id of ids) await untilFinal(client, id);
  });
});

describe('batches of tenants', () => {
  let stack: TestStack;
  const tmp = tempDir();
  const KEYS = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdef00' };
  const clientOf = (key: string) => new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: key, maxRetries: 0 });

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { FILES_DIR: `${tmp.dir}/files`, API_KEYS: `alice=${KEYS.alice},bob=${KEYS.bob}` } });
  });
  afterAll(async () => {
    await stack?.close();
    tmp.remove();
  });

  it("belong to the tenant of their input file: another tenant can neither see, list, cancel nor start one on it", async () => {
    const alice = clientOf(KEYS.alice);
    const bob = clientOf(KEYS.bob);
    const path = writeJsonl(tmp.dir, 'alice.jsonl', chatLines(2, { model: stack.api.deps.modelId }));
    const file = await alice.files.create({ file: createReadStream(path), purpose: 'batch' });
    const batch = await alice.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect((await alice.batches.retrieve(batch.id)).id).toBe(batch.id);
    await expect(bob.batches.retrieve(batch.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.batches.cancel(batch.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({ status: 404 });
    const bobs: string[] = [];
    for await (const item of bob.batches.list()) bobs.push(item.id);
    expect(bobs).toEqual([]);
    const alices: string[] = [];
    for await (const item of alice.batches.list()) alices.push(item.id);
    expect(alices).toEqual([batch.id]);
    expect((await alice.batches.cancel(batch.id)).status).toBe('cancelling');
  });
});
