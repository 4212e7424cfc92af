import { Redis } from 'ioredis';
import type { QueueEvents } from 'bullmq';
import { createQueueEvents } from '../../core/queue.ts';
import { http, type TestStack } from '../support/stack.ts';

/** Tenants of the fair scheduling tests, each with its API key (tenant names are lower case). */
export const TENANTS = {
  a: 'tenant-a-key-0123456789',
  b: 'tenant-b-key-0123456789',
  c: 'tenant-c-key-0123456789',
} as const;
export type Tenant = keyof typeof TENANTS;

/** `API_KEYS` naming the three tenants `a`, `b` and `c`. */
export const API_KEYS = Object.entries(TENANTS)
  .map(([tenant, key]) => `${tenant}=${key}`)
  .join(',');

export const auth = (tenant: Tenant) => ({ authorization: `Bearer ${TENANTS[tenant]}` });

/** Submits `count` jobs for `tenant` at once; resolves with their ids in submission order. */
export async function submitMany(api: Pick<TestStack, 'baseUrl'>, tenant: Tenant, count: number, body: Record<string, unknown>): Promise<string[]> {
  const responses = await Promise.all(
    Array.from({ length: count }, () => http(api.baseUrl, 'POST', '/api/v1/jobs', body, auth(tenant))),
  );
  return responses.map((response) => {
    if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body.id as string;
  });
}

/** Submits jobs one after the other, so their order of arrival is known. */
export async function submitInOrder(stack: TestStack, tenant: Tenant, bodies: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (const body of bodies) {
    const response = await http(stack.baseUrl, 'POST', '/api/v1/jobs', body, auth(tenant));
    if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${JSON.stringify(response.body)}`);
    ids.push(response.body.id as string);
  }
  return ids;
}

/** The order in which jobs complete, as BullMQ's queue events announce it. */
export class CompletionLog {
  readonly order: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly events: QueueEvents,
    private readonly connection: Redis,
  ) {
    events.on('completed', ({ jobId }) => {
      this.order.push(jobId);
      for (const wake of [...this.waiters]) wake();
    });
  }

  static async start(stack: TestStack): Promise<CompletionLog> {
    const connection = new Redis(stack.config.REDIS_URL!, { maxRetriesPerRequest: null });
    const events = createQueueEvents(stack.config, connection);
    await events.waitUntilReady();
    return new CompletionLog(events, connection);
  }

  /** Resolves once every one of `ids` has completed. */
  async allOf(ids: readonly string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const wanted = new Set(ids);
    const done = () => this.order.filter((id) => wanted.has(id)).length === wanted.size;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${this.order.filter((id) => wanted.has(id)).length} of ${wanted.size} jobs completed within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, 1000);
        this.waiters.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.connection.quit();
  }
}
