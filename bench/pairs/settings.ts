import os from 'node:os';
import { interleaveMany, type BenchContext } from '../context.ts';
import { targetCheck, type PairResult, type Row } from '../results.ts';
import { figure, ratioFigure } from '../stats.ts';
import { contextsOf, settingsLabel, type StackSettings, type SystemStack } from '../system.ts';
import { systemTokensPerSecond, THROUGHPUT_MAX_TOKENS } from './throughput.ts';

/** llama.cpp threads a context really uses: the setting, else cores ÷ contexts (as the system does). */
const llamaThreadsOf = (s: StackSettings) => s.llamaThreads ?? Math.max(1, Math.floor(os.availableParallelism() / contextsOf(s)));

const label = (s: StackSettings) => settingsLabel(s, llamaThreadsOf(s));

const sameSettings = (a: StackSettings, b: StackSettings) =>
  a.poolThreads === b.poolThreads && (a.contexts ?? 1) === (b.contexts ?? 1) && a.sequences === b.sequences && llamaThreadsOf(a) === llamaThreadsOf(b);

/**
 * Pair 5: aggregate tokens/s of the system for pool threads × contexts × sequences, each its own
 * stack started for this pair (the system's defaults too: the stack of the other pairs has served
 * thousands of jobs by now, and every setting should start alike), rounds interleaved.
 */
export async function settingsTable(ctx: BenchContext): Promise<PairResult> {
  const { options } = ctx;
  const clients = Math.max(...options.clients);
  const stacks: SystemStack[] = [];
  const started: SystemStack[] = [];
  try {
    const stack = await ctx.startStack('s-default', ctx.stack.settings);
    started.push(stack);
    const listed = options.settings.some((s) =>
      sameSettings({ poolThreads: s.poolThreads, contexts: s.contexts ?? 1, sequences: s.sequences, llamaThreads: s.llamaThreads ?? options.llamaThreads }, stack.settings),
    );
    if (!listed) stacks.push(stack);
    for (const setting of options.settings) {
      const wanted: StackSettings = {
        poolThreads: setting.poolThreads,
        contexts: setting.contexts ?? 1,
        sequences: setting.sequences,
        llamaThreads: setting.llamaThreads ?? options.llamaThreads,
      };
      if (sameSettings(wanted, stack.settings)) {
        stacks.push(stack);
        continue;
      }
      const name = `s${wanted.poolThreads}x${wanted.contexts ?? 1}x${wanted.sequences}${wanted.llamaThreads === undefined ? '' : `t${wanted.llamaThreads}`}`;
      const extra = await ctx.startStack(name, wanted);
      started.push(extra);
      stacks.push(extra);
    }
    for (const s of started) await systemTokensPerSecond(s, clients, Math.min(1000, options.durationMs));
    const perStack = await interleaveMany(
      options.rounds,
      stacks.map((s) => () => systemTokensPerSecond(s, clients, options.durationMs)),
    );
    const figures = perStack.map((values) => figure(values));
    const reference = figures[stacks.indexOf(stack)];
    const rows: Row[] = stacks.map((s, i) => ({
      metric: `${label(s.settings)}${s === stack ? ' (default)' : ''}`,
      unit: 'tokens/s',
      a: figures[i],
      ...(reference ? { compare: { kind: 'ratio' as const, figure: ratioFigure(figures[i] ?? figure([]), reference) } } : {}),
    }));
    const best = figures.reduce((bestIndex, f, i) => ((f.median ?? 0) > (figures[bestIndex]?.median ?? 0) ? i : bestIndex), 0);
    const bestFigure = figures[best] ?? figure([]);
    const againstBest = reference ? ratioFigure(reference, bestFigure) : figure([]);
    return {
      id: 5,
      title: 'Thread/sequence settings',
      columns: { a: 'orchestrator' },
      available: true,
      rows,
      targets: [targetCheck('defaults ≥ 95% of the best setting', 'default ÷ best', againstBest, '%', 95, 'higher', 100)],
      notes: [
        `Pool threads × contexts per thread (when more than 1) × sequences per context; ${clients} closed-loop clients, max_tokens ${THROUGHPUT_MAX_TOKENS}, ${options.durationMs} ms per round. ` +
          `llama.cpp threads per context: cores ÷ contexts (${os.availableParallelism()} cores) unless stated. ` +
          'Ratio: against the default settings.',
        `Best: ${label(stacks[best]?.settings ?? stack.settings)} (${Math.round(figures[best]?.median ?? 0)} tokens/s median).`,
      ],
    };
  } finally {
    for (const s of started) await s.stop();
  }
}
