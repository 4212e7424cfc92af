import { type Redis, ReplyError } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { createRedis, type ConnectionRole } from '../../core/redis.ts';

/** What ioredis does with an error reply, as its `reconnectOnError` option decides it. */
function decision(redis: Redis, reply: string): unknown {
  return redis.options.reconnectOnError?.(new ReplyError(reply));
}

describe('connections made by createRedis', () => {
  const opened: Redis[] = [];
  afterEach(() => {
    for (const redis of opened.splice(0)) redis.disconnect();
  });
  /** Nothing listens on the port: the options are what is under test, not a server. */
  const open = async (role: ConnectionRole) => {
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, role);
    opened.push(redis);
    return redis;
  };

  it.each(['producer', 'worker'] as const)('reconnect and re-send the command when a %s connection meets a replica (READONLY)', async (role) => {
    const redis = await open(role);
    expect(decision(redis, "READONLY You can't write against a read only replica.")).toBe(2);
    // A script on a replica stops at its first write with the same reply.
    expect(decision(redis, "READONLY You can't write against a read only replica. script: 41d08d75, on @user_script:1.")).toBe(2);
  });

  it.each(['producer', 'worker'] as const)('pass the behaviour on to their duplicates (%s), as BullMQ makes them for blocking clients', async (role) => {
    const redis = await open(role);
    // BullMQ's Worker and QueueEvents duplicate the connection they are given with a name of their own.
    const duplicate = redis.duplicate({ connectionName: 'bull:blocking' });
    opened.push(duplicate);
    expect(decision(duplicate, "READONLY You can't write against a read only replica.")).toBe(2);
  });

  it('leave every other error reply to the caller, on the same connection', async () => {
    const redis = await open('worker');
    for (const reply of ['WRONGTYPE Operation against a key holding the wrong kind of value', "OOM command not allowed when used memory > 'maxmemory'.", 'LOADING Redis is loading the dataset in memory', 'NOSCRIPT No matching script.']) {
      expect(decision(redis, reply), reply).toBeFalsy();
    }
  });
});
