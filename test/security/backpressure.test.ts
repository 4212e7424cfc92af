import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { QueueDepthGauge } from '../../api/request-guard/backpressure.ts';

const silent = pino({ level: 'silent' });

/** A gauge over a scripted depth source and a hand-driven clock. */
function gaugeOver(readings: Array<number | Error>) {
  let now = 0;
  let reads = 0;
  const gauge = new QueueDepthGauge(
    async () => {
      const next = readings[Math.min(reads, readings.length - 1)];
      reads += 1;
      if (next instanceof Error) throw next;
      return next as number;
    },
    silent,
    1000,
    () => now,
  );
  return {
    gauge,
    advance: (ms: number) => (now += ms),
    get reads() {
      return reads;
    },
  };
}

describe('QueueDepthGauge', () => {
  it('reads the depth once per interval however many requests ask', async () => {
    const probe = gaugeOver([7, 3]);
    const depths = await Promise.all(Array.from({ length: 50 }, () => probe.gauge.depth()));
    expect(new Set(depths)).toEqual(new Set([7]));
    expect(probe.reads).toBe(1);
    probe.advance(999);
    await probe.gauge.depth();
    expect(probe.reads).toBe(1);
    // Stale: the request goes on with the old reading while a fresh one is read in the background.
    probe.advance(1);
    expect(await probe.gauge.depth()).toBe(7);
    expect(probe.reads).toBe(2);
    expect(await probe.gauge.depth()).toBe(3);
    expect(probe.reads).toBe(2);
  });

  it('waits for a fresh reading when the last one is far too old (an idle API)', async () => {
    const probe = gaugeOver([7, 3]);
    expect(await probe.gauge.depth()).toBe(7);
    probe.advance(5000);
    expect(await probe.gauge.depth()).toBe(3);
  });

  it('adds the submissions it let through since the last reading', async () => {
    const probe = gaugeOver([10, 4]);
    expect(await probe.gauge.depth()).toBe(10);
    probe.gauge.admitted();
    probe.gauge.admitted();
    expect(await probe.gauge.depth()).toBe(12);
    probe.advance(5000);
    expect(await probe.gauge.depth()).toBe(4);
  });

  it('keeps counting a submission let through while a reading is under way', async () => {
    let now = 0;
    let finishRead: (depth: number) => void = () => undefined;
    const reads: number[] = [0];
    const gauge = new QueueDepthGauge(
      () => (reads.length > 0 ? Promise.resolve(reads.shift() ?? 0) : new Promise<number>((resolve) => (finishRead = resolve))),
      silent,
      1000,
      () => now,
    );
    expect(await gauge.depth()).toBe(0);
    gauge.admitted();
    gauge.admitted();
    now += 1000;
    // Stale: answered from the estimate while the reading runs in the background.
    expect(await gauge.depth()).toBe(2);
    gauge.admitted();
    // The reading saw the first two jobs only; the third, let through meanwhile, still counts.
    finishRead(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await gauge.depth()).toBe(3);
  });

  it('reports an unknown depth while the store cannot be read, and recovers', async () => {
    const probe = gaugeOver([new Error('Connection is closed.'), 5]);
    expect(await probe.gauge.depth()).toBeUndefined();
    probe.advance(1000);
    expect(await probe.gauge.depth()).toBe(5);
  });
});
