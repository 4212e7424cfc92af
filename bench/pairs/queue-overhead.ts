import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../core/config.ts';
import { defaultJobOptions } from '../../core/queue.ts';
import type { ThroughputReply } from '../baselines/llama-protocol.ts';
import { interleaveMany, PROMPT, type BenchContext } from '../context.ts';
import { closedLoop } from '../load/closed-loop.ts';
import { generateOnce, JsonClient } from '../load/http-client.ts';
import { formatFigure } from '../report/format.ts';
import { contextsOf } from '../system.ts';
import { targetCheck, type PairResult } from '../results.ts';
import { figure, percentile, ratioFigure } from '../stats.ts';

const NOOP_QUEUE = 'noop';
const NOOP_PREFIX = 'bench-noop';

interface Measured {
  jobsPerSecond: number;
  p50: number;
  p95: number;
}

/**
 * Pair 3: `max_tokens: 1` through the whole orchestrator against a bare BullMQ queue whose worker
 * does nothing: same Redis, same worker concurrency, same job options (attempts, retention), same clients.
 */
export async function queueOverhead(ctx: BenchContext): Promise<PairResult> {
  const { stack, options, redisUrl } = ctx;
  const defaults = loadConfig({});
  // The system's worker takes its sequences plus the jobs it prefetches; the bare worker gets as many.
  const concurrency = stack.settings.poolThreads * ((stack.settings.contexts ?? 1) * stack.settings.sequences + defaults.PREFETCH_PER_THREAD);
  const worker = await ctx.startBaseline<never>('./bullmq-noop-worker.ts', {
    BENCH_REDIS_URL: redisUrl,
    BENCH_QUEUE: NOOP_QUEUE,
    BENCH_PREFIX: NOOP_PREFIX,
    BENCH_CONCURRENCY: String(concurrency),
  });
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(NOOP_QUEUE, {
    connection: connection as ConnectionOptions,
    prefix: NOOP_PREFIX,
    defaultJobOptions: defaultJobOptions(defaults),
  });
  const events = new QueueEvents(NOOP_QUEUE, { connection: connection as ConnectionOptions, prefix: NOOP_PREFIX });
  await events.waitUntilReady();
  const client = new JsonClient(stack.baseUrl, stack.headers);
  const body = { prompt: PROMPT, max_tokens: 1, temperature: 0, cache: false };

  const bareJob = async () => {
    const started = performance.now();
    const job = await queue.add('noop', { prompt: PROMPT });
    await job.waitUntilFinished(events, 30_000);
    return { ms: performance.now() - started, tokens: 0 };
  };
  const spec = { prompt: PROMPT, maxTokens: 1, temperature: 0 };
  const measure = async (call: () => Promise<{ ms: number; tokens: number }>): Promise<Measured> => {
    const run = await closedLoop(options.queueClients, options.durationMs, call);
    return { jobsPerSecond: (run.requests * 1000) / run.elapsedMs, p50: percentile(run.latencies, 50), p95: percentile(run.latencies, 95) };
  };
  try {
    for (let i = 0; i < 20; i++) {
      await generateOnce(client, body);
      await bareJob();
    }
    await ctx.llama.call({ type: 'latency', count: 20, ...spec });
    // The engine alone on the same work bounds what any orchestrator of it could reach.
    const engine = async () => {
      const reply = await ctx.llama.call<ThroughputReply>({ type: 'throughput', clients: options.queueClients, durationMs: options.durationMs, ...spec });
      return (reply.requests * 1000) / reply.elapsedMs;
    };
    const [systemRounds, bareRounds, engineRounds] = await interleaveMany<Measured | number>(options.rounds, [
      () => measure(() => generateOnce(client, body)),
      () => measure(bareJob),
      engine,
    ]);
    const rounds = { a: (systemRounds ?? []) as Measured[], b: (bareRounds ?? []) as Measured[] };
    const engineRate = figure((engineRounds ?? []) as number[]);
    const rate = { a: figure(rounds.a.map((r) => r.jobsPerSecond)), b: figure(rounds.b.map((r) => r.jobsPerSecond)) };
    const p50 = { a: figure(rounds.a.map((r) => r.p50)), b: figure(rounds.b.map((r) => r.p50)) };
    const p95 = { a: figure(rounds.a.map((r) => r.p95)), b: figure(rounds.b.map((r) => r.p95)) };
    const ratio = ratioFigure(rate.a, rate.b);
    return {
      id: 3,
      title: 'Queue overhead',
      columns: { a: 'orchestrator, max_tokens 1', b: 'bare BullMQ no-op' },
      available: true,
      rows: [
        { metric: 'throughput', unit: 'jobs/s', ...rate, compare: { kind: 'ratio', figure: ratio } },
        { metric: 'enqueue→complete p50', unit: 'ms', ...p50, compare: { kind: 'ratio', figure: ratioFigure(p50.a, p50.b) } },
        { metric: 'enqueue→complete p95', unit: 'ms', ...p95, compare: { kind: 'ratio', figure: ratioFigure(p95.a, p95.b) } },
      ],
      targets: [targetCheck('max_tokens 1: jobs/s ≥ 50% of the engine alone', 'ratio', ratioFigure(rate.a, engineRate), '%', 50, 'higher', 100)],
      notes: [
        `${options.queueClients} closed-loop clients for ${options.durationMs} ms per round; worker concurrency ${concurrency} on both sides.`,
        'Orchestrator: `POST /api/v1/generate` with max_tokens 1, temperature 0, cache off, timed at the HTTP client. ' +
          'Bare: `queue.add` + `job.waitUntilFinished` (QueueEvents) in the bench process, a Worker returning null in another process.',
        `Reference, in the same rounds: node-llama-cpp alone doing the same one-token generations (${options.queueClients} clients, ` +
          `${contextsOf(stack.settings)} context(s) × ${stack.settings.sequences} sequence(s)) runs ${formatFigure(engineRate, 'jobs/s')} jobs/s, ` +
          `${formatFigure(ratioFigure(engineRate, rate.b), '%', { scale: 100 })} of the bare BullMQ figure: ` +
          'no orchestrator of this engine can exceed that ratio on this machine.',
        `Orchestrator ÷ engine alone: ${formatFigure(ratioFigure(rate.a, engineRate), '%', { scale: 100 })}.`,
      ],
    };
  } finally {
    client.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await connection.quit();
    await worker.stop();
  }
}
