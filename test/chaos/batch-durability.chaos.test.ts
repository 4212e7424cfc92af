import { createReadStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, sleep } from './support/cluster.ts';

const LINES = 500;

const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

describe('a 500-line batch through a worker kill, a kill of its API process, and a Redis restart', () => {
  let cluster: ChaosCluster;
  const workers: RoleProcess[] = [];

  beforeAll(async () => {
    // Production's lock settings (JOB_LOCK_MS 5 s): a killed coordinator's batch and a killed
    // worker's lines are taken over in seconds.
    cluster = await ChaosCluster.start({ CACHE_TTL_SECONDS: '0' });
    workers.push(await cluster.startWorker(), await cluster.startWorker());
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('completes with exactly one output or error line per custom_id', async () => {
    const filesDir = path.join(cluster.server.dir, 'files');
    const env = { FILES_DIR: filesDir };
    const first = await cluster.startApi(env);
    const clientOf = (baseUrl: string) => new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'not-needed', maxRetries: 5 });
    let client = clientOf(first.baseUrl);
    const model = (await client.models.list()).data[0]!.id;

    const input = path.join(cluster.server.dir, 'input.jsonl');
    const lines = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({ custom_id: `line-${i}`, method: 'POST', url: '/v1/completions', body: { model, prompt: `Once upon a time, tale ${i}`, max_tokens: 24, temperature: 0 } }),
    );
    writeFileSync(input, `${lines.join('\n')}\n`);
    const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions', completion_window: '24h' });
    // A second API process, which can take the batch over.
    const second = await cluster.startApi(env);

    const started = Date.now();
    const counts = async () => {
      const batch = await client.batches.retrieve(created.id);
      return { status: batch.status, done: batch.request_counts!.completed + batch.request_counts!.failed };
    };
    const untilDone = async (n: number) => {
      for (;;) {
        const now = await counts();
        if (now.done >= n || FINAL.has(now.status)) return now;
        await sleep(100);
      }
    };

    // 1. A worker dies mid-line; a new one replaces it.
    await untilDone(80);
    workers[0]!.child.kill('SIGKILL');
    workers.push(await cluster.startWorker());

    // 2. The API process coordinating the batch (the one that accepted it) dies; the other takes over.
    await untilDone(180);
    const coordinatorName = await cluster.redis.hget(`${cluster.prefix}:generate-batches:${created.id}`, 'pb');
    expect(coordinatorName).toContain(`-${first.proc.child.pid}`);
    client = clientOf(second.baseUrl);
    first.proc.child.kill('SIGKILL');
    const apiKilledAt = Date.now();
    const doneAtApiKill = (await counts()).done;
    for (;;) {
      const now = await counts();
      if (now.done > doneAtApiKill + 5 || FINAL.has(now.status)) break;
      await sleep(100);
    }
    const takeoverMs = Date.now() - apiKilledAt;

    // 3. Redis restarts (AOF): everything reconnects by itself.
    await untilDone(320);
    await cluster.server.kill('SIGTERM');
    await sleep(1000);
    await cluster.server.spawn();
    const redisBackAt = Date.now();

    let batch: OpenAI.Batches.Batch;
    for (;;) {
      batch = await client.batches.retrieve(created.id);
      if (FINAL.has(batch.status)) break;
      if (Date.now() - started > 240_000) throw new Error(`batch still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
      await sleep(250);
    }
    const finishedAt = Date.now();
    expect(batch.status).toBe('completed');

    const parse = async (id: string | null | undefined) =>
      id ? (await (await client.files.content(id)).text()).split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
    const output = await parse(batch.output_file_id);
    const errors = await parse(batch.error_file_id);
    const ids = [...output, ...errors].map((line: { custom_id: string }) => line.custom_id);
    const unique = new Set(ids);
    recordFigures('batch-durability', {
      lines: LINES,
      outputLines: output.length,
      errorLines: errors.length,
      duplicated: ids.length - unique.size,
      missing: LINES - unique.size,
      takeoverAfterApiKillMs: takeoverMs,
      finishedAfterRedisBackMs: finishedAt - redisBackAt,
      totalMs: finishedAt - started,
      requestCounts: batch.request_counts,
    });
    expect(ids.length).toBe(LINES);
    expect(unique.size).toBe(LINES);
    expect(errors).toEqual([]);
    expect(output.every((line: { response: { status_code: number } }) => line.response.status_code === 200)).toBe(true);
    expect(batch.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
  });
});
