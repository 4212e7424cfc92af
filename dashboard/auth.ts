import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';

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
 * `WWW-Authenticate` challenge, which makes browsers ask for credentials. With a throttle, an
 * address that failed too often gets 429 with `Retry-After` until its block ends, before its
 * credentials are even looked at: a right guess during the block would tell the guesser nothing.
 */
export function basicAuth(credentials: Credentials, options: { throttle?: SignInThrottle; realm?: string } = {}): RequestHandler {
  const user = digest(credentials.user);
  const password = digest(credentials.password);
  const challenge = { 'WWW-Authenticate': `Basic realm="${options.realm ?? 'llm-orchestrator'}", charset="UTF-8"` };
  const { throttle } = options;
  const check = (header: string | undefined): 'none' | 'right' | 'wrong' => {
    const given = parseBasicAuth(header);
    const userOk = same(given?.user ?? '', user);
    const passwordOk = same(given?.password ?? '', password);
    if (!given) return 'none';
    return userOk && passwordOk ? 'right' : 'wrong';
  };
  const refused = () => new AppError(401, 'unauthorized', 'Bull Board needs a user name and password', { headers: challenge });
  const blocked = (seconds: number) =>
    new AppError(429, 'too_many_sign_in_failures', `too many failed sign-ins from this address; retry in ${seconds} s`, {
      headers: { 'Retry-After': String(seconds) },
    });

  if (!throttle) return (req, _res, next) => next(check(req.headers.authorization) === 'right' ? undefined : refused());
  return async (req, _res, next) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    try {
      const wait = await throttle.blockedFor(address);
      if (wait > 0) {
        next(blocked(wait));
        return;
      }
      const outcome = check(req.headers.authorization);
      if (outcome === 'right') {
        next();
        return;
      }
      // A request without credentials guesses nothing (a browser asks for them after this 401).
      const block = outcome === 'wrong' ? await throttle.failed(address) : 0;
      next(block > 0 ? blocked(block) : refused());
    } catch (error) {
      next(error);
    }
  };
}
