import os from 'node:os';
import { interleaveMany, type BenchContext } from '../context.ts';
import type { PairResult, Row } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import type { SystemStack } from '../system.ts';
import { systemTokensPerSecond, THROUGHPUT_MAX_TOKENS } from './throughput.ts';

const label = (s: SystemStack['settings']) => `${s.poolThreads}×${s.sequences}`;

/** Pair 5: aggregate tokens/s of the system for pool threads × sequences, each its own stack, rounds interleaved. */
export async function settingsTable(ctx: BenchContext): Promise<PairResult> {
  const { options, stack } = ctx;
  const clients = Math.max(...options.clients);
  const stacks: SystemStack[] = [];
  const started: SystemStack[] = [];
  try {
    for (const { poolThreads, sequences } of options.settings) {
      const same = poolThreads === stack.settings.poolThreads && sequences === stack.settings.sequences;
      if (same) {
        stacks.push(stack);
        continue;
      }
      const extra = await ctx.startStack(`s${poolThreads}x${sequences}`, { poolThreads, sequences, llamaThreads: options.llamaThreads });
      started.push(extra);
      stacks.push(extra);
    }
    for (const s of started) await systemTokensPerSecond(s, clients, Math.min(1000, options.durationMs));
    const perStack = await interleaveMany(
      options.rounds,
      stacks.map((s) => () => systemTokensPerSecond(s, clients, options.durationMs)),
    );
    const figures = perStack.map((values) => figure(values));
    const defaultIndex = stacks.indexOf(stack);
    const reference = figures[defaultIndex];
    const rows: Row[] = stacks.map((s, i) => ({
      metric: `${label(s.settings)}${s === stack ? ' (default)' : ''}`,
      unit: 'tokens/s',
      a: figures[i],
      ...(reference ? { compare: { kind: 'ratio' as const, figure: ratioFigure(figures[i] ?? figure([]), reference) } } : {}),
    }));
    const best = stacks.reduce((bestIndex, _s, i) => ((figures[i]?.median ?? 0) > (figures[bestIndex]?.median ?? 0) ? i : bestIndex), 0);
    const cores = os.availableParallelism();
    return {
      id: 5,
      title: 'Thread/sequence settings',
      columns: { a: 'orchestrator' },
      available: true,
      rows,
      targets: [],
      notes: [
        `${clients} closed-loop clients, max_tokens ${THROUGHPUT_MAX_TOKENS}, ${options.durationMs} ms per round; ` +
          `llama.cpp threads per pool thread: ${options.llamaThreads ?? `cores ÷ pool threads (${cores} cores)`}. Ratio: against the default.`,
        `Best: ${label(stacks[best]?.settings ?? stack.settings)} (${Math.round(figures[best]?.median ?? 0)} tokens/s median).`,
      ],
    };
  } finally {
    for (const s of started) await s.stop();
  }
}
