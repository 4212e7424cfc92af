import { closeSync, openSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import os from 'node:os';

export interface HeldLock {
  /** Marks the lock as alive now. */
  touch(): void;
}

/**
 * A lock file shared by every process using the same models directory (several workers on one
 * volume start at once): `fn` runs while this process holds `<file>`. The holder touches the file
 * every few seconds; one untouched for `staleMs` belonged to a process that died and is taken over.
 * Work that holds the thread for long (writing or quantizing a model) calls `lock.touch()` as it
 * goes, since the timer cannot run meanwhile.
 */
export async function withFileLock<T>(
  file: string,
  fn: (lock: HeldLock) => Promise<T>,
  options: { staleMs?: number; pollMs?: number; onWait?: () => void } = {},
): Promise<T> {
  const staleMs = options.staleMs ?? 30_000;
  const pollMs = options.pollMs ?? 250;
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${os.hostname()} ${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - statSync(file).mtimeMs > staleMs) rmSync(file, { force: true });
    } catch {
      // released meanwhile
    }
    if (!waited) options.onWait?.();
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const touch = () => {
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // removed by someone who thought it stale; nothing better to do than carry on
    }
  };
  const timer = setInterval(touch, Math.max(1000, staleMs / 4));
  timer.unref();
  try {
    return await fn({ touch });
  } finally {
    clearInterval(timer);
    rmSync(file, { force: true });
  }
}
