import { GRAMMAR_NUMBER_BOUND, STRING_FORMATS, type GrammarPrimitiveType, type GrammarSchema } from './grammar-schema.ts';

/**
 * The keywords of each JSON-schema type within the subset (json-schema-subset.ts), and the error
 * that refuses the others.
 */

export class SchemaSubsetError extends Error {
  constructor(
    /** `unsupported`: valid JSON Schema outside the subset; `invalid`: not a usable schema at all. */
    readonly kind: 'unsupported' | 'invalid',
    /** Where in the schema, as keys from its root (`['properties', 'name']`). */
    readonly path: readonly string[],
    message: string,
  ) {
    super(message);
    this.name = 'SchemaSubsetError';
  }
}

/** Bounds that keep a grammar small (llama.cpp expands `x{0,n}` into n rules) and its parse fast. */
export const SUBSET_LIMITS = { depth: 32, nodes: 2000, repeat: 1000, enumValues: 500 } as const;

/** Why a keyword is refused, where there is more to say than that it is outside the subset. */
const WHY: Record<string, string> = {
  pattern: 'the grammar cannot enforce regular expressions',
  oneOf: 'the grammar makes a value match at least one branch, not exactly one (use anyOf)',
  multipleOf: 'the grammar cannot enforce it',
  patternProperties: 'the grammar cannot enforce regular expressions',
};

export type SchemaType = GrammarPrimitiveType | 'object' | 'array';
export type Node = Readonly<Record<string, unknown>>;

export const unsupported = (path: readonly string[], keyword: string, why = WHY[keyword] ?? "it is outside this server's JSON-schema subset") =>
  new SchemaSubsetError('unsupported', path, `${keyword} is not supported: ${why}`);
export const invalid = (path: readonly string[], message: string) => new SchemaSubsetError('invalid', path, message);

export function object(value: unknown, path: readonly string[]): Node {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'a schema must be a JSON object (or true)');
  return value as Node;
}

export const own = (node: Node, key: string): unknown => (Object.hasOwn(node, key) ? node[key] : undefined);
export const has = (node: Node, key: string) => Object.hasOwn(node, key);

/** Translates a subschema at a path below the current one. */
type Child = (sub: unknown, ...at: string[]) => GrammarSchema;

function count(node: Node, key: string, path: readonly string[]): number | undefined {
  const value = own(node, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid([...path, key], `${key} must be a non-negative integer`);
  if (value > SUBSET_LIMITS.repeat) throw unsupported(path, key, `values above ${SUBSET_LIMITS.repeat}`);
  return value;
}

export function single(node: Node, type: SchemaType, path: readonly string[], child: Child): GrammarSchema {
  if (type === 'string') return string(node, path);
  if (type === 'number' || type === 'integer') return number(node, type, path);
  if (type === 'object') return objectType(node, path, child);
  if (type === 'array') return array(node, path, child);
  return { type };
}

function string(node: Node, path: readonly string[]): GrammarSchema {
  const format = own(node, 'format');
  if (format !== undefined) {
    if (!(STRING_FORMATS as readonly unknown[]).includes(format)) throw unsupported(path, 'format', `format ${JSON.stringify(format)} (only ${STRING_FORMATS.join(', ')})`);
    for (const key of ['minLength', 'maxLength']) if (has(node, key)) throw unsupported(path, key, 'beside format');
    return { type: 'string', format: format as (typeof STRING_FORMATS)[number] };
  }
  const minLength = count(node, 'minLength', path);
  const maxLength = count(node, 'maxLength', path);
  if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) throw invalid(path, 'minLength is above maxLength: no string is valid');
  return { type: 'string', ...(minLength ? { minLength } : {}), ...(maxLength === undefined ? {} : { maxLength }) };
}

/** Bounds are accepted only where they exclude nothing the grammar can write (zod's safe-integer bounds, for one). */
function number(node: Node, type: 'number' | 'integer', path: readonly string[]): GrammarSchema {
  for (const [key, sign] of [['minimum', -1], ['exclusiveMinimum', -1], ['maximum', 1], ['exclusiveMaximum', 1]] as const) {
    const bound = own(node, key);
    if (bound === undefined) continue;
    if (typeof bound !== 'number') throw invalid([...path, key], `${key} must be a number`);
    // An exclusive bound must lie beyond the bound: 999999999999999.9999 reads as 10^15.
    const excludes = key.startsWith('exclusive') ? bound * sign <= GRAMMAR_NUMBER_BOUND : bound * sign < GRAMMAR_NUMBER_BOUND;
    if (excludes) throw unsupported(path, key, `the grammar cannot bound numbers (only bounds beyond ±${GRAMMAR_NUMBER_BOUND} are accepted)`);
  }
  return { type };
}

function objectType(node: Node, path: readonly string[], child: Child): GrammarSchema {
  const properties = Object.entries(has(node, 'properties') ? object(node.properties, [...path, 'properties']) : {}).map(
    ([name, schema]) => [name, child(schema, 'properties', name)] as const,
  );
  const required = own(node, 'required');
  if (required !== undefined && (!Array.isArray(required) || !required.every((name) => typeof name === 'string'))) {
    throw invalid([...path, 'required'], 'required must be an array of property names');
  }
  const missing = required?.find((name) => !properties.some(([key]) => key === name));
  if (missing !== undefined) throw unsupported(path, 'required', `it names ${JSON.stringify(missing)}, which properties does not define`);
  const extra = own(node, 'additionalProperties');
  const additional = extra === undefined || extra === false ? undefined : extra === true ? true : child(extra, 'additionalProperties');
  if (additional !== undefined && properties.length > 0) {
    throw unsupported(path, 'additionalProperties', 'beside properties (an extra key could repeat a named one)');
  }
  const minProperties = count(node, 'minProperties', path);
  const maxProperties = count(node, 'maxProperties', path);
  if (additional === undefined) {
    // The grammar writes every property, and nothing else.
    if ((minProperties ?? 0) > properties.length) throw invalid(path, 'minProperties is above the number of properties, and no others are allowed');
    if (maxProperties !== undefined && maxProperties < properties.length) throw unsupported(path, 'maxProperties', 'below the number of properties (every property is always written)');
  } else if (minProperties) {
    throw unsupported(path, 'minProperties', 'with additionalProperties (generated keys could repeat)');
  }
  return {
    type: 'object',
    ...(properties.length > 0 ? { properties: Object.fromEntries(properties) } : {}),
    ...(additional === undefined ? {} : { additionalProperties: additional }),
    ...(additional !== undefined && maxProperties !== undefined ? { maxProperties } : {}),
  };
}

function array(node: Node, path: readonly string[], child: Child): GrammarSchema {
  if (own(node, 'uniqueItems') === true) throw unsupported(path, 'uniqueItems', 'the grammar cannot keep items apart');
  const tuple = Array.isArray(own(node, 'items'));
  if (tuple && has(node, 'prefixItems')) throw invalid(path, 'items as an array and prefixItems are two spellings of one thing: use one');
  const prefixSource = own(node, tuple ? 'items' : 'prefixItems');
  if (prefixSource !== undefined && !Array.isArray(prefixSource)) throw invalid([...path, 'prefixItems'], 'prefixItems must be an array of schemas');
  const prefixKey = tuple ? 'items' : 'prefixItems';
  const prefix = (prefixSource ?? []).map((item: unknown, i: number) => child(item, prefixKey, String(i)));
  const restKey = tuple ? 'additionalItems' : 'items';
  const restSource = own(node, restKey);
  const rest = restSource === undefined || restSource === true || restSource === false ? restSource : child(restSource, restKey);
  const minItems = count(node, 'minItems', path);
  let maxItems = count(node, 'maxItems', path);
  if (rest === false) maxItems = Math.min(maxItems ?? prefix.length, prefix.length);
  if (minItems !== undefined && maxItems !== undefined && minItems > maxItems) throw invalid(path, 'minItems is above the most items allowed: no array is valid');
  if (maxItems !== undefined && maxItems < prefix.length) throw unsupported(path, 'maxItems', 'below the number of prefix items (every prefix item is always written)');
  return {
    type: 'array',
    ...(prefix.length > 0 ? { prefixItems: prefix } : {}),
    ...(typeof rest === 'object' ? { items: rest } : {}),
    ...(minItems ? { minItems } : {}),
    ...(maxItems === undefined ? {} : { maxItems }),
  };
}
