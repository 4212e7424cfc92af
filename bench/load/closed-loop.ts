/** Closed loop: `clients` callers, each starting its next call when the last one returns, until `durationMs` is over. */
export async function closedLoop(
  clients: number,
  durationMs: number,
  call: () => Promise<{ ms: number; tokens: number }>,
): Promise<{ tokens: number; requests: number; elapsedMs: number; latencies: number[] }> {
  const started = performance.now();
  const deadline = started + durationMs;
  const latencies: number[] = [];
  let tokens = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const result = await call();
        tokens += result.tokens;
        latencies.push(result.ms);
      }
    }),
  );
  return { tokens, requests: latencies.length, elapsedMs: performance.now() - started, latencies };
}
