import { Agent, get, type IncomingMessage, type RequestListener } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer } from '../../../core/http/close-server.ts';
import { listen, type Listening } from '../../../core/http/listen.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('closeServer', () => {
  let agent: Agent | undefined;
  afterEach(() => agent?.destroy());

  /** A GET over a keep-alive connection: resolves with the response once its headers arrive. */
  const request = async ({ port }: Listening): Promise<IncomingMessage> => {
    agent ??= new Agent({ keepAlive: true });
    return await new Promise((resolve, reject) => get({ host: '127.0.0.1', port, agent }, resolve).on('error', reject));
  };
  const timed = async (work: Promise<void>) => {
    const started = performance.now();
    await work;
    return performance.now() - started;
  };

  it('closes a keep-alive connection whose response ends after the close began, without waiting for its timeout', async () => {
    const handler: RequestListener = (_req, res) => void setTimeout(() => res.end('done'), 200);
    const listening = await listen(handler, 0, '127.0.0.1');
    const response = request(listening);
    await sleep(50);
    const ms = await timed(closeServer(listening.server, 10_000));
    const body = await response;
    body.resume();
    expect(body.statusCode).toBe(200);
    // Node's keep-alive timeout is 5 s: the close would wait for it without the sweep.
    expect(ms).toBeLessThan(1000);
  });

  it('lets a response in progress finish within the deadline', async () => {
    const handler: RequestListener = (_req, res) => void setTimeout(() => res.end('done'), 300);
    const listening = await listen(handler, 0, '127.0.0.1');
    const response = request(listening);
    await sleep(50);
    const closing = closeServer(listening.server, 5000);
    const body = await response;
    let text = '';
    for await (const chunk of body) text += String(chunk);
    await closing;
    expect(text).toBe('done');
  });

  it('cuts a response still open at the deadline, as an event stream is', async () => {
    const handler: RequestListener = (_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n');
    const listening = await listen(handler, 0, '127.0.0.1');
    const response = await request(listening);
    const ended = new Promise<void>((resolve) => response.once('close', resolve));
    response.resume();
    const ms = await timed(closeServer(listening.server, 300));
    await ended;
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1500);
  });

  it('returns at once for a server that does not listen', async () => {
    const listening = await listen((_req, res) => res.end(), 0, '127.0.0.1');
    await closeServer(listening.server, 1000);
    expect(await timed(closeServer(listening.server, 1000))).toBeLessThan(50);
  });
});

describe('listen', () => {
  it('reports the port the system picked for port 0', async () => {
    const { server, port } = await listen((_req, res) => res.end('hi'), 0, '127.0.0.1');
    try {
      expect(port).toBeGreaterThan(0);
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hi');
    } finally {
      await closeServer(server, 0);
    }
  });

  it('rejects when the port is taken', async () => {
    const first = await listen((_req, res) => res.end(), 0, '127.0.0.1');
    try {
      await expect(listen((_req, res) => res.end(), first.port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await closeServer(first.server, 0);
    }
  });
});
