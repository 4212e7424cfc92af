import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../core/keys.ts';
import { createQueue, GENERATE_JOB, type GenerateQueue } from '../../core/queue.ts';
import { BACKLOG_METRIC, measureBacklog, type BacklogSample } from '../../tools/backlog-measure.ts';
import { deletePrefix, testConfig } from '../support/stack.ts';
import { loadTerraform } from './terraform.ts';
import { repo, run } from './tools.ts';

const config = testConfig();
const keys = redisKeys(config.REDIS_PREFIX);
let redis: Redis;
let queue: GenerateQueue;
let dir: string;

const job = (prompt: string) => ({
  prompt,
  sampling: { max_tokens: 4, temperature: 0, top_p: 1, top_k: 0, stop: [] },
  acceptedAt: Date.now(),
});

beforeAll(async () => {
  redis = new Redis(config.REDIS_URL!);
  queue = createQueue(config, redis);
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-backlog-'));
  // No worker runs on this prefix: 3 plain jobs wait, 2 with a priority (as the API submits them), 1 in backoff.
  for (let i = 0; i < 3; i++) await queue.add(GENERATE_JOB, job(`plain ${i}`));
  for (let i = 0; i < 2; i++) await queue.add(GENERATE_JOB, job(`prioritized ${i}`), { priority: 5 });
  await queue.add(GENERATE_JOB, job('delayed'), { delay: 60_000 });
  const now = Date.now();
  await redis.zadd(keys.workers, now, 'worker-a', now - 1000, 'worker-b', now - 10 * config.WORKER_HEARTBEAT_TTL_MS, 'worker-gone');
});

afterAll(async () => {
  await queue.close();
  await deletePrefix(redis, config.REDIS_PREFIX);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe('measureBacklog', () => {
  it('counts runnable jobs and live workers, and divides one by the other', async () => {
    const sample = await measureBacklog(queue, redis, keys, config.WORKER_HEARTBEAT_TTL_MS);
    expect(sample).toMatchObject({
      metric: BACKLOG_METRIC,
      queue: config.QUEUE_NAME,
      waiting: 3,
      prioritized: 2,
      backlog: 5,
      delayed: 1,
      active: 0,
      workers: 2,
      backlogPerWorker: 2.5,
    });
  });

  it('counts a backlog with no live worker as the backlog of one worker', async () => {
    const later = Date.now() + 10 * config.WORKER_HEARTBEAT_TTL_MS;
    const sample = await measureBacklog(queue, redis, keys, config.WORKER_HEARTBEAT_TTL_MS, later);
    expect(sample.workers).toBe(0);
    expect(sample.backlogPerWorker).toBe(5);
  });
});

describe('tools/backlog-metric.ts --once', () => {
  let sample: BacklogSample;
  const alive = () => path.join(dir, 'alive');

  beforeAll(() => {
    const result = run(process.execPath, ['--import', 'tsx', repo('tools', 'backlog-metric.ts'), '--once', '--alive-file', alive()], {
      cwd: repo(),
      env: { ...process.env, REDIS_URL: config.REDIS_URL!, REDIS_PREFIX: config.REDIS_PREFIX, LOG_LEVEL: 'warn' },
    });
    if (result.status !== 0) throw new Error(`backlog-metric failed:\n${result.stderr}`);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    sample = JSON.parse(lines[0]!) as BacklogSample;
  }, 30_000);

  it('prints one JSON line with the backlog and touches its alive file', () => {
    expect(sample).toMatchObject({ metric: BACKLOG_METRIC, backlog: 5, workers: 2, backlogPerWorker: 2.5 });
    expect(existsSync(alive())).toBe(true);
    expect(readFileSync(alive(), 'utf8')).toBe(sample.time);
  });

  it('prints the fields the CloudWatch metric filters of terraform/metrics.tf read', async () => {
    const tf = await loadTerraform();
    const locals = tf.locals;
    const pattern = String(locals.backlog_filter_pattern);
    const match = /^\{ \$\.(\w+) = "([^"]+)" \}$/.exec(pattern);
    expect(match, pattern).not.toBeNull();
    expect((sample as unknown as Record<string, unknown>)[match![1]!]).toBe(match![2]);

    const metrics = locals.backlog_metrics as Record<string, string>;
    for (const [name, selector] of Object.entries(metrics)) {
      const field = selector.replace(/^\$\./, '');
      expect(typeof (sample as unknown as Record<string, unknown>)[field], `${name} reads ${selector}`).toBe('number');
    }

    // Each worker group's scaling policy follows one of those metrics per queue, in the namespace the
    // filters write, told apart by the dimension Queue that the filter reads from the line.
    const policy = tf.resource('aws_appautoscaling_policy', 'worker_backlog');
    const spec = policy.target_tracking_scaling_policy_configuration[0].customized_metric_specification[0];
    const perQueue = spec.dynamic.metrics[0].content[0].metric_stat[0].metric[0];
    expect(Object.keys(metrics)).toContain(perQueue.metric_name);
    expect(perQueue.namespace).toBe('${local.metric_namespace}');
    const byQueue = tf.resource('aws_cloudwatch_log_metric_filter', 'backlog_by_queue');
    const dimension = String(byQueue.metric_transformation[0].dimensions.Queue).replace(/^\$\./, '');
    expect((sample as unknown as Record<string, unknown>)[dimension]).toBe(sample.queue);
    expect(typeof sample.queue).toBe('string');
    const filter = tf.resource('aws_cloudwatch_log_metric_filter', 'backlog');
    expect(filter.metric_transformation[0].namespace).toBe('${local.metric_namespace}');
    expect(filter.pattern).toBe('${local.backlog_filter_pattern}');
    expect(filter.log_group_name).toContain('aws_cloudwatch_log_group.service["dashboard"]');

    // ...and the publisher runs in the dashboard task, whose logs that group receives.
    const containers = locals.containers as Record<string, { command: string[]; logConfiguration: { options: string } }>;
    expect(containers.backlog_metric!.command.slice(0, 2)).toEqual(['node', 'dist/tools/backlog-metric.js']);
    const task = tf.resource('aws_ecs_task_definition', 'dashboard');
    expect(task.container_definitions).toContain('local.containers.backlog_metric');
    expect(containers.backlog_metric!.logConfiguration.options).toContain('local.log_options.dashboard');
  });
});
