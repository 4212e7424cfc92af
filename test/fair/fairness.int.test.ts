import { afterEach, describe, expect, it } from 'vitest';
import { addApi, startStack, type TestStack } from '../support/stack.ts';
import { API_KEYS, CompletionLog, submitMany, type Tenant } from './tenants.ts';

/** One small job, the same for every tenant: sampled and uncached, so each is a job of its own. */
const JOB = { prompt: 'Once upon a time', max_tokens: 8, cache: false };
const FLOOD = 300;
const NEWCOMER_JOBS = 20;
/** Most of the flooding tenant's jobs that may complete between a newcomer's first submission and its last completion. */
const BOUND = 60;

/** One worker, one sequence: jobs complete one at a time, in the order the queue hands them out. */
const ENV = { API_KEYS, POOL_THREADS: '1', SEQUENCES_PER_THREAD: '1', RATE_LIMIT_REQUESTS: '0' };

interface Measure {
  /** The flooding tenant's jobs completed from the newcomers' first submission to their last completion. */
  floodDuring: number;
  /** ... and before the newcomers' first submission. */
  floodBefore: number;
}

let stack: TestStack | undefined;
let second: Awaited<ReturnType<typeof addApi>> | undefined;
let log: CompletionLog | undefined;
afterEach(async () => {
  await log?.close();
  await second?.close();
  await stack?.close();
  log = stack = second = undefined;
});

/**
 * Tenant `a` queues 300 jobs through one API process; then each newcomer queues 20 (all at once,
 * interleaved) through another, as replicas behind a load balancer share one schedule.
 */
async function floodThenNewcomers(env: Record<string, string>, newcomers: Tenant[]): Promise<Measure> {
  stack = await startStack({ env: { ...ENV, ...env } });
  second = await addApi(stack);
  log = await CompletionLog.start(stack);
  const flood = new Set(await submitMany(stack, 'a', FLOOD, JOB));
  // Taken before the newcomers submit: completions announced late count against the bound.
  const mark = log.order.length;
  const theirs = (await Promise.all(newcomers.map((tenant) => submitMany(second!, tenant, NEWCOMER_JOBS, JOB)))).flat();
  await log.allOf(theirs);
  const last = Math.max(...theirs.map((id) => log!.order.indexOf(id)));
  const measure = {
    floodDuring: log.order.slice(mark, last + 1).filter((id) => flood.has(id)).length,
    floodBefore: mark,
  };
  console.log(`[fair] FAIR_READY_DEPTH=${stack.config.FAIR_READY_DEPTH}, newcomers ${newcomers.join('+')}: ${JSON.stringify(measure)}`);
  return measure;
}

describe('Fair scheduling between tenants', () => {
  it(`serves a tenant that comes after another's ${FLOOD} jobs within ${BOUND} of them`, { timeout: 120_000 }, async () => {
    const { floodDuring } = await floodThenNewcomers({}, ['b']);
    expect(floodDuring).toBeLessThanOrEqual(BOUND);
  });

  it(`shares among three tenants: two newcomers' ${NEWCOMER_JOBS} jobs each complete within ${BOUND} of the flood's`, { timeout: 120_000 }, async () => {
    const { floodDuring } = await floodThenNewcomers({}, ['b', 'c']);
    expect(floodDuring).toBeLessThanOrEqual(BOUND);
  });
});

describe('Without fair scheduling (FAIR_READY_DEPTH=0)', () => {
  it(`serves the flood first: a newcomer waits behind more than ${BOUND} of its jobs (the measure tells the two apart)`, { timeout: 120_000 }, async () => {
    const { floodDuring, floodBefore } = await floodThenNewcomers({ FAIR_READY_DEPTH: '0' }, ['b']);
    // First come, first served: whatever of the flood had not completed when the newcomer came.
    expect(floodDuring).toBeGreaterThan(BOUND);
    expect(floodDuring + floodBefore).toBeGreaterThanOrEqual(FLOOD - 5);
  });
});
