import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { AppError } from '../../core/errors.ts';

/** A lone surrogate (`"\ud800"` in JSON) matches here; well-formed pairs do not. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What the parser's hooks throw; body-parser decorates it (http-errors), so it stays a plain Error. */
class BadUnicode extends Error {
  readonly status = 400;
  readonly type = 'unicode.invalid';
}

/**
 * Reads JSON bodies once, at the edge and only after authentication: at most `limitBytes` (413
 * above), strictly JSON objects or arrays, valid UTF-8, and no string (or key) that cannot be
 * encoded as UTF-8. Routes take `req.body` as this leaves it: they have no parser of their own.
 */
export function readJsonBody(limitBytes: number): RequestHandler {
  const parse = express.json({
    limit: limitBytes,
    strict: true,
    verify(_req, _res, buffer, encoding) {
      // The charset says UTF-8 (or nothing): bytes that are not UTF-8 would turn into U+FFFD silently.
      if ((encoding ?? 'utf-8').toLowerCase().replace('-', '') === 'utf8' && !isUtf8(buffer)) {
        throw new BadUnicode('the request body is not valid UTF-8');
      }
    },
    reviver(key, value) {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
        throw new BadUnicode('the request body contains a string with an unpaired surrogate');
      }
      return value;
    },
  });
  return (req, res, next) =>
    parse(req, res, (error?: unknown) => {
      next(error instanceof BadUnicode ? new AppError(400, 'invalid_unicode', error.message) : error);
    });
}
