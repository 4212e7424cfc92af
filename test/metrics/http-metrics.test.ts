import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpMetrics, metricsHandler } from '../../core/metrics/http.ts';
import { Metrics } from '../../core/metrics/registry.ts';
import { parseExposition } from './exposition.ts';

describe('httpMetrics middleware', () => {
  const metrics = new Metrics({ defaultMetrics: false });
  let base = '';
  let close: () => Promise<void>;

  beforeAll(async () => {
    const app = express();
    app.use(httpMetrics(metrics));
    app.get('/metrics', metricsHandler(metrics));
    const v1 = express.Router();
    v1.get('/jobs/:id', (_req, res) => void res.json({ ok: true }));
    v1.get('/broken/:id', async () => {
      throw Object.assign(new Error('no'), { status: 400 });
    });
    app.use('/api/v1', v1);
    const board = express.Router();
    board.use((req, _res, next) => next(req.headers.authorization ? undefined : Object.assign(new Error('auth'), { status: 401 })));
    board.get('/api/queues', (_req, res) => void res.json([]));
    app.use('/admin/queues', board);
    app.use((_req, _res, next) => next(Object.assign(new Error('not found'), { status: 404 })));
    app.use((error: { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(error.status ?? 500).json({});
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterAll(async () => close?.());

  const count = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return parseExposition(text)
      .filter((s) => s.name === 'llmo_http_request_duration_seconds_count')
      .map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code} ${s.value}`);
  };

  it('labels requests by route pattern, never by their path', async () => {
    for (const id of ['a1', 'b2', 'c3']) await fetch(`${base}/api/v1/jobs/${id}`);
    expect(await count()).toContain('GET /api/v1/jobs/:id 200 3');
  });

  it('keeps the full pattern when an error handler answers', async () => {
    await fetch(`${base}/api/v1/broken/42`);
    expect(await count()).toContain('GET /api/v1/broken/:id 400 1');
  });

  it('puts paths no route matched into one series per mount point', async () => {
    await fetch(`${base}/no/such/thing-1`);
    await fetch(`${base}/no/such/thing-2`);
    await fetch(`${base}/api/v1/unknown-1`);
    await fetch(`${base}/admin/queues/api/queues`);
    await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: 'x' } });
    const lines = await count();
    expect(lines).toContain('GET unmatched 404 2');
    expect(lines).toContain('GET /api/v1/* 404 1');
    expect(lines).toContain('GET /admin/queues/* 401 1');
    expect(lines).toContain('GET /admin/queues/api/queues 200 1');
    expect(lines.some((line) => line.includes('thing-') || line.includes('unknown-1'))).toBe(false);
  });

  it('labels a route by its pattern whatever the casing of the path that matched it', async () => {
    for (const path of ['/API/v1/jobs/a1', '/api/V1/jobs/b2', '/Api/V1/JOBS/c3']) await fetch(`${base}${path}`);
    await fetch(`${base}/ADMIN/Queues/api/queues`, { headers: { authorization: 'x' } });
    const lines = await count();
    expect(lines).toContain('GET /api/v1/jobs/:id 200 6');
    expect(lines).toContain('GET /admin/queues/api/queues 200 2');
    expect(lines.filter((line) => /[A-Z]/.test(line.split(' ')[1]!))).toEqual([]);
  });

  it('labels paths no route matched by the mount point in its registered casing', async () => {
    await fetch(`${base}/Admin/QUEUES/x.js`);
    await fetch(`${base}/API/v1/Unknown-2`);
    await fetch(`${base}/NO/Such/Thing-3`);
    const lines = await count();
    expect(lines).toContain('GET /admin/queues/* 401 2');
    expect(lines).toContain('GET /api/v1/* 404 2');
    expect(lines).toContain('GET unmatched 404 3');
  });

  it('answers /metrics in the Prometheus text format', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // Every earlier lookup was a scrape too: the series counts them under the route's own pattern.
    expect((await count()).some((line) => /^GET \/metrics 200 [1-9]\d*$/.test(line))).toBe(true);
  });
});
