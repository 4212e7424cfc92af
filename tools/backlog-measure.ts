import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/keys.ts';

/** Value of the `metric` field that the CloudWatch metric filter (terraform/metrics.tf) matches. */
export const BACKLOG_METRIC = 'llmo_queue_backlog';

/** What a BullMQ queue must answer for a measurement. */
export interface CountingQueue {
  readonly name: string;
  getJobCounts(...types: ('wait' | 'prioritized' | 'delayed' | 'active')[]): Promise<Record<string, number>>;
}

/** One measurement, printed as one JSON line. Field names are what the metric filters read. */
export interface BacklogSample {
  metric: typeof BACKLOG_METRIC;
  queue: string;
  /** Jobs ready to run that no worker has started: waiting plus prioritized (the API gives every job a priority). */
  backlog: number;
  waiting: number;
  prioritized: number;
  /** Retries waiting out their backoff: not yet runnable, so not backlog. */
  delayed: number;
  active: number;
  /** Workers whose heartbeat is younger than WORKER_HEARTBEAT_TTL_MS. */
  workers: number;
  /** backlog / max(workers, 1): the value worker autoscaling keeps near its target. */
  backlogPerWorker: number;
  time: string;
}

export async function measureBacklog(
  queue: CountingQueue,
  redis: Redis,
  keys: Pick<RedisKeys, 'workers'>,
  heartbeatTtlMs: number,
  now: number = Date.now(),
): Promise<BacklogSample> {
  const [counts, workers] = await Promise.all([
    queue.getJobCounts('wait', 'prioritized', 'delayed', 'active'),
    redis.zcount(keys.workers, now - heartbeatTtlMs, '+inf'),
  ]);
  const waiting = counts.wait ?? 0;
  const prioritized = counts.prioritized ?? 0;
  const backlog = waiting + prioritized;
  return {
    metric: BACKLOG_METRIC,
    queue: queue.name,
    backlog,
    waiting,
    prioritized,
    delayed: counts.delayed ?? 0,
    active: counts.active ?? 0,
    workers,
    // No live worker counts as one, so a backlog with no workers still asks for capacity.
    backlogPerWorker: Math.round((backlog / Math.max(workers, 1)) * 100) / 100,
    time: new Date(now).toISOString(),
  };
}
