/**
 * The one error family of the system. `expose` says whether `message` may reach a client;
 * everything else is answered with a generic message and logged in full.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly options: { expose?: boolean; headers?: Record<string, string>; param?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
  }

  get expose(): boolean {
    return this.options.expose ?? this.status < 500;
  }
}

export const badRequest = (code: string, message: string, param?: string) =>
  new AppError(400, code, message, param === undefined ? {} : { param });
export const notFound = (message: string) => new AppError(404, 'not_found', message);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const unavailable = (code: string, message: string, retryAfterSeconds?: number) =>
  new AppError(503, code, message, {
    expose: true,
    ...(retryAfterSeconds === undefined ? {} : { headers: { 'Retry-After': String(retryAfterSeconds) } }),
  });

/** Thrown by model loading when the user pointed at something unusable; the message is meant for them. */
export class ModelError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
  }
}
