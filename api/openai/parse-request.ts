import type { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { UNSUPPORTED_OPTIONS } from './request-schemas.ts';

/** `messages.0.content` → `messages[0].content`, as OpenAI names parameters. */
function paramName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${String(part)}` : String(part)), '');
}

/**
 * Validates an OpenAI request body. Errors say which parameter is wrong, with OpenAI's codes:
 * `unknown_parameter` (a field this API does not have), `unsupported_value` (an OpenAI option
 * this server does not implement, used with a value other than its neutral one) or `invalid_value`.
 * `unsupported` names the endpoint's options of the second kind (the completions endpoints' by default).
 */
export function parseOpenAiRequest<S extends z.ZodObject>(
  schema: S,
  body: unknown,
  unsupported: ReadonlySet<string> = UNSUPPORTED_OPTIONS,
): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError(400, 'invalid_body', 'the request body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw new AppError(400, 'invalid_value', 'invalid request');

  // Inside an unsupported option (`tools[0].function`) the option is what is unsupported.
  const top = issue.path[0];
  if (typeof top === 'string' && unsupported.has(top)) {
    const shape = schema.shape as Record<string, z.ZodType | undefined>;
    const accepted = shape[top]?.description ?? 'Not supported.';
    return fail('unsupported_value', `${top} is not supported by this server with this value. ${accepted}`, top);
  }
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => paramName([...issue.path, key]));
    return fail('unknown_parameter', `unrecognized request argument(s): ${names.join(', ')}`, names[0]);
  }
  const param = paramName(issue.path);
  return fail('invalid_value', param ? `${param}: ${issue.message}` : issue.message, param || undefined);
}

function fail(code: string, message: string, param: string | undefined): never {
  throw new AppError(400, code, message, param === undefined ? {} : { param });
}
