import { interleave, PROMPT, type BenchContext } from '../context.ts';
import { hammer } from '../load/autocannon.ts';
import { JsonClient, type GenerateAnswer } from '../load/http-client.ts';
import { targetCheck, type PairResult } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import { peakMemoryDuring } from '../system.ts';

export interface CacheHitOutcome {
  pair: PairResult;
  /** Peak RSS (bytes) of the API in each round. */
  apiPeaks: number[];
}

/**
 * Pair 4: cache hits through the full API (auth when configured, validation, Redis lookup)
 * against bare Express answering the same bytes, both under autocannon with the same connections.
 */
export async function cacheHits(ctx: BenchContext): Promise<CacheHitOutcome> {
  const { stack, options } = ctx;
  const body = { prompt: PROMPT, max_tokens: 32, temperature: 0 };
  const client = new JsonClient(stack.baseUrl, stack.headers);
  let hit: GenerateAnswer;
  try {
    await client.post('/api/v1/generate', body);
    const answer = await client.post<GenerateAnswer>('/api/v1/generate', body);
    if (answer.status !== 200 || answer.body.cached !== true) throw new Error(`the second identical request was not a cache hit: ${JSON.stringify(answer.body)}`);
    hit = answer.body;
  } finally {
    client.close();
  }
  const express = await ctx.startBaseline<never>('./express-constant.ts', { BENCH_CONSTANT_BODY: JSON.stringify(hit) });
  const bareUrl = `http://127.0.0.1:${String(express.info.port)}/api/v1/generate`;
  const apiUrl = `${stack.baseUrl}/api/v1/generate`;
  const apiPeaks: number[] = [];
  try {
    const warm = 1000;
    await hammer(apiUrl, body, stack.headers, options.connections, warm);
    await hammer(bareUrl, body, stack.headers, options.connections, warm);
    const rounds = await interleave(
      options.rounds,
      async () => {
        const { value, peaks } = await peakMemoryDuring({ api: stack.api.child.pid }, () =>
          hammer(apiUrl, body, stack.headers, options.connections, options.durationMs),
        );
        apiPeaks.push(peaks.api?.rss ?? Number.NaN);
        return value;
      },
      () => hammer(bareUrl, body, stack.headers, options.connections, options.durationMs),
    );
    const rate = { a: figure(rounds.a.map((r) => r.requestsPerSecond)), b: figure(rounds.b.map((r) => r.requestsPerSecond)) };
    const p50 = { a: figure(rounds.a.map((r) => r.p50)), b: figure(rounds.b.map((r) => r.p50)) };
    const p99 = { a: figure(rounds.a.map((r) => r.p99)), b: figure(rounds.b.map((r) => r.p99)) };
    const ratio = ratioFigure(rate.a, rate.b);
    return {
      apiPeaks,
      pair: {
        id: 4,
        title: 'Cache hits',
        columns: { a: 'orchestrator API', b: 'bare Express' },
        available: true,
        rows: [
          { metric: 'throughput', unit: 'requests/s', ...rate, compare: { kind: 'ratio', figure: ratio } },
          { metric: 'latency p50', unit: 'ms', ...p50, compare: { kind: 'ratio', figure: ratioFigure(p50.a, p50.b) } },
          { metric: 'latency p99', unit: 'ms', ...p99, compare: { kind: 'ratio', figure: ratioFigure(p99.a, p99.b) } },
        ],
        targets: [targetCheck('requests/s ≥ 60% of bare Express', 'ratio', ratio, '%', 60, 'higher', 100)],
        notes: [
          `autocannon, ${options.connections} connections, ${Math.max(1, Math.round(options.durationMs / 1000))} s per round, POST /api/v1/generate ` +
            `(prompt "${PROMPT}", max_tokens 32, temperature 0: every answer a cache hit).`,
          `Orchestrator: the full middleware chain (request id, metrics, ${Object.keys(stack.headers).length > 0 ? 'API key check, ' : ''}rate limit), JSON body, zod validation, cache key (sha256), Redis GET. ` +
            `Bare Express: express.json() and res.json() of the same ${JSON.stringify(hit).length}-byte answer.`,
        ],
      },
    };
  } finally {
    await express.stop();
  }
}
