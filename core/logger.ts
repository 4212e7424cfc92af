import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; `role` tells api, worker and dashboard lines apart in shared log streams. */
export function createLogger(role: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]'], remove: true },
  });
}
