import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '../support/processes.ts';
import { ChaosCluster, recordFigures, request } from './support/cluster.ts';
import { hostileRequests, type HostileRequest } from './support/hostile-requests.ts';

const KEY = 'fuzz-key-0123456789abcdef';
const REQUESTS = 1200;
const PASSES = 3;
const CONCURRENCY = 16;
/** Live heap (after a full collection) the API may gain between the end of the first pass and the end of the last. */
const HEAP_GROWTH_BOUND_BYTES = 4 * 1024 * 1024;
const MEMORY_PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'memory-probe.mjs');

interface MemoryUsage {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** Asks the API process (preloaded with the memory probe) to collect garbage and report its memory. */
async function memoryOf(proc: RoleProcess): Promise<MemoryUsage> {
  const seen = proc.lines.length;
  proc.child.kill('SIGUSR2');
  for (let waited = 0; waited < 10_000; waited += 20) {
    const line = proc.lines.slice(seen).find((l) => l.includes('"memoryProbe"'));
    if (line) return (JSON.parse(line) as { memoryProbe: MemoryUsage }).memoryProbe;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the API did not report its memory');
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Traces of internals that must never reach a client. */
const LEAK = /\bat [\w$.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+|\bstack\b|TypeError|RangeError|SyntaxError|ReplyError|ioredis|bullmq/i;

interface Answer {
  kind: string;
  request: string;
  status: number;
  body: string;
}

async function send(baseUrl: string, hostile: HostileRequest): Promise<Answer> {
  const label = `${hostile.method} ${hostile.path.slice(0, 80)}`;
  try {
    const response = await fetch(`${baseUrl}${hostile.path}`, {
      method: hostile.method,
      headers: hostile.headers,
      ...(hostile.body === undefined ? {} : { body: new Uint8Array(hostile.body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return { kind: hostile.kind, request: label, status: response.status, body: await response.text() };
  } catch (error) {
    // A server that resets the connection instead of answering counts as a failure (status 0).
    return { kind: hostile.kind, request: label, status: 0, body: String((error as Error).cause ?? error) };
  }
}

async function sendAll(baseUrl: string, corpus: HostileRequest[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < corpus.length; i += CONCURRENCY) {
    answers.push(...(await Promise.all(corpus.slice(i, i + CONCURRENCY).map((hostile) => send(baseUrl, hostile)))));
  }
  return answers;
}

describe('fuzzing the API with malformed and hostile requests', () => {
  let cluster: ChaosCluster;
  let api: { proc: RoleProcess; baseUrl: string };

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ API_KEYS: KEY, RATE_LIMIT_REQUESTS: '1000000' });
    api = await cluster.startApi({ NODE_OPTIONS: `--import ${MEMORY_PROBE}` });
    await cluster.startWorker();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(`answers ${PASSES} × ${REQUESTS} hostile requests with a 4xx, leaks nothing, keeps serving, and does not grow`, async () => {
    const corpus = hostileRequests(KEY, REQUESTS);
    expect(corpus.length).toBeGreaterThanOrEqual(1000);

    // Three passes: every answer is a 4xx, never a 5xx, never with internals; and once the first
    // pass has warmed the process up, its live heap does not grow with the number of requests.
    const all = await sendAll(api.baseUrl, corpus);
    const afterFirstPass = await memoryOf(api.proc);
    for (let pass = 2; pass <= PASSES; pass += 1) all.push(...(await sendAll(api.baseUrl, corpus)));
    const afterLastPass = await memoryOf(api.proc);

    const clientErrors = all.filter((a) => a.status >= 400 && a.status < 500);
    const serverErrors = all.filter((a) => a.status >= 500);
    const others = all.filter((a) => a.status < 400);
    const leaks = all.filter((a) => LEAK.test(a.body));
    const byStatus: Record<string, number> = {};
    for (const answer of all) byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
    const kinds = new Set(corpus.map((c) => c.kind.split(':')[0]));

    const valid = await request(api.baseUrl, 'POST', '/api/v1/generate', {
      headers: { authorization: `Bearer ${KEY}` },
      body: { prompt: 'Once upon a time', max_tokens: 16, temperature: 0, timeout_ms: 60_000 },
      timeoutMs: 90_000,
    });

    recordFigures('fuzz', {
      requestsFuzzed: all.length,
      distinctRequests: corpus.length,
      kinds: kinds.size,
      answered4xx: clientErrors.length,
      answered5xx: serverErrors.length,
      answeredOther: others.length,
      leaks: leaks.length,
      byStatus,
      heapAfterFirstPassMiB: mib(afterFirstPass.heapUsed),
      heapAfterLastPassMiB: mib(afterLastPass.heapUsed),
      rssAfterFirstPassMiB: mib(afterFirstPass.rss),
      rssAfterLastPassMiB: mib(afterLastPass.rss),
      validRequestAfterwards: valid.status,
    });

    expect(serverErrors.map((a) => `${a.kind} ${a.request} → ${a.status} ${a.body.slice(0, 200)}`)).toEqual([]);
    expect(others.map((a) => `${a.kind} ${a.request} → ${a.status} ${a.body.slice(0, 200)}`)).toEqual([]);
    expect(clientErrors.length).toBe(all.length);
    expect(leaks.map((a) => `${a.kind} ${a.request}: ${a.body.slice(0, 200)}`)).toEqual([]);
    // Answers from the application (not the HTTP parser's bare 431) carry the error shape and a code.
    for (const answer of all.filter((a) => a.body.length > 0)) {
      expect(JSON.parse(answer.body), `${answer.kind} ${answer.request}`).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(kinds.size).toBeGreaterThanOrEqual(15);
    expect(api.proc.child.exitCode).toBeNull();
    expect(valid.status).toBe(200);
    expect(valid.body.text.length).toBeGreaterThan(0);
    expect(afterLastPass.heapUsed - afterFirstPass.heapUsed).toBeLessThan(HEAP_GROWTH_BOUND_BYTES);
  });
});
