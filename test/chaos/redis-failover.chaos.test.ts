import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../security/redis-server.ts';
import { http, type TestStack, startStack } from '../support/stack.ts';
import { TcpForwarder } from '../support/tcp-forwarder.ts';
import { recordFigures, sleep } from './support/cluster.ts';

/** Jobs completed before the swap, and jobs accepted after it, that the test waits for. */
const BEFORE = 10;
const AFTER = 10;
/** Bounds that keep a broken build from hanging the run: the whole test stays well under a minute. */
const PHASE_MS = 15_000;

/** A private redis-server; the replica starts its first sync at once (no diskless-sync delay). */
const startNode = (...args: string[]) =>
  startRedisServer(['--port', '{port}', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0', ...args], (port) => ({ host: '127.0.0.1', port }));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = PHASE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

const replicationField = async (admin: Redis, field: string) => (await admin.info('replication')).match(new RegExp(`^${field}:(.*)\\r?$`, 'm'))?.[1];

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

interface Submission {
  status: number;
  id?: string;
  code?: string;
  /** Sent once the swap was done: what the cloud's clients send after a failover. */
  afterSwap: boolean;
  at: number;
}

describe('a Redis failover as ElastiCache makes one (the endpoint moves to the promoted replica, the old primary stays up as a replica)', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let oldAdmin: Redis;
  let newAdmin: Redis;
  let forwarder: TcpForwarder;
  let stack: TestStack;

  beforeAll(async () => {
    primary = await startNode();
    replica = await startNode('--replicaof', '127.0.0.1', String(primary.port));
    oldAdmin = new Redis({ host: '127.0.0.1', port: primary.port });
    newAdmin = new Redis({ host: '127.0.0.1', port: replica.port });
    await waitUntil('replica in sync', async () => (await replicationField(newAdmin, 'master_link_status')) === 'up');
    forwarder = await TcpForwarder.start(primary.port);
    stack = await startStack({ env: { REDIS_URL: forwarder.url, CACHE_TTL_SECONDS: '0' } });
  });

  afterAll(async () => {
    // The stack's own assertion client was opened to the old primary: send it to the new one.
    stack?.redis.disconnect(true);
    await stack?.close();
    await forwarder?.close();
    oldAdmin?.disconnect();
    newAdmin?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  it('keeps accepting and completing jobs, and every accepted job completes', { timeout: 60_000 }, async () => {
    const submissions: Submission[] = [];
    let swapped = false;
    let submitting = true;
    const submitter = (async () => {
      for (let i = 0; submitting; i += 1) {
        const afterSwap = swapped;
        const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: `Once upon a time, tale ${i}`, max_tokens: 8, temperature: 0, cache: false });
        submissions.push({ status: response.status, id: response.body?.id, code: response.body?.error?.code, afterSwap, at: Date.now() });
        await sleep(20);
      }
    })();
    const completedKey = `${stack.config.REDIS_PREFIX}:${stack.config.QUEUE_NAME}:completed`;
    await waitUntil('jobs completed before the swap', async () => (await oldAdmin.zcard(completedKey)) >= BEFORE);

    // A planned failover: writes pause on the primary, the replica catches up, roles swap, the
    // endpoint follows the new primary. Connections already open still reach the old node.
    await oldAdmin.call('CLIENT', 'PAUSE', String(PHASE_MS), 'WRITE');
    const acknowledged = await oldAdmin.call('WAIT', '1', '2000');
    const [oldOffset, newOffset] = await Promise.all([replicationField(oldAdmin, 'master_repl_offset'), replicationField(newAdmin, 'master_repl_offset')]);
    await newAdmin.call('REPLICAOF', 'NO', 'ONE');
    forwarder.retarget(replica.port);
    await oldAdmin.call('REPLICAOF', '127.0.0.1', String(replica.port));
    await oldAdmin.call('CLIENT', 'UNPAUSE');
    const swappedAt = Date.now();
    const openedToNewBefore = forwarder.opened.get(replica.port) ?? 0;
    swapped = true;
    expect(acknowledged).toBe(1);
    expect(newOffset).toBe(oldOffset);

    const acceptedAfter = () => submissions.filter((s) => s.afterSwap && s.status === 202).length;
    const deadline = Date.now() + PHASE_MS;
    while (acceptedAfter() < AFTER && Date.now() < deadline) await sleep(50);
    submitting = false;
    await submitter;

    const accepted = submissions.filter((s) => s.status === 202);
    const views = new Map<string, { status: string }>();
    const drainDeadline = Date.now() + PHASE_MS;
    for (const { id } of accepted) {
      for (;;) {
        const { body } = await http(stack.baseUrl, 'GET', `/api/v1/jobs/${id}`);
        views.set(id!, body);
        if ((body.status !== 'waiting' && body.status !== 'active') || Date.now() > drainDeadline) break;
        await sleep(25);
      }
    }
    const completed = [...views.values()].filter((view) => view.status === 'completed').length;
    const firstAcceptedAfter = submissions.find((s) => s.afterSwap && s.status === 202);
    const refused = submissions.filter((s) => s.status !== 202);
    recordFigures('redis-failover', {
      submitted: submissions.length,
      accepted: accepted.length,
      acceptedBeforeSwap: accepted.filter((s) => !s.afterSwap).length,
      acceptedAfterSwap: acceptedAfter(),
      completed,
      lost: accepted.length - completed,
      refusedBeforeSwap: countBy(refused.filter((s) => !s.afterSwap), (s) => `${s.status} ${s.code ?? ''}`.trim()),
      refusedAfterSwap: countBy(refused.filter((s) => s.afterSwap), (s) => `${s.status} ${s.code ?? ''}`.trim()),
      firstAcceptedAfterSwapMs: firstAcceptedAfter ? firstAcceptedAfter.at - swappedAt : null,
      connectionsOpenedToNewPrimaryAfterSwap: (forwarder.opened.get(replica.port) ?? 0) - openedToNewBefore,
    });

    expect(acceptedAfter(), 'submissions accepted after the swap').toBeGreaterThanOrEqual(AFTER);
    for (const { id } of accepted) expect(views.get(id!)?.status, `job ${id}`).toBe('completed');
    // What clients saw while it happened: a refusal is a 503 to retry, never an error of ours.
    for (const s of refused) expect(s, 'refused submission').toMatchObject({ status: 503, code: 'redis_unavailable' });
    // The jobs are on the new primary, which the old one now follows.
    expect(await newAdmin.zcard(completedKey)).toBeGreaterThanOrEqual(accepted.length);
    expect(await replicationField(oldAdmin, 'role')).toBe('slave');
  });
});
