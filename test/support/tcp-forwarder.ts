import net from 'node:net';

/**
 * Stands in for a managed Redis endpoint's DNS name (ElastiCache's primary endpoint): a new
 * connection reaches whichever node is the target when it is opened, while connections opened
 * before a retarget stay piped to the node they reached, as TCP connections do when a DNS record
 * changes under them. It can also stop answering for a while (`hold`), as a slow or congested host
 * does: connections opened meanwhile are accepted and left waiting; open ones keep flowing.
 */
export class TcpForwarder {
  private target: number;
  private readonly sockets = new Set<net.Socket>();
  private held: net.Socket[] = [];
  private holding = false;
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
    server.on('connection', (client) => forwarder.accept(client));
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

  /** Connections opened from now on are accepted and left waiting, until `release`. */
  hold(): void {
    this.holding = true;
  }

  /** Connects the waiting connections to the target, and new ones again. */
  release(): void {
    this.holding = false;
    for (const client of this.held.splice(0)) this.pipe(client);
  }

  /** Connections accepted and waiting while held. */
  get waiting(): number {
    return this.held.length;
  }

  async close(): Promise<void> {
    for (const socket of [...this.sockets, ...this.held.splice(0)]) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (!this.holding) return this.pipe(client);
    client.on('error', () => undefined);
    client.pause();
    this.held.push(client);
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
