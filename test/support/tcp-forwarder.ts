import net from 'node:net';

/**
 * Stands in for a managed Redis endpoint's DNS name (ElastiCache's primary endpoint): a new
 * connection reaches whichever node is the target when it is opened, while connections opened
 * before a retarget stay piped to the node they reached, as TCP connections do when a DNS record
 * changes under them.
 */
export class TcpForwarder {
  private target: number;
  private readonly sockets = new Set<net.Socket>();
  /** Connections opened, by target port. */
  readonly opened = new Map<number, number>();

  private constructor(
    private readonly server: net.Server,
    targetPort: number,
  ) {
    this.target = targetPort;
  }

  static async start(targetPort: number): Promise<TcpForwarder> {
    const server = net.createServer();
    const forwarder = new TcpForwarder(server, targetPort);
    server.on('connection', (client) => forwarder.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return forwarder;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections opened from now on go to `port`; open ones are left where they are. */
  retarget(port: number): void {
    this.target = port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: net.Socket): void {
    const port = this.target;
    this.opened.set(port, (this.opened.get(port) ?? 0) + 1);
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      // Either side going away takes the other with it, as a dead TCP path would.
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
