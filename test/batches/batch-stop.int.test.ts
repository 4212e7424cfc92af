import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { startWorkerService } from '../../worker/worker-service.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { chatLines, jsonlOf, tempDir, untilFinal, writeJsonl } from './support.ts';

/** Every custom_id of the input is in exactly one of the two files, once. */
function expectEachLineOnce(lines: string[], output: any[], errors: any[]): void {
  const ids = [...output, ...errors].map((line) => line.custom_id as string);
  expect(ids.length).toBe(lines.length);
  expect(new Set(ids)).toEqual(new Set(lines.map((line) => JSON.parse(line).custom_id as string)));
}

describe('a batch that stops before its last line', () => {
  let stack: TestStack;
  let client: OpenAI;
  let model: string;
  const tmp = tempDir();

  beforeAll(async () => {
    stack = await startStack({ env: { FILES_DIR: `${tmp.dir}/files`, BATCH_LINES_IN_FLIGHT: '8', CACHE_TTL_SECONDS: '0' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    model = stack.api.deps.modelId;
  });
  afterAll(async () => {
    await stack?.close();
    tmp.remove();
  });

  const start = async (name: string, lines: string[], window = '24h') => {
    const file = await client.files.create({ file: createReadStream(writeJsonl(tmp.dir, name, lines)), purpose: 'batch' });
    return await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: window as '24h' });
  };

  it('is cancelled: waiting lines are withdrawn, running ones finish, and the partial output is written', async () => {
    const lines = chatLines(200, { model, maxTokens: 48 });
    const created = await start('cancel.jsonl', lines);
    while ((await client.batches.retrieve(created.id)).request_counts!.completed < 5) await new Promise((resolve) => setTimeout(resolve, 50));
    const cancelling = await client.batches.cancel(created.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).toEqual(expect.any(Number));

    const batch = await untilFinal(client, created.id);
    expect(batch.status).toBe('cancelled');
    expect(batch.cancelled_at).toEqual(expect.any(Number));
    const output = await jsonlOf(client, batch.output_file_id!);
    const errors = await jsonlOf(client, batch.error_file_id!);
    expectEachLineOnce(lines, output, errors);
    expect(output.length).toBeGreaterThanOrEqual(5);
    expect(output.length).toBeLessThan(200);
    expect(output.every((line) => line.response.status_code === 200)).toBe(true);
    expect(errors.every((line) => line.response === null && line.error.code === 'batch_cancelled')).toBe(true);
    expect(batch.request_counts).toEqual({ total: 200, completed: output.length, failed: errors.length });
    // No line of it is left in the queue.
    const counts = await stack.api.queue.getJobCounts('wait', 'prioritized', 'active', 'delayed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    // Cancelling again is refused: it has ended.
    await expect(client.batches.cancel(created.id)).rejects.toMatchObject({ status: 409 });
  });

  it('expires when its completion window passes, with the lines that never ran as batch_expired', async () => {
    const lines = chatLines(300, { model, maxTokens: 48 });
    const created = await start('expire.jsonl', lines, '2s');
    expect(created.expires_at).toBe(created.created_at + 2);
    const batch = await untilFinal(client, created.id);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).toEqual(expect.any(Number));
    const output = await jsonlOf(client, batch.output_file_id!);
    const errors = await jsonlOf(client, batch.error_file_id!);
    expectEachLineOnce(lines, output, errors);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((line) => line.error?.code === 'batch_expired')).toBe(true);
    expect(batch.request_counts).toEqual({ total: 300, completed: output.length, failed: errors.length });
  });
});

describe('a batch whose input goes away, or that is cancelled before it runs', () => {
  let stack: TestStack;
  let client: OpenAI;
  const tmp = tempDir();

  beforeAll(async () => {
    // No worker: nothing runs, so every step of the batch is seen where the test puts it.
    stack = await startStack({ worker: false, env: { FILES_DIR: `${tmp.dir}/files`, BATCH_LINES_IN_FLIGHT: '4' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    tmp.remove();
  });

  const start = async (name: string, count: number) => {
    const lines = chatLines(count, { model: stack.api.deps.modelId });
    const file = await client.files.create({ file: createReadStream(writeJsonl(tmp.dir, name, lines)), purpose: 'batch' });
    return { file, batch: await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) };
  };

  it('fails, naming the deleted input, when its input file is deleted while lines wait', async () => {
    const { file, batch } = await start('deleted.jsonl', 20);
    while ((await client.batches.retrieve(batch.id)).status !== 'in_progress') await new Promise((resolve) => setTimeout(resolve, 50));
    await client.files.delete(file.id);
    // The 4 lines already in the queue run once a worker comes; the 16 never admitted went with the file.
    const worker = await startWorkerService(stack.config, stack.config.REDIS_URL!, createLogger('test', 'silent'));
    try {
      const done = await untilFinal(client, batch.id);
      expect(done.status).toBe('failed');
      expect(done.errors?.data).toEqual([expect.objectContaining({ code: 'input_file_deleted', param: 'input_file_id' })]);
      expect(await jsonlOf(client, done.output_file_id!)).toHaveLength(4);
      expect(done.request_counts).toEqual({ total: 20, completed: 4, failed: 0 });
    } finally {
      await worker.close(0);
    }
  });

  it('ends cancelled with empty files when cancelled before anything ran', async () => {
    const { batch } = await start('early.jsonl', 3);
    const cancelled = await client.batches.cancel(batch.id);
    expect(cancelled.status).toBe('cancelling');
    const done = await untilFinal(client, batch.id);
    expect(done.status).toBe('cancelled');
    expect(await jsonlOf(client, done.output_file_id!)).toEqual([]);
    const errors = await jsonlOf(client, done.error_file_id!);
    expect(errors.length).toBeLessThanOrEqual(3);
    expect(errors.every((line) => line.error.code === 'batch_cancelled')).toBe(true);
  });
});
