import { randomBytes } from 'node:crypto';
import type { Config } from '../core/config.ts';
import type { Credentials } from './auth.ts';

export interface BoardCredentials extends Credentials {
  /** True when DASHBOARD_PASSWORD was unset and this password was made up at start. */
  generated: boolean;
}

/**
 * Bull Board's credentials: from DASHBOARD_USER/DASHBOARD_PASSWORD, or a random password when
 * none is configured, so that there is never a default password that works everywhere, and
 * `npm start` still works with no configuration.
 */
export function boardCredentials(config: Pick<Config, 'DASHBOARD_USER' | 'DASHBOARD_PASSWORD'>): BoardCredentials {
  if (config.DASHBOARD_PASSWORD) return { user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD, generated: false };
  return { user: config.DASHBOARD_USER, password: randomBytes(18).toString('base64url'), generated: true };
}

/** The one time a generated password is shown: a plain line on stdout, not a log record. */
export function announceGeneratedPassword(
  credentials: BoardCredentials,
  url: string,
  write: (text: string) => unknown = (text) => process.stdout.write(text),
): void {
  if (!credentials.generated) return;
  write(
    `\n  Bull Board ${url}\n` +
      `    user      ${credentials.user}\n` +
      `    password  ${credentials.password}   (generated at start: set DASHBOARD_PASSWORD to choose one)\n\n`,
  );
}
