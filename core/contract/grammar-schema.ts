/**
 * The schema a structured-output job carries to the worker: a JSON schema already reduced to the
 * forms node-llama-cpp's `GbnfJsonSchema` turns into a grammar (`llama.createGrammarForJsonSchema`),
 * each of which means there exactly what it means in JSON Schema, or less (json-schema-subset.ts).
 * Defined here rather than imported so that the API, which never loads node-llama-cpp, can build it.
 */

export type JsonPrimitive = string | number | boolean | null;
export type GrammarPrimitiveType = 'string' | 'number' | 'integer' | 'boolean' | 'null';

/** Definitions, only ever at the root, named `d0`, `d1`, … whatever the client called them. */
export type GrammarDefs = Record<string, GrammarSchema>;

export type GrammarSchema =
  | { type: GrammarPrimitiveType | GrammarPrimitiveType[] }
  | { type: 'string'; minLength?: number; maxLength?: number }
  | { type: 'string'; format: StringFormat }
  | { const: JsonPrimitive }
  | { enum: JsonPrimitive[] }
  | { oneOf: GrammarSchema[]; $defs?: GrammarDefs }
  | {
      type: 'object';
      properties?: Record<string, GrammarSchema>;
      additionalProperties?: true | GrammarSchema;
      minProperties?: number;
      maxProperties?: number;
      $defs?: GrammarDefs;
    }
  | { type: 'array'; items?: GrammarSchema; prefixItems?: GrammarSchema[]; minItems?: number; maxItems?: number; $defs?: GrammarDefs }
  | { $ref: string; $defs?: GrammarDefs };

export const STRING_FORMATS = ['date', 'time', 'date-time'] as const;
export type StringFormat = (typeof STRING_FORMATS)[number];

/**
 * The worker's number grammar writes at most this many digits before the point (and as many after
 * it), and no exponent: every number it writes is finite, and every integer a safe one
 * (worker/json-grammar.ts). Bounds at or beyond ±10^15 therefore exclude nothing it can write.
 */
export const GRAMMAR_NUMBER_DIGITS = 15;
export const GRAMMAR_NUMBER_BOUND = 10 ** GRAMMAR_NUMBER_DIGITS;
