/**
 * Test-only crash switch, never part of the product: the poison-job chaos test starts worker
 * processes with NODE_OPTIONS="--import tsx --import <this file>" and CHAOS_POISON_MARKER set.
 * A job whose prompt contains the marker then kills its worker process the moment it starts
 * (SIGKILL, as a native crash inside llama.cpp would), every time, on every worker.
 * Without this file preloaded the marker means nothing, whatever a request contains.
 * (NODE_OPTIONS reaches the pool's threads too; they have nothing to patch.)
 */
import { isMainThread } from 'node:worker_threads';

const marker = process.env.CHAOS_POISON_MARKER;
if (isMainThread && marker) {
  const { InferencePool } = await import('../../../worker/inference-pool.ts');
  const generate = InferencePool.prototype.generate;
  InferencePool.prototype.generate = function crashOnPoison(input, onToken) {
    if (input.prompt?.includes(marker)) process.kill(process.pid, 'SIGKILL');
    return generate.call(this, input, onToken);
  };
}
