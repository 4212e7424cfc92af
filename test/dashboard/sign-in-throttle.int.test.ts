import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_BLOCK_SECONDS, SIGN_IN_FAILURES_ALLOWED, SIGN_IN_WINDOW_SECONDS } from '../../dashboard/sign-in-throttle.ts';
import { captureLog } from '../model/support.ts';
import { deletePrefix, http, redisUrl, testConfig } from '../support/stack.ts';
import { basicAuthHeader, startBoardServer, type BoardServer } from './board-server.ts';

const USER = 'operator';
const PASSWORD = 'throttle-test-password';
const BOARD = { DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_READ_ONLY: true };

/**
 * Two dashboard processes' apps (as two replicas) on one Redis prefix. Client addresses come from
 * `X-Forwarded-For`, which Express believes from loopback (trust proxy), as from Traefik.
 */
describe('Bull Board sign-in throttle', () => {
  const config = testConfig();
  const log = captureLog();
  let replicaA: BoardServer;
  let replicaB: BoardServer;
  let redis: Redis;
  // Documentation addresses (RFC 5737); counts never carry over, as the prefix is new at each run.
  const address = (n: number) => `192.0.2.${n}`;
  const signIn = (server: BoardServer, from: string, password: string | undefined) =>
    http(server.url, 'GET', '/admin/queues/api/queues', undefined, {
      'x-forwarded-for': from,
      ...(password === undefined ? {} : basicAuthHeader(USER, password)),
    });

  beforeAll(async () => {
    replicaA = await startBoardServer(config, BOARD, { logger: log.logger });
    replicaB = await startBoardServer(config, BOARD);
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await deletePrefix(redis, config.REDIS_PREFIX);
    await redis?.quit();
  });

  it('answers 401 to ten wrong passwords, then 429 with Retry-After to the eleventh and to the right password', async () => {
    const from = address(10);
    for (let i = 1; i <= SIGN_IN_FAILURES_ALLOWED; i++) {
      // Alternate replicas: they share the count.
      const res = await signIn(i % 2 ? replicaA : replicaB, from, `guess-${i}`);
      expect(res.status, `failure ${i}`).toBe(401);
    }
    const eleventh = await signIn(replicaA, from, 'guess-11');
    expect(eleventh.status).toBe(429);
    expect(eleventh.body).toEqual({ error: { code: 'too_many_sign_in_failures', message: expect.stringMatching(/retry in \d+ s/) } });
    const retryAfter = Number(eleventh.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(SIGN_IN_WINDOW_SECONDS);
    expect(retryAfter).toBeLessThanOrEqual(SIGN_IN_BLOCK_SECONDS);

    for (const replica of [replicaA, replicaB]) {
      const right = await signIn(replica, from, PASSWORD);
      expect(right.status).toBe(429);
      expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(SIGN_IN_WINDOW_SECONDS);
    }
    expect(log.records.filter((r) => r.msg.startsWith('Bull Board: too many failed sign-ins'))).toEqual([
      expect.objectContaining({ ip: from, failures: SIGN_IN_FAILURES_ALLOWED + 1, blockSeconds: SIGN_IN_BLOCK_SECONDS }),
    ]);
  });

  it('keeps the count in Redis under the prefix, for the length of the block', async () => {
    const key = `${config.REDIS_PREFIX}:board-auth:${address(10)}`;
    expect(await redis.get(key)).toBe(String(SIGN_IN_FAILURES_ALLOWED + 1));
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(SIGN_IN_WINDOW_SECONDS * 1000);
    expect(ttl).toBeLessThanOrEqual(SIGN_IN_BLOCK_SECONDS * 1000);
  });

  it('leaves other addresses alone', async () => {
    const other = address(11);
    expect((await signIn(replicaA, other, PASSWORD)).status).toBe(200);
    expect((await signIn(replicaB, other, 'wrong')).status).toBe(401);
    expect((await signIn(replicaA, other, PASSWORD)).status).toBe(200);
  });

  it('counts failures through successful sign-ins, from the same address and from others', async () => {
    const guesser = address(12);
    const operator = address(13);
    for (let i = 1; i < SIGN_IN_FAILURES_ALLOWED; i++) expect((await signIn(replicaA, guesser, `guess-${i}`)).status).toBe(401);
    expect((await signIn(replicaB, operator, PASSWORD)).status).toBe(200);
    expect((await signIn(replicaA, guesser, PASSWORD)).status).toBe(200);
    expect((await signIn(replicaA, guesser, 'guess-10')).status).toBe(401);
    expect((await signIn(replicaB, guesser, 'guess-11')).status).toBe(429);
  });

  it('does not count requests that carry no credentials (a browser before its prompt)', async () => {
    const browser = address(14);
    for (let i = 0; i < SIGN_IN_FAILURES_ALLOWED + 5; i++) expect((await signIn(replicaA, browser, undefined)).status).toBe(401);
    expect((await signIn(replicaA, browser, PASSWORD)).status).toBe(200);
  });
});
