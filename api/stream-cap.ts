import type { Response } from 'express';
import { AppError } from '../core/errors.ts';
import { principalOf } from './request-guard/authenticate.ts';
import { bucketOf } from './request-guard/rate-limit.ts';

/** A client that met the cap has to wait for one of its streams to end; a few seconds is the usual span. */
const RETRY_AFTER_SECONDS = 5;

/**
 * How many event streams each client holds open in this API process (`MAX_STREAMS_PER_CLIENT`):
 * native SSE and OpenAI `stream: true` alike. A client is an API key (by its id, never the key)
 * when keys are configured, else a client address, as for the rate limit.
 *
 * Counted in memory, per process: a slot is released exactly when its response closes, which a
 * count in Redis could not promise for a process that dies (its slots would stay taken until some
 * expiry). With N API replicas behind a balancer a client may so hold up to N × the cap; the cap
 * is there to keep one client from exhausting a process's sockets and memory, which it does.
 */
export class StreamCap {
  private readonly open = new Map<string, number>();

  /** `max` 0: no cap. */
  constructor(private readonly max: number) {}

  /**
   * Takes a slot for the caller of `res` until the response closes (it ended, or the client went
   * away), or throws `429 too_many_streams` before anything is sent.
   */
  take(res: Response): void {
    if (this.max === 0) return;
    const client = clientOf(res);
    const count = this.open.get(client) ?? 0;
    if (count >= this.max) {
      const who = client.startsWith('key:') ? 'API key' : 'client address';
      throw new AppError(
        429,
        'too_many_streams',
        `too many open event streams: at most ${this.max} at a time per ${who}; close one (or let one end) and retry`,
        { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } },
      );
    }
    this.open.set(client, count + 1);
    // 'close' follows the end of every response, and a client that leaves early, exactly once.
    res.once('close', () => {
      const left = (this.open.get(client) ?? 1) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    });
  }
}

function clientOf(res: Response): string {
  const principal = principalOf(res);
  if (principal) return bucketOf(principal);
  // Only a request the guard did not see has no principal.
  const { req } = res;
  return `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}
