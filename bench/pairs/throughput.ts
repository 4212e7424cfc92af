import type { ThroughputReply } from '../baselines/llama-protocol.ts';
import { interleave, PROMPT, type BenchContext } from '../context.ts';
import { closedLoop } from '../load/closed-loop.ts';
import { generateOnce, JsonClient } from '../load/http-client.ts';
import { targetCheck, type PairResult, type Row, type TargetCheck } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import { contextsOf, peakMemoryDuring, settingsLabel, type ProcessMemory, type SystemStack } from '../system.ts';

export const THROUGHPUT_MAX_TOKENS = 64;

/** Tokens/s of the whole system with `clients` closed-loop HTTP clients for `durationMs`. */
export async function systemTokensPerSecond(stack: SystemStack, clients: number, durationMs: number, client?: JsonClient) {
  const http = client ?? new JsonClient(stack.baseUrl, stack.headers);
  const body = { prompt: PROMPT, max_tokens: THROUGHPUT_MAX_TOKENS, temperature: 0, cache: false };
  try {
    const run = await closedLoop(clients, durationMs, () => generateOnce(http, body));
    return (run.tokens * 1000) / run.elapsedMs;
  } finally {
    if (!client) http.close();
  }
}

export interface ThroughputOutcome {
  pair: PairResult;
  /** Peak RSS and PSS of each round at the highest client count: the API, the worker and the bare engine's process. */
  peaks: { api: ProcessMemory[]; worker: ProcessMemory[]; bare: ProcessMemory[] };
}

/** Pair 2: generated tokens/s under 1, 4 and 16 concurrent clients, system against bare node-llama-cpp. */
export async function throughput(ctx: BenchContext): Promise<ThroughputOutcome> {
  const { stack, llama, options } = ctx;
  const client = new JsonClient(stack.baseUrl, stack.headers);
  const spec = { prompt: PROMPT, maxTokens: THROUGHPUT_MAX_TOKENS, temperature: 0 };
  const rows: Row[] = [];
  const targets: TargetCheck[] = [];
  const peaks: ThroughputOutcome['peaks'] = { api: [], worker: [], bare: [] };
  const none = { rss: Number.NaN, pss: Number.NaN };
  const bound = ctx.large ? 97 : 90;
  const topClients = Math.max(...options.clients);
  try {
    for (const clients of options.clients) {
      ctx.log(`pair 2: ${clients} client(s)`);
      const rounds = await interleave(
        options.rounds,
        async () => {
          if (clients !== topClients) return await systemTokensPerSecond(stack, clients, options.durationMs, client);
          const pids = { api: stack.api.child.pid, worker: stack.worker.child.pid };
          const { value, peaks: peak } = await peakMemoryDuring(pids, () => systemTokensPerSecond(stack, clients, options.durationMs, client));
          peaks.api.push(peak.api ?? none);
          peaks.worker.push(peak.worker ?? none);
          return value;
        },
        async () => {
          const run = () => llama.call<ThroughputReply>({ type: 'throughput', clients, durationMs: options.durationMs, ...spec });
          if (clients !== topClients) {
            const reply = await run();
            return (reply.tokens * 1000) / reply.elapsedMs;
          }
          const { value: reply, peaks: peak } = await peakMemoryDuring({ bare: llama.pid }, run);
          peaks.bare.push(peak.bare ?? none);
          return (reply.tokens * 1000) / reply.elapsedMs;
        },
      );
      const a = figure(rounds.a);
      const b = figure(rounds.b);
      const ratio = ratioFigure(a, b);
      rows.push({ metric: `${clients} client${clients === 1 ? '' : 's'}`, unit: 'tokens/s', a, b, compare: { kind: 'ratio', figure: ratio } });
      targets.push(targetCheck(`tokens/s ≥ ${bound}% of bare (${clients} client${clients === 1 ? '' : 's'})`, 'ratio', ratio, '%', bound, 'higher', 100));
    }
  } finally {
    client.close();
  }
  const { sequences } = stack.settings;
  return {
    peaks,
    pair: {
      id: 2,
      title: 'Throughput under load',
      columns: { a: 'orchestrator', b: 'node-llama-cpp' },
      available: true,
      rows,
      targets,
      notes: [
        `Closed-loop clients for ${options.durationMs} ms per round; max_tokens ${THROUGHPUT_MAX_TOKENS}, temperature 0, cache off; ` +
          'tokens/s = completion tokens of finished requests ÷ time until the last one finished.',
        `Both sides: ${settingsLabel(stack.settings, Number(llama.info.threads))} (pool threads × contexts × sequences); ` +
          `the baseline: ${contextsOf(stack.settings)} context(s) × ${sequences} sequence(s) on one copy of the model, in one process, and it queues its clients for a free sequence as the orchestrator queues jobs.`,
      ],
    },
  };
}
