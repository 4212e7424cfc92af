import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  server: Server;
  /** The port bound: the one asked for, or the free one the system picked for `0`. */
  port: number;
}

/** Serves `app` on `host:port`; rejects when the port cannot be bound (EADDRINUSE and the like). */
export async function listen(app: RequestListener, port: number, host: string): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
