import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Messages between the harness and a baseline process: requests carry an id, replies echo it. */
export interface Request<T = unknown> {
  id: number;
  command: T;
}
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
export interface ReadyMessage {
  ready: true;
  info?: Record<string, unknown>;
}

/** A baseline running in its own process (TypeScript through tsx), driven over IPC. */
export class BaselineProcess<Command> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly stderr: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly info: Record<string, unknown>,
  ) {
    child.on('message', (message: Reply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(message.error));
    });
    child.once('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`baseline exited (${code ?? signal}): ${this.stderr.slice(-5).join('')}`));
      this.pending.clear();
    });
  }

  /** Starts `file` (a module next to this one) and waits for its ready message. */
  static async start<C>(file: string, env: Record<string, string>, timeoutMs = 60_000): Promise<BaselineProcess<C>> {
    const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${file} did not start within ${timeoutMs} ms: ${stderr.join('')}`));
      }, timeoutMs);
      child.once('message', (message: ReadyMessage) => {
        clearTimeout(timer);
        resolve(message.info ?? {});
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${file} exited with ${code}: ${stderr.join('')}`));
      });
    });
    const baseline = new BaselineProcess<C>(child, info);
    baseline.stderr.push(...stderr);
    child.stderr?.on('data', (chunk: Buffer) => baseline.stderr.push(chunk.toString()));
    return baseline;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async call<R>(command: Command): Promise<R> {
    const id = this.nextId++;
    return await new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, command } satisfies Request<Command>);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child's side: answers each request with `handle`, after sending `ready`. */
export function serveBaseline<C>(handle: (command: C) => Promise<unknown>, info: Record<string, unknown> = {}): void {
  process.on('message', (message: Request<C>) => {
    handle(message.command).then(
      (value) => process.send?.({ id: message.id, ok: true, value } satisfies Reply),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies Reply),
    );
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ ready: true, info } satisfies ReadyMessage);
}
