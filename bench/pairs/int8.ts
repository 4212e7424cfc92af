import type { LlamaCommand, ThroughputReply } from '../baselines/llama-protocol.ts';
import { interleave, PROMPT, type BenchContext } from '../context.ts';
import type { BenchModel } from '../model.ts';
import type { PairResult, Row } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import { THROUGHPUT_MAX_TOKENS } from './throughput.ts';

const TITLE = 'INT8 (Q8_0 vs F32)';

/**
 * Pair 6: the same engine (bare node-llama-cpp, default threads and sequences) on the F32 model
 * and on the project's own Q8_0 copy of it, rounds interleaved.
 */
export async function int8(ctx: BenchContext, model: BenchModel, settings: { contexts: number; sequences: number; threads: number; contextSize: number }): Promise<PairResult> {
  if (!model.quantizedFrom) {
    const reason = `the model is served as it is (${model.quantization}); the pair needs a float model that the system quantizes`;
    return { id: 6, title: TITLE, columns: { a: 'Q8_0', b: 'F32' }, available: false, rows: [], targets: [], notes: [`Not available: ${reason}.`] };
  }
  const start = (model: string) =>
    ctx.startBaseline<LlamaCommand>('./llama-baseline.ts', {
      BENCH_MODEL_PATH: model,
      BENCH_CONTEXTS: String(settings.contexts),
      BENCH_SEQUENCES: String(settings.sequences),
      BENCH_THREADS: String(settings.threads),
      BENCH_CONTEXT_SIZE: String(settings.contextSize),
    });
  const q8 = ctx.llama;
  const f32 = await start(model.quantizedFrom);
  try {
    const rows: Row[] = [];
    const spec = { prompt: PROMPT, maxTokens: THROUGHPUT_MAX_TOKENS, temperature: 0 };
    for (const engine of [q8, f32]) await engine.call({ type: 'latency', count: 5, ...spec });
    for (const clients of [1, Math.max(...ctx.options.clients)]) {
      const measure = async (engine: typeof q8) => {
        const reply = await engine.call<ThroughputReply>({ type: 'throughput', clients, durationMs: ctx.options.durationMs, ...spec });
        return (reply.tokens * 1000) / reply.elapsedMs;
      };
      const rounds = await interleave(ctx.options.rounds, () => measure(q8), () => measure(f32));
      const a = figure(rounds.a);
      const b = figure(rounds.b);
      rows.push({ metric: `${clients} client${clients === 1 ? '' : 's'}`, unit: 'tokens/s', a, b, compare: { kind: 'ratio', figure: ratioFigure(a, b) } });
    }
    return {
      id: 6,
      title: TITLE,
      columns: { a: 'Q8_0', b: 'F32' },
      available: true,
      rows,
      targets: [],
      notes: [
        `Bare node-llama-cpp on each file (${settings.contexts} context(s) × ${settings.sequences} sequence(s), ${settings.threads} llama.cpp thread(s) each), max_tokens ${THROUGHPUT_MAX_TOKENS}, ` +
          `temperature 0, ${ctx.options.durationMs} ms per round, closed-loop clients.`,
        `Q8_0: the copy the system made with the project's quantizer (${(model.sizeBytes / 1024 / 1024).toFixed(2)} MiB), loaded by ` +
          'the baseline process of pairs 1 and 2; F32: the original file, in a second baseline process.',
      ],
    };
  } finally {
    await f32.stop();
  }
}
