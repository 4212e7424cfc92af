import type { Response } from 'express';

export interface SseEvent {
  /** Event name (`event:`); omitted for OpenAI-style streams, whose clients read unnamed events. */
  event?: string;
  /** Entry id (`id:`), sent back by browsers as `Last-Event-ID` when they reconnect. */
  id?: string;
  /** A string is sent as is (`[DONE]`), anything else as JSON. */
  data: unknown;
}

/**
 * Server-sent events on an Express response: the headers that keep proxies from buffering,
 * framing, a heartbeat comment so idle connections are not cut, and backpressure (a slow client
 * makes `send` wait instead of piling tokens up in memory).
 */
export class SseWriter {
  /** Aborts when the client goes away before `end()`. */
  readonly signal: AbortSignal;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly gone: Promise<void>;
  private ended = false;

  constructor(
    private readonly res: Response,
    options: { heartbeatMs?: number; headers?: Record<string, string> } = {},
  ) {
    const abort = new AbortController();
    this.signal = abort.signal;
    this.gone = new Promise((resolve) =>
      res.once('close', () => {
        clearInterval(this.heartbeat);
        if (!this.ended) abort.abort();
        resolve();
      }),
    );
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx and Traefik-with-buffering pass events through only without buffering.
    res.setHeader('X-Accel-Buffering', 'no');
    for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
    res.flushHeaders();
    // Tokens are small writes; Nagle's algorithm would hold them back.
    res.socket?.setNoDelay(true);
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get open(): boolean {
    return !this.ended && !this.signal.aborted;
  }

  /** Resolves when the event is handed to the socket, or at once if the client is gone. */
  async send(event: SseEvent): Promise<void> {
    if (!this.open) return;
    let frame = '';
    if (event.event) frame += `event: ${event.event}\n`;
    if (event.id) frame += `id: ${event.id}\n`;
    const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
    for (const line of data.split('\n')) frame += `data: ${line}\n`;
    if (!this.write(`${frame}\n`)) await Promise.race([new Promise((resolve) => this.res.once('drain', resolve)), this.gone]);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    if (!this.signal.aborted) this.res.end();
  }

  private write(chunk: string): boolean {
    if (!this.open) return true;
    return this.res.write(chunk);
  }
}
