import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../openai/sse.ts';
import { stopRole } from '../support/processes.ts';
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

  it('keeps streaming clients of both APIs waiting through the hand-back, and each ends with exactly the text of the run that finished', async () => {
    // The workers of the case above are stopped; this one runs both jobs at once.
    await Promise.all([...cluster.processes].filter((proc) => proc.role === 'worker').map((proc) => stopRole(proc, 5000)));
    const first = await cluster.startWorker({ SEQUENCES_PER_THREAD: '2' });
    // Greedy, so the run after the hand-back repeats the text already sent (the append-only rule lets it continue).
    const body = { prompt: 'Once upon a time', max_tokens: LONG_TOKENS, temperature: 0 };

    let openAiText = '';
    let openAiFinish: string | undefined;
    let openAiJob: string | null = null;
    const openAi = fetch(`${baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', ...body, cache: false, stream: true }),
    }).then(async (response) => {
      if (response.status !== 200) throw new Error(`OpenAI stream answered ${response.status}: ${await response.text()}`);
      openAiJob = response.headers.get('x-job-id');
      await readSse(response, (event) => {
        if (event.data === '[DONE]') return true;
        const chunk = JSON.parse(event.data);
        if (chunk.error) throw new Error(`stream error: ${event.data}`);
        openAiText += chunk.choices[0]?.text ?? '';
        openAiFinish = chunk.choices[0]?.finish_reason ?? openAiFinish;
      });
    });

    const native = await request(baseUrl, 'POST', '/api/v1/jobs', { body: { ...body, cache: false } });
    expect(native.status).toBe(202);
    const nativeEvents: string[] = [];
    let nativeText = '';
    let nativeEnd: any;
    const follow = fetch(`${baseUrl}/api/v1/jobs/${native.body.id}/events`).then((response) =>
      readSse(response, (event) => {
        nativeEvents.push(event.event ?? 'message');
        const data = JSON.parse(event.data);
        if (event.event === 'start') nativeText = '';
        if (event.event === 'token') nativeText += data.text;
        if (event.event === 'error') throw new Error(`stream error: ${event.data}`);
        if (event.event === 'end') {
          nativeEnd = data.result;
          return true;
        }
      }),
    );

    // Both clients have text, and both jobs are still running: the worker stops mid-answer.
    const clients = Promise.all([openAi, follow]);
    let clientsDone = false;
    void clients.finally(() => (clientsDone = true)).catch(() => undefined);
    while ((openAiText.length === 0 || !nativeEvents.includes('token')) && !clientsDone) await sleep(10);
    expect(clientsDone).toBe(false);
    first.kill('SIGTERM');
    const { code } = await first.exited;
    const sentBeforeExit = { openAi: openAiText.length, native: nativeText.length };
    const endedBeforeSecondWorker = openAiFinish !== undefined || nativeEnd !== undefined;
    await cluster.startWorker();
    await clients;

    const view = async (id: string) => (await request(baseUrl, 'GET', `/api/v1/jobs/${id}`)).body;
    const [openAiView, nativeView] = await Promise.all([view(openAiJob ?? ''), view(native.body.id)]);
    recordFigures('sigterm-streams', {
      exitCode: code,
      sentBeforeExit,
      endedBeforeSecondWorker,
      nativeEvents: nativeEvents.filter((e) => e !== 'token'),
      finalChars: { openAi: openAiView.result?.text.length, native: nativeView.result?.text.length },
      attempts: [openAiView, nativeView].map((v) => v.status),
    });

    expect(code).toBe(0);
    expect(endedBeforeSecondWorker).toBe(false);
    expect(openAiView.status).toBe('completed');
    expect(nativeView.status).toBe('completed');
    expect(openAiFinish).toBe('length');
    expect(openAiText).toBe(openAiView.result.text);
    expect(nativeText).toBe(nativeView.result.text);
    expect(nativeEnd.text).toBe(nativeView.result.text);
    expect(nativeEnd.usage.completion_tokens).toBe(LONG_TOKENS);
    // The second run announced itself: the first run's text was dropped, not kept and added to.
    expect(nativeEvents.filter((e) => e === 'start').length).toBe(2);
  });
});
