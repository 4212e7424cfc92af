import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { basicAuthHeader, startBoardServer, type BoardServer } from './board-server.ts';

const USER = 'operator';
const PASSWORD = 'board-test-password';

describe('Bull Board (dashboard app)', () => {
  let stack: TestStack;
  let board: BoardServer;
  let readOnly: BoardServer;
  const auth = basicAuthHeader(USER, PASSWORD);

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    board = await startBoardServer(stack.config, { DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_READ_ONLY: false });
    readOnly = await startBoardServer(stack.config, { DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_READ_ONLY: true });
  });
  afterAll(async () => {
    await board?.close();
    await readOnly?.close();
    await stack?.close();
  });

  it('answers 401 with a Basic challenge and an error body without credentials', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/does-not-matter.js']) {
      const res = await http(board.url, 'GET', path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('answers 401 to a wrong password and to a wrong user', async () => {
    expect((await http(board.url, 'GET', '/admin/queues', undefined, basicAuthHeader(USER, 'guess'))).status).toBe(401);
    expect((await http(board.url, 'GET', '/admin/queues', undefined, basicAuthHeader('admin', PASSWORD))).status).toBe(401);
  });

  it('serves the board and its API with the right credentials', async () => {
    const page = await http(board.url, 'GET', '/admin/queues', undefined, auth);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const submitted = await http(stack.baseUrl, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 8, cache: false });
    expect(submitted.status).toBe(202);
    const api = await http(board.url, 'GET', '/admin/queues/api/queues', undefined, auth);
    expect(api.status).toBe(200);
    const queue = api.body.queues.find((q: { name: string }) => q.name === stack.config.QUEUE_NAME);
    expect(queue.counts.prioritized).toBe(1);
    expect(queue.readOnlyMode).toBe(false);
  });

  it('in read-only mode refuses to change the queue (405), and the queue stays as it was', async () => {
    const res = await http(readOnly.url, 'PUT', `/admin/queues/api/queues/${stack.config.QUEUE_NAME}/pause`, undefined, auth);
    expect(res.status).toBe(405);
    expect(await readOnly.queue.isPaused()).toBe(false);
    const listed = await http(readOnly.url, 'GET', '/admin/queues/api/queues', undefined, auth);
    expect(listed.body.queues[0].readOnlyMode).toBe(true);
  });

  it('outside read-only mode lets an operator pause and resume the queue', async () => {
    const paused = await http(board.url, 'PUT', `/admin/queues/api/queues/${stack.config.QUEUE_NAME}/pause`, undefined, auth);
    expect(paused.status).toBeLessThan(300);
    expect(await board.queue.isPaused()).toBe(true);
    await http(board.url, 'PUT', `/admin/queues/api/queues/${stack.config.QUEUE_NAME}/resume`, undefined, auth);
    expect(await board.queue.isPaused()).toBe(false);
  });

  it('serves /health and /metrics without credentials', async () => {
    expect((await http(board.url, 'GET', '/health')).body).toEqual({ status: 'ok' });
    const metrics = await http<string>(board.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    // The board's own requests, by route pattern (the queue counts come from dashboard/main.ts, tested with the real process).
    expect(metrics.body).toMatch(/llmo_http_request_duration_seconds_count\{method="GET",route="\/admin\/queues\/api\/queues",status_code="200"\} [1-9]/);
    expect(metrics.body).toMatch(/llmo_http_request_duration_seconds_count\{method="GET",route="\/admin\/queues\/\*",status_code="401"\} [1-9]/);
  });

  it('redirects / to the board', async () => {
    const res = await fetch(`${board.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/queues');
  });
});
