import { QUEUE_STATES } from './names.ts';
import { processMetrics, type Metrics } from './registry.ts';

/** What the collector needs of a BullMQ queue. */
export interface CountableQueue {
  readonly name: string;
  /** `<prefix>:<name>`: two handles on the same queue count once. */
  readonly qualifiedName: string;
  getJobCounts(...types: (typeof QUEUE_STATES)[number][]): Promise<Record<string, number>>;
}

/** A scrape must answer even when Redis does not: a queue that cannot be read in time has no series this scrape. */
const READ_TIMEOUT_MS = 2000;

/** Handles by qualified name: the first one is read, the others stand by until it is untracked. */
interface Tracked {
  queue: CountableQueue;
  /** The model whose jobs it carries, as metrics label it; read at each scrape. */
  model: () => string;
}

const tracked = new WeakMap<Metrics, Map<string, Tracked[]>>();

/**
 * Exports `llmo_queue_jobs{queue,model,state}` for `queue`, read with one `getJobCounts` call per scrape
 * (BullMQ answers it with one script of O(1) counts, whatever the queue length).
 * Returns the function that stops tracking it.
 */
export function trackQueueState(queue: CountableQueue, model: () => string, metrics: Metrics = processMetrics()): () => void {
  let queues = tracked.get(metrics);
  if (!queues) {
    const all = new Map<string, Tracked[]>();
    queues = all;
    tracked.set(metrics, all);
    metrics.onScrape(async () => {
      const heads = [...all.values()].flatMap((handles) => handles.slice(0, 1));
      const reads = await Promise.allSettled(heads.map(async (q) => ({ name: q.queue.name, model: q.model(), counts: await readCounts(q.queue) })));
      const gauge = metrics.m.queueJobs;
      gauge.reset();
      for (const read of reads) {
        if (read.status !== 'fulfilled') continue;
        for (const state of QUEUE_STATES) gauge.set({ queue: read.value.name, model: read.value.model, state }, read.value.counts[state] ?? 0);
      }
    });
  }
  const handles = queues;
  const key = queue.qualifiedName;
  handles.set(key, [...(handles.get(key) ?? []), { queue, model }]);
  return () => {
    const rest = (handles.get(key) ?? []).filter((q) => q.queue !== queue);
    if (rest.length > 0) handles.set(key, rest);
    else handles.delete(key);
  };
}

async function readCounts(queue: CountableQueue): Promise<Record<string, number>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`getJobCounts of ${queue.name} timed out`)), READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([queue.getJobCounts(...QUEUE_STATES), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
