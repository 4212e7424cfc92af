import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster, recordFigures, request, sleep } from './support/cluster.ts';

const LONG_TOKENS = 1500;

describe('a worker stopped with SIGTERM while its jobs run', () => {
  let cluster: ChaosCluster;
  let baseUrl: string;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ CONTEXT_SIZE: '2048', CACHE_TTL_SECONDS: '0', SHUTDOWN_GRACE_MS: '300' });
    ({ baseUrl } = await cluster.startApi());
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('takes no new job, hands unfinished ones back after its grace period, exits 0, and another worker completes them in full', async () => {
    const first = await cluster.startWorker({ SEQUENCES_PER_THREAD: '2' });
    const submit = async (prompt: string, maxTokens: number) => {
      const response = await request(baseUrl, 'POST', '/api/v1/jobs', { body: { prompt, max_tokens: maxTokens, cache: false } });
      expect(response.status).toBe(202);
      return response.body.id as string;
    };
    const long = [await submit('Once upon a time', LONG_TOKENS), await submit('One day, a little dog', LONG_TOKENS)];
    const view = async (id: string) => (await request(baseUrl, 'GET', `/api/v1/jobs/${id}`)).body;
    while (!(await Promise.all(long.map(view))).every((v) => v.status === 'active' && v.progress.tokens > 0)) await sleep(20);

    first.kill('SIGTERM');
    await first.waitForLine('shutting down');
    const afterSignal = [await submit('After the signal', 8), await submit('Still after the signal', 8)];
    const { code } = await first.exited;

    const longAfterExit = await Promise.all(long.map(view));
    const newAfterExit = await Promise.all(afterSignal.map(view));
    const handedBack = first.lines.some((line) => line.includes('handing active jobs back'));

    const second = await cluster.startWorker();
    const deadline = Date.now() + 120_000;
    let finals = await Promise.all([...long, ...afterSignal].map(view));
    while (finals.some((v) => v.status !== 'completed') && Date.now() < deadline) {
      await sleep(200);
      finals = await Promise.all([...long, ...afterSignal].map(view));
    }
    const ranBy = await Promise.all([...long, ...afterSignal].map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'pb')));

    recordFigures('sigterm-drain', {
      exitCode: code,
      longJobsAfterExit: longAfterExit.map((v) => `${v.status}@${v.progress.tokens}`),
      jobsSubmittedAfterSignal: newAfterExit.map((v) => v.status),
      finalStatuses: finals.map((v) => v.status),
      longJobsCompletionTokens: finals.slice(0, 2).map((v) => v.result?.usage.completion_tokens),
    });

    expect(code).toBe(0);
    expect(handedBack).toBe(true);
    // Handed back, not failed and not reported as cut-off texts.
    expect(longAfterExit.map((v) => v.status)).toEqual(['waiting', 'waiting']);
    // Nothing submitted after the signal was taken by the stopping worker.
    expect(newAfterExit.map((v) => v.status)).toEqual(['waiting', 'waiting']);
    expect(finals.map((v) => v.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const final of finals.slice(0, 2)) {
      expect(final.result.finish_reason).toBe('length');
      expect(final.result.usage.completion_tokens).toBe(LONG_TOKENS);
    }
    expect(ranBy.every((name) => name?.includes(`:${second.child.pid}:`))).toBe(true);
  });
});
