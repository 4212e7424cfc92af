/**
 * What a scrape costs as the queue grows: `npx tsx test/metrics/measure-scrape.ts`
 * (REDIS_URL, default redis://127.0.0.1:6379; uses and then deletes its own prefix).
 * Not a test: it prints figures for docs/metrics.md.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../../core/config.ts';
import type { JobData } from '../../core/job-contract.ts';
import { QUEUE_STATES } from '../../core/metrics/names.ts';
import { trackQueueState } from '../../core/metrics/queue-state.ts';
import { Metrics } from '../../core/metrics/registry.ts';
import { createQueue, GENERATE_JOB } from '../../core/queue.ts';

const config = loadConfig({ REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: `measure-${randomUUID().slice(0, 8)}` });
const connection = new Redis(config.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = createQueue(config, connection);
const metrics = new Metrics();
trackQueueState(queue, () => 'measure', metrics);
const data: JobData = { prompt: 'x', sampling: { max_tokens: 1, temperature: 0, top_p: 1, top_k: 0, stop: [] }, acceptedAt: 0 };

async function timeIt(label: string, runs: number, f: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 20; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))]!.toFixed(3);
  console.log(`${label}: median ${at(0.5)} ms, p95 ${at(0.95)} ms (${runs} runs)`);
}

try {
  for (const size of [0, 10_000, 100_000]) {
    let queued = (await queue.getJobCounts('prioritized')).prioritized ?? 0;
    while (queued < size) {
      await queue.addBulk(Array.from({ length: 1000 }, () => ({ name: GENERATE_JOB, data, opts: { priority: 5 } })));
      queued += 1000;
    }
    console.log(`-- ${queued} jobs prioritized`);
    await timeIt('getJobCounts of 7 states', 200, () => queue.getJobCounts(...QUEUE_STATES));
    await timeIt('whole /metrics text (process metrics, catalog, queue counts)', 200, () => metrics.render());
  }
} finally {
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
}
