import type { Logger } from './logger.ts';

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
