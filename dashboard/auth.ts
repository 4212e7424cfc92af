import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.ts';

export interface Credentials {
  user: string;
  password: string;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
function same(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** Reads `Authorization: Basic base64(user:password)`; the password may contain `:`, the user may not. */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/=_-]+) *$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * HTTP basic auth in front of Bull Board. Both parts are always compared, in constant time,
 * so neither a wrong user nor a wrong password answers faster. Failures get 401 with a
 * `WWW-Authenticate` challenge, which makes browsers ask for credentials.
 */
export function basicAuth(credentials: Credentials, realm = 'llm-orchestrator'): RequestHandler {
  const user = digest(credentials.user);
  const password = digest(credentials.password);
  const challenge = { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` };
  return (req, _res, next) => {
    const given = parseBasicAuth(req.headers.authorization);
    const userOk = same(given?.user ?? '', user);
    const passwordOk = same(given?.password ?? '', password);
    if (given && userOk && passwordOk) {
      next();
      return;
    }
    next(new AppError(401, 'unauthorized', 'Bull Board needs a user name and password', { headers: challenge }));
  };
}
