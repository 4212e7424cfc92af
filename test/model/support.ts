import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../core/logger.ts';

export interface CapturedLog {
  logger: Logger;
  /** Every record so far, parsed. */
  records: Array<{ level: number; msg: string; [field: string]: unknown }>;
  messages(level?: number): string[];
}

/** A real pino logger whose lines are kept for assertions. */
export function captureLog(): CapturedLog {
  const records: CapturedLog['records'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records, messages: (level) => records.filter((r) => level === undefined || r.level === level).map((r) => r.msg) };
}

export const WARN = 40;

export interface ModelServer {
  url(name: string): string;
  /** Requests received: method, path and Range header. */
  requests: Array<{ method: string; path: string; range: string | undefined }>;
  /** `stallAfter`: send this many bytes of a response, then keep the connection open without sending more. */
  mode: { stallAfter?: number };
  close(): Promise<void>;
}

/**
 * A local HTTP file server for downloads (loopback only): HEAD, GET and Range requests over
 * in-memory files; unknown paths answer 404.
 */
export async function startModelServer(files: Record<string, Buffer>): Promise<ModelServer> {
  const requests: ModelServer['requests'] = [];
  const mode: ModelServer['mode'] = {};
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    requests.push({ method: req.method ?? 'GET', path: name, range: req.headers.range });
    const data = files[name];
    if (!data) {
      res.writeHead(404).end('not found');
      return;
    }
    const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Number(range[2]) + 1 : data.length;
    res.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': end - start,
      ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${data.length}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (mode.stallAfter !== undefined && end > mode.stallAfter) {
      open.add(res);
      if (start < mode.stallAfter) res.write(data.subarray(start, mode.stallAfter));
      return;
    }
    res.end(data.subarray(start, end));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    requests,
    mode,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
