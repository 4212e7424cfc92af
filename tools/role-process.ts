/**
 * Starting the system's roles as real processes, the way operators run them, and watching their
 * log lines: what the multi-process tests and the benchmark both need.
 *
 * It lives in tools/ because it runs beside the system from a checkout, never inside a role: core/
 * is for the running processes (and must not know how they are launched), test/ is for the tests
 * (the benchmark must not depend on test code), and bench/ would make the tests depend on the
 * benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DECODE_POOL_SIZE } from '../core/model/inference-plan.ts';
import { projectRoot } from '../core/paths.ts';

export type Role = 'api' | 'worker' | 'dashboard' | 'all';

export interface RoleProcess {
  role: Role;
  child: ChildProcess;
  /** Every log line so far (JSON lines from pino, plus anything on stderr). */
  lines: string[];
  /** Resolves with the first line that contains `text` (already seen lines count). */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Line a role logs once it serves: the API listens, the worker has its model loaded. */
export const READY_LINE: Record<Role, string> = {
  api: 'api listening',
  worker: 'worker ready',
  dashboard: 'dashboard listening',
  all: 'llm-orchestrator ready',
};

/**
 * Starts a role as a real process, as operators do: from TypeScript sources through tsx by
 * default, or from the build (`dist/<role>/main.js`) with `{ built: true }`.
 */
export function spawnRole(role: Role, env: Record<string, string>, options: { built?: boolean } = {}): RoleProcess {
  const args = options.built
    ? [path.join(projectRoot, 'dist', role, 'main.js')]
    : ['--import', 'tsx', path.join(projectRoot, role, 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    // As the start scripts and the image do: llama.cpp contexts decode on libuv's pool (see inference-plan.ts).
    env: { ...process.env, LOG_LEVEL: 'info', UV_THREADPOOL_SIZE: String(DECODE_POOL_SIZE), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ text: string; resolve: (line: string) => void }>();
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      for (const waiter of waiters) {
        if (line.includes(waiter.text)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    role,
    child,
    lines,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForLine(text, timeoutMs = 60_000) {
      const seen = lines.find((line) => line.includes(text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { text, resolve: (line: string) => (clearTimeout(timer), resolve(line)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${role} did not log "${text}" within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (waiters.delete(waiter)) {
            clearTimeout(timer);
            reject(new Error(`${role} exited (${code ?? signal}) before logging "${text}"; last lines:\n${lines.slice(-15).join('\n')}`));
          }
        });
      });
    },
  };
}

/** Starts a role and waits until it serves. */
export async function startRole(role: Role, env: Record<string, string>, options: { built?: boolean } = {}): Promise<RoleProcess> {
  const proc = spawnRole(role, env, options);
  await proc.waitForLine(READY_LINE[role]);
  return proc;
}

/** SIGTERM, then SIGKILL after `graceMs` if still running. */
export async function stopRole(proc: RoleProcess, graceMs = 10_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}
