import { createReadStream } from 'node:fs';
import { QueueEvents, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationResult } from '../../core/job-contract.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { chatLines, tempDir, untilFinal, writeJsonl } from './support.ts';

const LINES = 2000;
const INTERACTIVE = 60;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

describe('interactive requests while a batch runs', () => {
  let stack: TestStack;
  let client: OpenAI;
  let events: QueueEvents;
  let connection: Redis;
  const tmp = tempDir();
  /** generation_ms of every job that completed, by job id, as its result reports it. */
  const generationMs = new Map<string, number>();

  beforeAll(async () => {
    stack = await startStack({ env: { FILES_DIR: `${tmp.dir}/files`, CACHE_TTL_SECONDS: '0' } });
    client = new OpenAI({ baseURL: `${stack.baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 0 });
    connection = new Redis(stack.config.REDIS_URL!, { maxRetriesPerRequest: null });
    events = new QueueEvents(stack.config.QUEUE_NAME, { connection: connection as ConnectionOptions, prefix: stack.config.REDIS_PREFIX });
    events.on('completed', ({ jobId, returnvalue }) => {
      const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as GenerationResult;
      generationMs.set(jobId, result.timings.generation_ms);
    });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    await connection?.quit();
    await stack?.close();
    tmp.remove();
  });

  it(`wait no longer than the longest batch line runs, plus 20 ms (p95, ${INTERACTIVE} requests during ${LINES} lines)`, async () => {
    const model = stack.api.deps.modelId;
    const lines = chatLines(LINES, { model, maxTokens: 16 });
    const file = await client.files.create({ file: createReadStream(writeJsonl(tmp.dir, 'big.jsonl', lines)), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    while ((await client.batches.retrieve(batch.id)).request_counts!.completed < 50) await new Promise((resolve) => setTimeout(resolve, 50));

    const interactive = new Map<string, number>();
    for (let i = 0; i < INTERACTIVE; i += 1) {
      // Arrive at any point of a running line.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      const response = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: `Interactive ${i}: once upon a time`, max_tokens: 8, cache: false, timeout_ms: 30_000 });
      expect(response.status).toBe(200);
      interactive.set(response.body.id, response.body.timings.queued_ms);
    }
    const during = await client.batches.retrieve(batch.id);
    // The interactive requests all ran while the batch still had lines to run.
    expect(during.status).toBe('in_progress');
    expect(during.request_counts!.completed).toBeLessThan(LINES);

    const done = await untilFinal(client, batch.id, 600_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });

    const batchLines = [...generationMs].filter(([id]) => !interactive.has(id)).map(([, ms]) => ms);
    expect(batchLines.length).toBeGreaterThanOrEqual(LINES);
    const longestLine = Math.max(...batchLines);
    const p95 = percentile([...interactive.values()], 95);
    console.info(
      `interactive queued_ms during a ${LINES}-line batch: p50 ${percentile([...interactive.values()], 50)} ms, p95 ${p95} ms, max ${Math.max(...interactive.values())} ms; ` +
        `batch line generation_ms: p50 ${percentile(batchLines, 50)} ms, max ${longestLine} ms`,
    );
    expect(p95).toBeLessThanOrEqual(longestLine + 20);
  }, 900_000);
});
