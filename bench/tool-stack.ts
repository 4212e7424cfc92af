import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { LocalRedis } from '../core/local-redis.ts';
import { planInference } from '../core/model/inference-plan.ts';
import { resolveBenchModel, type BenchModel } from './model.ts';
import { benchOptionsFromEnv } from './options.ts';
import { build } from './run.ts';
import { startStack, type SystemStack } from './system.ts';

export interface ToolStack {
  stack: SystemStack;
  model: BenchModel;
  redisUrl: string;
  redisPid: number | undefined;
  /** Stops the stack and Redis and removes the model copy. */
  stop(): Promise<void>;
}

/**
 * What the inspection tools (`bench:cpu`, `bench:trace`) measure: the build, a private redis-server
 * and one API + worker with the system's default settings, on the model of `npm run bench`
 * (the first of `BENCH_MODEL`, `BENCH_LLAMA_THREADS`).
 */
export async function startToolStack(name: string): Promise<ToolStack> {
  const options = benchOptionsFromEnv();
  const defaults = loadConfig({});
  build((message) => process.stderr.write(`${message}\n`));
  const workDir = mkdtempSync(path.join(os.tmpdir(), `llmo-${name}-`));
  const model = await resolveBenchModel(options.models[0] ?? '', workDir, options.modelsDir);
  const redis = await LocalRedis.start();
  const plan = planInference(model.facts, { LLAMA_THREADS: options.llamaThreads, CONTEXT_SIZE: defaults.CONTEXT_SIZE });
  const settings = { poolThreads: plan.poolThreads, contexts: plan.contextsPerThread, sequences: plan.sequencesPerThread, llamaThreads: plan.llamaThreads, systemDefault: { llamaThreads: options.llamaThreads } };
  const stack = await startStack(name, settings, { redisUrl: redis.url, model: model.env.MODEL ?? model.served, fromSources: false, env: model.env });
  return {
    stack,
    model,
    redisUrl: redis.url,
    redisPid: redis.pid,
    async stop() {
      await stack.stop();
      await redis.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
