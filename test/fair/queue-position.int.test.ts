import { afterEach, describe, expect, it } from 'vitest';
import { readSse } from '../openai/sse.ts';
import { addApi, http, startStack, type TestStack } from '../support/stack.ts';
import { API_KEYS, auth, submitInOrder, type Tenant } from './tenants.ts';

let stack: TestStack | undefined;
let second: Awaited<ReturnType<typeof addApi>> | undefined;
afterEach(async () => {
  await second?.close();
  await stack?.close();
  stack = second = undefined;
});

const JOB = { prompt: 'Once upon a time', max_tokens: 4, cache: false };

async function positionOf(s: TestStack, id: string, tenant: Tenant): Promise<{ status: string; queue_position?: number }> {
  return (await http(s.baseUrl, 'GET', `/api/v1/jobs/${id}`, undefined, auth(tenant))).body;
}

describe('queue_position', () => {
  it('counts the ready set, then the held jobs in the order the round robin admits them; each admission keeps every count', async () => {
    // Nothing runs: the order is the schedule's alone. Ready: a1 a2; held: a3..a6 and b1..b3.
    stack = await startStack({ worker: false, env: { API_KEYS, FAIR_READY_DEPTH: '2' } });
    const s = stack;
    const a = await submitInOrder(s, 'a', Array.from({ length: 6 }, () => JOB));
    const b = await submitInOrder(s, 'b', Array.from({ length: 3 }, () => JOB));
    const tenantOf = new Map<string, Tenant>([...a.map((id) => [id, 'a'] as const), ...b.map((id) => [id, 'b'] as const)]);
    const read = async () => new Map(await Promise.all([...tenantOf].map(async ([id, tenant]) => [id, (await positionOf(s, id, tenant)).queue_position] as const)));

    // b enters at a's virtual time; a comes first on ties (by name), then they alternate.
    const expected = [a[0], a[1], a[2], b[0], a[3], b[1], a[4], b[2], a[5]];
    let positions = await read();
    expect(expected.map((id) => positions.get(id!))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);

    // Taking the first job out (a cancel here, a worker in life) moves every other one up by one.
    for (let taken = 0; taken < expected.length; taken++) {
      const first = expected[taken]!;
      expect((await http(s.baseUrl, 'DELETE', `/api/v1/jobs/${first}`, undefined, auth(tenantOf.get(first)!))).status).toBe(200);
      tenantOf.delete(first);
      const before = positions;
      positions = await read();
      for (const [id, position] of positions) expect(position, id).toBe(before.get(id)! - 1);
    }
  });

  it('of a waiting job decreases to 0 as the jobs ahead complete, never growing, and its event stream (on another API process) tells each change', { timeout: 60_000 }, async () => {
    // Jobs long enough for a poll to see each position, a worker taking one at a time.
    stack = await startStack({ env: { API_KEYS, FAIR_READY_DEPTH: '4', SEQUENCES_PER_THREAD: '1', PREFETCH_PER_THREAD: '0', RATE_LIMIT_REQUESTS: '0' } });
    second = await addApi(stack);
    const s = stack;
    const long = { ...JOB, max_tokens: 200 };
    const ids = await submitInOrder(s, 'a', Array.from({ length: 16 }, () => long));
    const last = ids.at(-1)!;

    const events: { event?: string; data: string }[] = [];
    const controller = new AbortController();
    const response = await fetch(`${second.baseUrl}/api/v1/jobs/${last}/events`, { headers: auth('a'), signal: controller.signal });
    const streamed = readSse(response, (event) => {
      events.push(event);
      return event.event === 'start';
    });

    const seen: number[] = [];
    for (;;) {
      const view = await positionOf(s, last, 'a');
      if (view.status !== 'waiting') break;
      if (view.queue_position !== undefined && view.queue_position !== seen.at(-1)) seen.push(view.queue_position);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await streamed;
    controller.abort();

    const told = events.filter((event) => event.event === 'position').map((event) => JSON.parse(event.data).queue_position as number);
    console.log(`[fair] positions polled: ${seen.join(' ')}; streamed: ${told.join(' ')}`);

    expect(seen[0]).toBeGreaterThan(8);
    expect(seen.at(-1)).toBe(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThan(seen[i - 1]!);

    expect(told.length).toBeGreaterThan(0);
    for (let i = 1; i < told.length; i++) expect(told[i]).toBeLessThan(told[i - 1]!);
    // Positions come while it waits, before its run starts.
    expect(events.at(-1)?.event).toBe('start');
    expect(events.slice(0, -1).every((event) => event.event === 'position')).toBe(true);
  });
});
