import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFailure } from '../../core/contract/failure.ts';
import { redisKeys } from '../../core/keys.ts';
import { TokenStreamWriter } from '../../worker/token-stream-writer.ts';
import { generationResult as result } from '../support/results.ts';
import { deletePrefix, redisUrl } from '../support/stack.ts';

describe('TokenStreamWriter (real Redis)', () => {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(prefix);
  let redis: Redis;
  let writer: TokenStreamWriter;

  beforeAll(() => {
    redis = new Redis(redisUrl());
    writer = new TokenStreamWriter(redis, keys, { maxLen: 10_000, ttlSeconds: 60, flushMs: 5 });
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  /** The stream's events as plain objects, in order. */
  async function events(jobId: string) {
    const entries = await redis.xrange(keys.stream(jobId), '-', '+');
    return entries.map(([, fields]) => {
      const event: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) event[fields[i]!] = fields[i + 1]!;
      return event;
    });
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

  it('writes nothing before the first token, then start and that token at once, then coalesced tokens and the end', async () => {
    const id = randomUUID();
    const stream = writer.open(id, 1);
    await settle();
    expect(await redis.exists(keys.stream(id))).toBe(0);

    stream.push('Once', 1);
    await settle();
    expect(await events(id)).toEqual([
      { type: 'start', attempt: '1' },
      { type: 'token', text: 'Once', tokens: '1' },
    ]);

    stream.push(' upon', 2);
    stream.push(' a', 3);
    await stream.end(result('Once upon a time'));
    const all = await events(id);
    expect(all.slice(2)).toEqual([
      { type: 'token', text: ' upon a', tokens: '3' },
      { type: 'token', text: ' time', tokens: '16' },
      { type: 'end', result: JSON.stringify(result('Once upon a time')) },
    ]);
    expect(await redis.ttl(keys.stream(id))).toBeGreaterThan(0);
    // Pushes after the end (a token message that arrived late) are dropped.
    stream.push(' late', 5);
    await settle();
    expect(await events(id)).toHaveLength(all.length);
  });

  it('a job that ends before any token writes start and end in one go', async () => {
    const id = randomUUID();
    await writer.open(id, 1).end(result('Hi'));
    expect((await events(id)).map((e) => e.type)).toEqual(['start', 'token', 'end']);
  });

  it('lets a later run of a job take its stream over and refuses the earlier run from then on', async () => {
    const id = randomUUID();
    const first = writer.open(id, 1);
    first.push('old ', 1);
    await settle();

    // The job is picked up again (its worker stalled) while the first run goes on generating.
    const second = writer.open(id, 2);
    second.push('new ', 1);
    await settle();
    first.push('stale ', 2);
    await first.end(result('old stale '));
    second.push('text', 2);
    await second.end(result('new text'));

    const all = await events(id);
    expect(all[0]).toEqual({ type: 'start', attempt: '2' });
    expect(all.filter((e) => e.type === 'token').map((e) => e.text).join('')).toBe('new text');
    expect(all.filter((e) => e.type === 'end')).toEqual([{ type: 'end', result: JSON.stringify(result('new text')) }]);
    expect(await redis.get(keys.streamOwner(id))).toMatch(/^2:/);
  });

  it('refuses an earlier run whose first token comes after a later run claimed the stream', async () => {
    const id = randomUUID();
    const earlier = writer.open(id, 1);
    const later = writer.open(id, 2);
    later.push('later', 1);
    await settle();
    earlier.push('earlier', 1);
    await earlier.fail(jobFailure('generation_failed', 'lost its lock'));
    await later.end(result('later'));
    expect((await events(id)).map((e) => e.text ?? e.type)).toEqual(['start', 'later', 'end']);
  });

  it('lets a run with the same number take over (a job handed back at shutdown and picked up again)', async () => {
    const id = randomUUID();
    const before = writer.open(id, 1);
    before.push('cut ', 1);
    await before.close();
    const after = writer.open(id, 1);
    after.push('whole', 1);
    await after.end(result('whole'));
    expect((await events(id)).map((e) => e.text ?? e.type)).toEqual(['start', 'whole', 'end']);
  });
});
