/**
 * Test-only memory probe, preloaded into an API process by the fuzz chaos test through
 * NODE_OPTIONS="--import <this file>": on SIGUSR2 the process collects its garbage and prints one
 * line `{"memoryProbe": {...}}` with process.memoryUsage(), so the test compares live heap, not
 * garbage that the collector has not reached yet.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  process.on('SIGUSR2', () => {
    gc();
    const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ memoryProbe: { heapUsed, rss, external, arrayBuffers } })}\n`);
  });
}
