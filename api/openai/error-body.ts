import type { AppError } from '../../core/errors.ts';
import type { ErrorBodyFormat } from '../../core/http/error-handler.ts';
import type { OpenAiError } from './response-schemas.ts';

/** OpenAI's error `type` for an HTTP status: what its clients switch on (the status decides their exception class). */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAiError(status: number, code: string | null, message: string, param?: string): OpenAiError {
  return { error: { message, type: openAiErrorType(status), param: param ?? null, code } };
}

/** The OpenAI routes' error body, built by the one shared error handler. */
export const openAiErrorBody: ErrorBodyFormat = (error: AppError, message: string) =>
  openAiError(error.status, error.code, message, error.options.param);
