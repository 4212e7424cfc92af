import { describe, expect, it } from 'vitest';
import { responseFormatRequestSchema, toJobResponseFormat } from '../../../core/contract/response-format.ts';
import { AppError } from '../../../core/errors.ts';

const schemaFormat = (schema: Record<string, unknown>) => responseFormatRequestSchema.parse({ type: 'json_schema', json_schema: { name: 'x', schema } });

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('toJobResponseFormat', () => {
  it('leaves text jobs without a format', () => {
    expect(toJobResponseFormat(undefined, [])).toBeUndefined();
    expect(toJobResponseFormat(null, ['x'])).toBeUndefined();
    expect(toJobResponseFormat({ type: 'text' }, ['x'])).toBeUndefined();
  });

  it('carries json_object as it is, and a schema translated', () => {
    expect(toJobResponseFormat({ type: 'json_object' }, [])).toEqual({ type: 'json_object' });
    expect(toJobResponseFormat(schemaFormat({ type: 'object', title: 'T', properties: { a: { type: 'boolean' } } }), [])).toEqual({
      type: 'json_schema',
      schema: { type: 'object', properties: { a: { type: 'boolean' } } },
    });
  });

  it('answers 400 unsupported_value for a keyword outside the subset, naming it and where it is', () => {
    const error = refusal(() => toJobResponseFormat(schemaFormat({ type: 'object', properties: { a: { type: 'string', pattern: 'x' } } }), []));
    expect(error).toMatchObject({ status: 400, code: 'unsupported_value', options: { param: 'response_format.json_schema.schema' } });
    expect(error.message).toMatch(/^response_format\.json_schema\.schema\.properties\.a: pattern is not supported/);
  });

  it('answers 400 invalid_value for a broken schema, and for stop beside a JSON format', () => {
    expect(refusal(() => toJobResponseFormat(schemaFormat({ type: 'nothing' }), []))).toMatchObject({ code: 'invalid_value' });
    expect(refusal(() => toJobResponseFormat({ type: 'json_object' }, ['}']))).toMatchObject({ code: 'invalid_value', options: { param: 'stop' } });
  });
});
