import type { z } from 'zod';
import { AppError } from '../core/errors.ts';

/** Parses a request body against a schema; the first problems become one readable 400. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError(400, 'invalid_body', 'the request body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const describe = (issue: z.core.$ZodIssue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '';
    if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
    return where ? `${where}: ${issue.message}` : issue.message;
  };
  const message = parsed.error.issues.slice(0, 3).map(describe).join('; ');
  const param = first && first.code === 'unrecognized_keys' ? first.keys[0] : first?.path.join('.');
  throw new AppError(400, first?.code === 'unrecognized_keys' ? 'unknown_field' : 'invalid_request', message, {
    ...(param ? { param } : {}),
  });
}
