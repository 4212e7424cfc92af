import { zodResponseFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SchemaSubsetError, SUBSET_LIMITS, toGrammarSchema } from '../../../core/contract/json-schema-subset.ts';

/** The error a schema is refused with, as kind, path and message. */
function refusal(schema: unknown): { kind: string; path: string; message: string } {
  try {
    toGrammarSchema(schema);
  } catch (error) {
    if (!(error instanceof SchemaSubsetError)) throw error;
    return { kind: error.kind, path: error.path.join('.'), message: error.message };
  }
  throw new Error('the schema was accepted');
}

describe('toGrammarSchema', () => {
  it('translates the forms node-llama-cpp supports, dropping annotations', () => {
    expect(
      toGrammarSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        title: 'Person',
        type: 'object',
        properties: {
          name: { type: 'string', description: 'who', minLength: 1, maxLength: 20 },
          age: { type: 'integer' },
          born: { type: 'string', format: 'date' },
          kind: { type: 'string', enum: ['cat', 'dog'] },
          tags: { type: 'array', items: { type: 'string' }, maxItems: 3 },
          nickname: { type: ['string', 'null'] },
        },
        required: ['name', 'age'],
        additionalProperties: false,
      }),
    ).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 20 },
        age: { type: 'integer' },
        born: { type: 'string', format: 'date' },
        kind: { enum: ['cat', 'dog'] },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 3 },
        nickname: { oneOf: [{ type: 'string' }, { type: 'null' }] },
      },
    });
  });

  it('accepts what openai/helpers/zod makes of a zod schema', () => {
    const schema = z.object({
      name: z.string(),
      age: z.number().int(),
      pet: z.enum(['cat', 'dog']).nullable(),
      scores: z.array(z.number()).max(2),
      address: z.object({ city: z.string() }),
    });
    const format = zodResponseFormat(schema, 'person');
    expect(toGrammarSchema(format.json_schema.schema)).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string' },
        age: { type: 'integer' },
        pet: { oneOf: [{ enum: ['cat', 'dog'] }, { type: 'null' }] },
        scores: { type: 'array', items: { type: 'number' }, maxItems: 2 },
        address: { type: 'object', properties: { city: { type: 'string' } } },
      },
    });
  });

  it('maps anyOf to a union, and renames definitions so that references stay at the root', () => {
    expect(
      toGrammarSchema({
        anyOf: [{ $ref: '#/definitions/Leaf' }, { $ref: '#/$defs/my%20node' }],
        definitions: { Leaf: { type: 'number' } },
        $defs: { 'my node': { type: 'array', items: { $ref: '#/$defs/my%20node' } } },
      }),
    ).toEqual({
      oneOf: [{ $ref: '#/$defs/d1' }, { $ref: '#/$defs/d0' }],
      $defs: { d0: { type: 'array', items: { $ref: '#/$defs/d0' } }, d1: { type: 'number' } },
    });
  });

  it('lets an empty schema or true stand for any JSON value', () => {
    const any = toGrammarSchema({});
    expect(any).toEqual({ oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }] });
    expect(toGrammarSchema({ type: 'object', properties: { x: true } })).toEqual({ type: 'object', properties: { x: any } });
  });

  it('keeps only the enum values of the schema type, and refuses an enum left empty', () => {
    expect(toGrammarSchema({ type: 'integer', enum: [1, 1.5, 'a', 2] })).toEqual({ enum: [1, 2] });
    expect(toGrammarSchema({ const: 'x' })).toEqual({ const: 'x' });
    expect(refusal({ type: 'string', enum: [1, 2] })).toMatchObject({ kind: 'invalid', path: 'enum' });
  });

  it('turns items false after prefix items into a fixed length, and a draft-7 tuple into prefix items', () => {
    expect(toGrammarSchema({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false })).toEqual({
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'integer' }],
      maxItems: 2,
    });
    expect(toGrammarSchema({ type: 'array', items: [{ type: 'string' }], additionalItems: { type: 'boolean' } })).toEqual({
      type: 'array',
      prefixItems: [{ type: 'string' }],
      items: { type: 'boolean' },
    });
  });

  it('accepts number bounds that exclude nothing the grammar writes, and refuses the others', () => {
    expect(toGrammarSchema({ type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })).toEqual({ type: 'integer' });
    expect(refusal({ type: 'integer', minimum: 0 })).toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/^minimum is not supported/) });
    expect(refusal({ type: 'number', exclusiveMaximum: 1e15 })).toMatchObject({ kind: 'unsupported' });
  });

  it.each([
    ['pattern', { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z]+$' } } }, 'properties.id'],
    ['oneOf', { oneOf: [{ type: 'string' }, { type: 'number' }] }, ''],
    ['allOf', { allOf: [{ type: 'string' }] }, ''],
    ['not', { not: { type: 'string' } }, ''],
    ['if', { if: { type: 'string' }, then: { type: 'string' } }, ''],
    ['multipleOf', { type: 'integer', multipleOf: 5 }, ''],
    ['patternProperties', { type: 'object', patternProperties: { '^x': { type: 'string' } } }, ''],
    ['uniqueItems', { type: 'array', items: { type: 'string' }, uniqueItems: true }, ''],
    ['format', { type: 'string', format: 'email' }, ''],
    ['$ref', { type: 'object', properties: { self: { $ref: '#' } } }, 'properties.self'],
    ['$defs', { type: 'object', properties: { a: { type: 'string', $defs: {} } } }, 'properties.a'],
    ['nullable', { type: 'string', nullable: true }, ''],
    ['additionalProperties', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true }, ''],
    ['required', { type: 'object', properties: {}, required: ['ghost'] }, ''],
    ['maxProperties', { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, maxProperties: 1 }, ''],
    ['minProperties', { type: 'object', additionalProperties: { type: 'string' }, minProperties: 2 }, ''],
    ['maxItems', { type: 'array', prefixItems: [{ type: 'string' }, { type: 'string' }], maxItems: 1 }, ''],
    ['type', { type: 'string', minLength: 1, enum: ['a'] }, ''],
    ['properties', { properties: { a: { type: 'string' } } }, ''],
    ['maxLength', { type: 'string', maxLength: SUBSET_LIMITS.repeat + 1 }, ''],
  ])('refuses %s as unsupported, naming it', (keyword, schema, path) => {
    const error = refusal(schema);
    expect(error.kind).toBe('unsupported');
    expect(error.path).toBe(path);
    expect(error.message).toContain(keyword === 'type' ? 'minLength' : keyword);
  });

  it.each([
    ['a schema that is not an object', { type: 'object', properties: { a: 3 } }],
    ['an unknown type', { type: 'date' }],
    ['false', { type: 'object', properties: { a: false } }],
    ['a reference to nothing', { $ref: '#/$defs/missing' }],
    ['minLength above maxLength', { type: 'string', minLength: 5, maxLength: 2 }],
    ['a negative maxItems', { type: 'array', maxItems: -1 }],
    ['an empty anyOf', { anyOf: [] }],
  ])('refuses %s as invalid', (_name, schema) => {
    expect(refusal(schema).kind).toBe('invalid');
  });

  it('refuses schemas nested too deeply or too large, before they become grammars', () => {
    let deep: object = { type: 'string' };
    for (let i = 0; i < SUBSET_LIMITS.depth + 1; i++) deep = { type: 'array', items: deep };
    expect(refusal(deep).message).toMatch(/^nesting is not supported/);
    const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: SUBSET_LIMITS.nodes + 1 }, (_, i) => [`p${i}`, { type: 'null' }])) };
    expect(refusal(wide).message).toMatch(/^size is not supported/);
  });

  it('keeps a property named __proto__ as a property', () => {
    const translated = toGrammarSchema(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}'));
    expect(JSON.stringify(translated)).toBe('{"type":"object","properties":{"__proto__":{"type":"string"}}}');
  });
});
