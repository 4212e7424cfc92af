import type { Server } from 'node:http';
import { closeServer } from './http/close-server.ts';
import type { Logger } from './logger.ts';

/**
 * How long past its grace period a shutdown may run (closing connections, handing jobs back)
 * before the process exits anyway: a Redis that stopped answering must not keep it alive until
 * the orchestrator's SIGKILL.
 */
export const SHUTDOWN_OVERRUN_MS = 2000;

/** How a process stops, the same way in every entry point. */
export interface ShutdownPlan {
  /** `SHUTDOWN_GRACE_MS`: how long requests in progress (and a worker's active jobs) get to finish. */
  graceMs: number;
  /** HTTP servers: they stop accepting at once and close what is still open when the grace ends. */
  servers?: readonly Server[];
  /** Work that drains on its own clock beside the servers: a worker's `close()`, which honours the same grace. */
  drain?: () => Promise<void>;
  /** Then, once the servers are closed and the drain is done: services, connections, a local Redis. */
  release?: () => Promise<void>;
}

/**
 * SIGTERM/SIGINT run `shutdown` once and exit 0; a second signal exits at once.
 * Fatal startup errors print one line for the user (their message), never a stack trace.
 */
export function handleShutdown(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * `handleShutdown` for a service: on the signal the servers close and the drain runs side by side,
 * each bounded by the grace period; what the plan releases follows. Should any of it hang, the
 * process exits (1) `SHUTDOWN_OVERRUN_MS` after the grace period.
 */
export function handleGracefulShutdown(logger: Logger, plan: ShutdownPlan): void {
  handleShutdown(logger, async () => {
    const overrun = setTimeout(() => {
      logger.error({ graceMs: plan.graceMs, overrunMs: SHUTDOWN_OVERRUN_MS }, 'shutdown overran the grace period: exiting now');
      process.exit(1);
    }, plan.graceMs + SHUTDOWN_OVERRUN_MS);
    overrun.unref();
    await Promise.all([...(plan.servers ?? []).map((server) => closeServer(server, plan.graceMs)), plan.drain?.()]);
    await plan.release?.();
  });
}

export async function runMain(logger: Logger, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error instanceof Error ? { name: error.name, message } : error }, 'cannot start');
    process.stderr.write(`\nllm-orchestrator cannot start: ${message}\n`);
    process.exit(1);
  }
}
