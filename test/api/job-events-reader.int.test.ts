import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobStreamReader, type JobStreamCursor, type JobStreamEntry } from '../../api/job-stream-reader.ts';
import { redisKeys } from '../../core/keys.ts';
import { TokenStreamWriter } from '../../worker/token-stream-writer.ts';
import { generationResult as result } from '../support/results.ts';
import { deletePrefix, redisUrl } from '../support/stack.ts';

/** Reads a cursor until the job's `end`; an XREAD block longer than any test means only interruptions deliver in time. */
async function readToEnd(cursor: JobStreamCursor): Promise<JobStreamEntry[]> {
  const entries: JobStreamEntry[] = [];
  while (entries.at(-1)?.event.type !== 'end') entries.push(...(await cursor.next(60_000)));
  cursor.close();
  return entries;
}

const textOf = (entries: JobStreamEntry[]) => entries.map((e) => (e.event.type === 'token' ? e.event.text : '')).join('');

describe('JobStreamReader', () => {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const keys = redisKeys(prefix);
  let commands: Redis;
  let writerRedis: Redis;
  let reader: JobStreamReader;
  const blockingConnections: Redis[] = [];

  beforeAll(() => {
    commands = new Redis(redisUrl());
    writerRedis = new Redis(redisUrl());
  });
  afterEach(async () => {
    await reader?.close();
    blockingConnections.length = 0;
  });
  afterAll(async () => {
    await deletePrefix(commands, prefix);
    await commands.quit();
    await writerRedis.quit();
  });

  function newReader() {
    reader = new JobStreamReader({
      commands,
      keys,
      // Far longer than the test: entries for a client that joined a blocked read arrive only if the read is interrupted.
      blockMs: 600_000,
      connectBlocking: () => {
        const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null, connectionName: `${prefix}-blocking` });
        blockingConnections.push(redis);
        return redis;
      },
    });
    return reader;
  }

  it('follows many jobs for many clients over one blocking connection, each client getting every entry in order', async () => {
    const reader = newReader();
    const writer = new TokenStreamWriter(writerRedis, keys, { maxLen: 10_000, ttlSeconds: 60, flushMs: 1 });
    const jobs = Array.from({ length: 6 }, () => randomUUID());
    const streams = jobs.map((id) => writer.open(id, 1));
    // Clients join at different moments: before any token, and after some (they replay those).
    const early = jobs.flatMap((id) => Array.from({ length: 5 }, () => readToEnd(reader.open(id))));
    const texts = jobs.map(() => '');
    for (let step = 0; step < 40; step++) {
      streams.forEach((stream, i) => {
        const piece = `${i}:${step} `;
        texts[i] += piece;
        stream.push(piece, step + 1);
      });
      await new Promise((r) => setTimeout(r, 2));
    }
    const late = jobs.flatMap((id) => Array.from({ length: 5 }, () => readToEnd(reader.open(id))));
    await Promise.all(streams.map((stream, i) => stream.end(result(texts[i]!))));

    const all = await Promise.all([...early, ...late]);
    all.forEach((entries, n) => {
      const job = (n % 30) / 5 | 0;
      expect(entries[0]?.event).toEqual({ type: 'start', attempt: 1 });
      expect(textOf(entries)).toBe(texts[job]);
      expect(entries.at(-1)?.event).toEqual({ type: 'end', result: result(texts[job]!) });
    });
    expect(blockingConnections).toHaveLength(1);
  });

  it('resumes after a given entry id', async () => {
    const reader = newReader();
    const writer = new TokenStreamWriter(writerRedis, keys, { maxLen: 10_000, ttlSeconds: 60, flushMs: 1 });
    const id = randomUUID();
    const stream = writer.open(id, 1);
    stream.push('a', 1);
    await new Promise((r) => setTimeout(r, 10));
    stream.push('b', 2);
    await stream.end(result('ab'));
    const all = await readToEnd(reader.open(id));
    const rest = await readToEnd(reader.open(id, all[1]!.id));
    expect(rest).toEqual(all.slice(2));
  });

  it('keeps delivering, to old and new clients, after its blocking connection is killed', async () => {
    const reader = newReader();
    const writer = new TokenStreamWriter(writerRedis, keys, { maxLen: 10_000, ttlSeconds: 60, flushMs: 1 });
    const [first, second] = [randomUUID(), randomUUID()];
    const stream = writer.open(first, 1);
    const cursor = reader.open(first);
    stream.push('before ', 1);
    expect((await cursor.next(60_000)).map((e) => e.event.type)).toEqual(['start', 'token']);
    const pending = readToEnd(cursor);
    await killBlockingConnection();
    stream.push('after the kill', 2);
    await stream.end(result('before after the kill'));
    expect(textOf(await pending)).toBe('after the kill');

    // A client joining now must interrupt a read on the new connection (its id changed).
    await waitUntilBlocked();
    const other = writer.open(second, 1);
    const joining = readToEnd(reader.open(second));
    await new Promise((r) => setTimeout(r, 20));
    other.push('new', 1);
    await other.end(result('new'));
    expect(textOf(await joining)).toBe('new');
    // The dropped connection was replaced, not left to re-send its read under an unknown client id:
    // Redis still sees one blocking connection of this reader.
    expect(blockingConnections).toHaveLength(2);
    expect(await blockingClients()).toHaveLength(1);
  });

  /** `CLIENT LIST` entries of this test's blocking connection. */
  async function blockingClients() {
    const list = (await commands.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes(`name=${prefix}-blocking`));
  }

  async function waitUntilBlocked() {
    while (!(await blockingClients()).some((line) => line.includes('cmd=xread'))) await new Promise((r) => setTimeout(r, 5));
  }

  async function killBlockingConnection() {
    await waitUntilBlocked();
    const [line] = await blockingClients();
    const id = /\bid=(\d+)/.exec(line!)![1]!;
    await commands.client('KILL', 'ID', id);
  }
});
