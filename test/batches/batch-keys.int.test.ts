import { createReadStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanKeys, startStack, type TestStack } from '../support/stack.ts';
import { chatLines, tempDir, untilFinal, writeJsonl } from './support.ts';

const LINES = 200;
const RETENTION_SECONDS = 600;

/**
 * Every key a batch writes has an end (docs/redis.md): while it runs the keys are its record, its
 * lines in the queue, its tenant's list, the live set and its coordinator's job; once it ends only
 * its record (expiring) and its list entry stay, and its lines leave no job, stream or scratch log.
 */
describe('the Redis keys of a batch', () => {
  let stack: TestStack;
  let client: OpenAI;
  const tmp = tempDir();

  beforeAll(async () => {
    stack = await startStack({ env: { FILES_DIR: path.join(tmp.dir, 'files'), BATCH_RETENTION_SECONDS: String(RETENTION_SECONDS), CACHE_TTL_SECONDS: '0' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    tmp.remove();
  });

  const keysOf = async () => {
    const all: string[] = [];
    for await (const keys of scanKeys(stack.redis, stack.config.REDIS_PREFIX)) all.push(...keys);
    return all;
  };

  it('are its record, its lines and its coordinator while it runs, and only its expiring record once it ends', async () => {
    const { REDIS_PREFIX: prefix, QUEUE_NAME: queue } = stack.config;
    const lines = chatLines(LINES, { model: stack.api.deps.modelId, maxTokens: 24 });
    const file = await client.files.create({ file: createReadStream(writeJsonl(tmp.dir, 'keys.jsonl', lines)), purpose: 'batch' });
    const { id } = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    while ((await client.batches.retrieve(id)).request_counts!.completed < 20) await new Promise((resolve) => setTimeout(resolve, 20));

    const record = `${prefix}:batch:${id}`;
    const lineTable = `${prefix}:batch-lines:${id}`;
    const list = `${prefix}:batches:anonymous`;
    const live = `${prefix}:batches-live`;
    const running = new Set(await keysOf());
    for (const key of [record, lineTable, list, live, `${prefix}:${queue}-batches:${id}`]) expect(running.has(key), key).toBe(true);
    const sizes = Object.fromEntries(await Promise.all([record, lineTable, list, live].map(async (key) => [key.slice(prefix.length + 1).split(':')[0], await stack.redis.memory('USAGE', key)])));
    const entries = await stack.redis.hlen(lineTable);
    console.info(`MEMORY USAGE while running (bytes): ${JSON.stringify(sizes)}; ${entries} lines in the queue`);
    // Batch lines write no token stream.
    expect([...running].filter((key) => key.startsWith(`${prefix}:stream:`))).toEqual([]);

    const batch = await untilFinal(client, id);
    expect(batch.status).toBe('completed');
    const after = await keysOf();
    expect(after).toContain(record);
    expect(after).toContain(list);
    expect(after).not.toContain(lineTable);
    expect(await stack.redis.hexists(live, id)).toBe(0);
    const ttl = await stack.redis.ttl(record);
    expect(ttl).toBeGreaterThan(RETENTION_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(RETENTION_SECONDS);
    // The coordinator's job is gone, and so is every line's job: the batch's results are in its files.
    expect(after.filter((key) => key.startsWith(`${prefix}:${queue}-batches:${id}`))).toEqual([]);
    const jobKeys = after.filter((key) => new RegExp(`^${prefix}:${queue}:[0-9a-f-]{36}$`).test(key));
    expect(jobKeys).toEqual([]);
    expect(await stack.redis.zcard(`${prefix}:${queue}:completed`)).toBe(0);
    // The scratch log went with the batch.
    const scratch = path.join(tmp.dir, 'files', 'scratch');
    expect(existsSync(scratch) ? readdirSync(scratch) : []).toEqual([]);
    console.info(`MEMORY USAGE of the record once finished: ${await stack.redis.memory('USAGE', record)} bytes`);
  });
});
