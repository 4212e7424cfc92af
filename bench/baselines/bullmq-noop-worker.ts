/**
 * The baseline worker of pair 3: a bare BullMQ Worker whose processor does nothing, on the same
 * Redis, with the orchestrator's concurrency. Settings: BENCH_REDIS_URL, BENCH_PREFIX, BENCH_QUEUE, BENCH_CONCURRENCY.
 */
import { Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { serveBaseline } from './child.ts';

const connection = new Redis(process.env.BENCH_REDIS_URL ?? '', { maxRetriesPerRequest: null });
const worker = new Worker(process.env.BENCH_QUEUE ?? 'noop', async () => null, {
  connection: connection as ConnectionOptions,
  prefix: process.env.BENCH_PREFIX ?? 'bench-noop',
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
});
await worker.waitUntilReady();
serveBaseline(async () => null);
