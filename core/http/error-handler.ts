import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isRedisUnavailableError } from '../redis.ts';

/**
 * Seconds a client is asked to wait while Redis is away (a restart with AOF takes a few): the one
 * `Retry-After` of every `503 redis_unavailable`, whichever route answers it.
 */
export const REDIS_RETRY_AFTER_SECONDS = 2;

/** Body-parser and http-errors style errors carry `status`/`type`; map them to our codes. */
function fromHttpError(error: unknown): AppError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (type) {
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'body_too_large', 'the request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_encoding', 'unsupported content encoding or charset');
    case 'request.aborted':
      return new AppError(400, 'request_aborted', 'the request was aborted');
    default:
      return new AppError(status, 'bad_request', 'the request could not be read');
  }
}

export interface ErrorBodyFormat {
  (error: AppError, message: string): unknown;
}

/** Our native error body. The OpenAI routes install their own format with the same handler. */
export const nativeErrorBody: ErrorBodyFormat = (error, message) => ({ error: { code: error.code, message } });

/**
 * The one place error responses are built: every error becomes `{"error": {...}}` with a
 * status; unexpected errors are logged in full and answered with a generic message.
 */
export function errorHandler(logger: Logger, format: ErrorBodyFormat = nativeErrorBody): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const redisAway = !(error instanceof AppError) && isRedisUnavailableError(error);
    const appError =
      error instanceof AppError
        ? error
        : redisAway
          ? unavailable('redis_unavailable', 'the job store is unavailable; retry shortly', REDIS_RETRY_AFTER_SECONDS)
          : (fromHttpError(error) ?? new AppError(500, 'internal_error', 'internal error', { expose: false, cause: error }));
    if (redisAway) {
      // An outage means many of these: one short line each, no stack.
      logger.warn({ err: (error as Error).message, requestId: res.locals.requestId, path: req.path }, 'redis unavailable');
    } else if (appError.status >= 500) {
      logger.error({ err: error, requestId: res.locals.requestId, path: req.path }, 'request failed');
    }
    const message = appError.expose ? appError.message : 'internal error';
    for (const [name, value] of Object.entries(appError.options.headers ?? {})) res.setHeader(name, value);
    res.status(appError.status).json(format(appError, message));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'route_not_found', `no route for ${req.method} ${req.path}`));
};
