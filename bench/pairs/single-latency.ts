import type { LatencyReply } from '../baselines/llama-protocol.ts';
import { interleave, PROMPT, type BenchContext } from '../context.ts';
import { generateOnce, JsonClient } from '../load/http-client.ts';
import { targetCheck, type PairResult } from '../results.ts';
import { differenceFigure, figure, median, percentile, ratioFigure } from '../stats.ts';

const MAX_TOKENS = 32;
const WARMUP = 5;

/** Pair 1: one request at a time, `POST /api/v1/generate` against node-llama-cpp called in-process. */
export async function singleLatency(ctx: BenchContext): Promise<PairResult> {
  const { stack, llama, options } = ctx;
  const client = new JsonClient(stack.baseUrl, stack.headers);
  const body = { prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0, cache: false };
  const spec = { prompt: PROMPT, maxTokens: MAX_TOKENS, temperature: 0 };
  const tokens: { a: number[]; b: number[] } = { a: [], b: [] };
  try {
    for (let i = 0; i < WARMUP; i++) await generateOnce(client, body);
    await llama.call({ type: 'latency', count: WARMUP, ...spec });

    const rounds = await interleave(
      options.rounds,
      async () => {
        const ms: number[] = [];
        for (let i = 0; i < options.latencyRequests; i++) {
          const result = await generateOnce(client, body);
          ms.push(result.ms);
          tokens.a.push(result.tokens);
        }
        return ms;
      },
      async () => {
        const reply = await llama.call<LatencyReply>({ type: 'latency', count: options.latencyRequests, ...spec });
        tokens.b.push(...reply.tokens);
        return reply.ms;
      },
    );
    const a50 = figure(rounds.a.map((ms) => percentile(ms, 50)));
    const b50 = figure(rounds.b.map((ms) => percentile(ms, 50)));
    const a95 = figure(rounds.a.map((ms) => percentile(ms, 95)));
    const b95 = figure(rounds.b.map((ms) => percentile(ms, 95)));
    const overhead50 = differenceFigure(a50, b50);
    const ratio50 = ratioFigure(a50, b50);
    return {
      id: 1,
      title: 'Single request latency',
      columns: { a: 'orchestrator', b: 'node-llama-cpp' },
      available: true,
      rows: [
        { metric: 'latency p50', unit: 'ms', a: a50, b: b50, compare: { kind: 'difference', figure: overhead50 } },
        { metric: 'latency p95', unit: 'ms', a: a95, b: b95, compare: { kind: 'difference', figure: differenceFigure(a95, b95) } },
        { metric: 'latency p50, orchestrator ÷ node-llama-cpp', unit: 'ms', compare: { kind: 'ratio', figure: ratio50 } },
      ],
      // A small model's request is dominated by the fixed path (HTTP, queue, Redis); a large one's by its tokens.
      targets: [
        ctx.large
          ? targetCheck('latency p50 ≤ 101.5% of bare (overhead ≤ 1.5%)', 'p50 ratio', ratio50, '%', 101.5, 'lower', 100)
          : targetCheck('overhead ≤ 5 ms p50', 'p50 difference', overhead50, 'ms', 5, 'lower'),
      ],
      notes: [
        `${options.latencyRequests} sequential requests per side per round, after ${WARMUP} warm-up requests; ` +
          `prompt "${PROMPT}", max_tokens ${MAX_TOKENS}, temperature 0, cache off.`,
        `Tokens generated per request: orchestrator ${median(tokens.a)}, node-llama-cpp ${median(tokens.b)} (median).`,
        'Orchestrator: HTTP client → API → BullMQ → worker → pool thread → result back through QueueEvents; ' +
          'baseline: a fresh LlamaCompletion on a free sequence, history cleared afterwards, timed inside its process.',
      ],
    };
  } finally {
    client.close();
  }
}
