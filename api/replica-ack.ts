import type { Redis } from 'ioredis';

/**
 * Confirms that replicas hold what this connection wrote (`REDIS_MIN_REPLICAS_ACK`): replication
 * is asynchronous, so a job the primary stored may be missing from the replica promoted when that
 * primary dies. Redis's `WAIT n timeout` answers how many replicas acknowledged every write the
 * connection sent before it, which is why it runs on the connection that wrote the job (the API's
 * command connection, which BullMQ's Queue uses as it is).
 *
 * WAIT blocks its connection: commands sent behind it run once it returns. So the waits are
 * grouped: at most one WAIT is in flight, and every submission that asks meanwhile shares the next
 * one, which is sent when the current one returns. A WAIT covers every write before it, so one
 * sent after a submission asked covers that submission's job. With replicas in sync a WAIT returns
 * after one round trip to them; with fewer than asked, after `timeoutMs`, and the commands behind
 * it (other requests of this process) wait that long too: docs/reliability.md.
 */
export class ReplicaAck {
  private inFlight: Promise<number> | undefined;
  private next: Promise<number> | undefined;

  constructor(
    private readonly redis: Redis,
    /** Replicas that must acknowledge; 0 confirms at once. */
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  get enabled(): boolean {
    return this.replicas > 0;
  }

  /**
   * Whether `replicas` replicas hold every write this connection had sent when the call was made.
   * Throws as any command does when Redis cannot be reached.
   */
  async confirm(): Promise<boolean> {
    if (!this.enabled) return true;
    return (await this.waitSentFromNow()) >= this.replicas;
  }

  /** A WAIT sent after this call: the one in flight may have reached Redis before the caller's write. */
  private waitSentFromNow(): Promise<number> {
    if (!this.inFlight) return (this.inFlight = this.send());
    this.next ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return (this.inFlight = this.send());
      });
    return this.next;
  }

  private send(): Promise<number> {
    const sent: Promise<number> = this.redis.wait(this.replicas, this.timeoutMs).finally(() => {
      if (this.inFlight === sent) this.inFlight = undefined;
    });
    return sent;
  }
}
