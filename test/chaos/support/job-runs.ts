import { expect } from 'vitest';
import { readSse } from '../../openai/sse.ts';
import { request, sleep, type ChaosCluster } from './cluster.ts';

/** What a streaming client received, filled in as it arrives. */
export interface StreamedText {
  text: string;
  starts: number;
  done: Promise<void>;
}

/** A set of jobs submitted at once, the first of them followed by an OpenAI client and an SSE client. */
export interface JobRun {
  tag: string;
  ids: string[];
  /** The job both streaming clients follow (the first submitted). */
  streamed: string;
  startedAt: number;
  openAi: StreamedText;
  native: StreamedText;
}

/** A greedy OpenAI completion streamed by the `openai`-style client, then `jobs - 1` plain jobs, then an SSE follower of the first. */
export async function submitRun(baseUrl: string, tag: string, jobs: number, maxTokens: number): Promise<JobRun> {
  const startedAt = Date.now();
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', prompt: `Once upon a time (${tag})`, max_tokens: maxTokens, temperature: 0, cache: false, stream: true }),
  });
  expect(response.status).toBe(200);
  const streamed = response.headers.get('x-job-id') ?? '';
  const openAi: StreamedText = { text: '', starts: 1, done: Promise.resolve() };
  openAi.done = readSse(response, (event) => {
    if (event.data === '[DONE]') return true;
    const chunk = JSON.parse(event.data);
    if (chunk.error) throw new Error(`OpenAI stream error: ${event.data}`);
    openAi.text += chunk.choices[0]?.text ?? '';
  });

  const ids = [streamed];
  for (let i = 1; i < jobs; i += 1) {
    const job = await request(baseUrl, 'POST', '/api/v1/jobs', { body: { prompt: `Once upon a time, story ${i} (${tag})`, max_tokens: maxTokens, cache: false } });
    expect(job.status).toBe(202);
    ids.push(job.body.id);
  }

  const native: StreamedText = { text: '', starts: 0, done: Promise.resolve() };
  native.done = fetch(`${baseUrl}/api/v1/jobs/${streamed}/events`).then((events) =>
    readSse(events, (event) => {
      const data = JSON.parse(event.data);
      // A new attempt starts the text over (docs/streaming.md).
      if (event.event === 'start') {
        native.starts += 1;
        native.text = '';
      }
      if (event.event === 'token') native.text += data.text;
      if (event.event === 'error') throw new Error(`event stream error: ${event.data}`);
      return event.event === 'end';
    }),
  );
  return { tag, ids, streamed, startedAt, openAi, native };
}

/** Waits until every job of the run has finished; returns ms from submission to the last finish (BullMQ's `finishedOn`). */
export async function awaitRun(cluster: ChaosCluster, run: JobRun, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finished = await Promise.all(run.ids.map((id) => cluster.redis.hget(`${cluster.queueKey}:${id}`, 'finishedOn')));
    if (finished.every(Boolean)) return Math.max(...finished.map(Number)) - run.startedAt;
    if (Date.now() > deadline) return Number.NaN;
    await sleep(100);
  }
}

/** Reads the fields of Redis Stream entries into objects, with each entry's time (ms) from its id. */
export const streamEntries = (raw: Array<[string, string[]]>) =>
  raw.map(([id, fields]) => {
    const entry: Record<string, string> = { at: id.split('-')[0] ?? '0' };
    for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!;
    return entry;
  });

/**
 * Jobs that ended with more than one result: completed twice in BullMQ's event log, or a token
 * stream that does not hold exactly one attempt's text, equal to the result.
 */
export async function duplicatedJobs(cluster: ChaosCluster, baseUrl: string, ids: string[]): Promise<{ lost: string[]; duplicated: string[] }> {
  const events = streamEntries(await cluster.redis.xrange(`${cluster.queueKey}:events`, '-', '+'));
  const completions = new Map<string, number>();
  for (const event of events) if (event.event === 'completed') completions.set(event.jobId!, (completions.get(event.jobId!) ?? 0) + 1);
  const lost: string[] = [];
  const duplicated: string[] = [];
  for (const id of ids) {
    const view = (await request(baseUrl, 'GET', `/api/v1/jobs/${id}`)).body;
    if (view.status !== 'completed' || typeof view.result?.text !== 'string') {
      lost.push(id);
      continue;
    }
    const stream = streamEntries(await cluster.redis.xrange(`${cluster.prefix}:stream:${id}`, '-', '+'));
    const text = stream.filter((e) => e.type === 'token').map((e) => e.text).join('');
    const once = stream.filter((e) => e.type === 'start').length === 1 && stream.filter((e) => e.type === 'end').length === 1;
    if ((completions.get(id) ?? 0) !== 1 || !once || text !== view.result.text) duplicated.push(id);
  }
  return { lost, duplicated };
}
