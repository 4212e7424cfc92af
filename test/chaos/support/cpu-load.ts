import { spawn, type ChildProcess } from 'node:child_process';

export interface CpuLoad {
  readonly pids: number[];
  stop(): Promise<void>;
}

/**
 * Busy-looping processes at the machine's normal priority: they take their share of every core
 * from the system's processes as a noisy neighbour would, which delays whatever timers those
 * processes run (lock renewals among them).
 */
export function startCpuLoad(processes: number): CpuLoad {
  const children: ChildProcess[] = Array.from({ length: processes }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
  return {
    pids: children.map((child) => child.pid ?? -1),
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
