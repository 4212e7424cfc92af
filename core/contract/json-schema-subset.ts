import { GRAMMAR_NUMBER_BOUND, STRING_FORMATS, type GrammarDefs, type GrammarPrimitiveType, type GrammarSchema, type JsonPrimitive } from './grammar-schema.ts';

/**
 * The JSON-schema subset a structured-output request may use, and its translation into the forms
 * node-llama-cpp builds a grammar from (grammar-schema.ts). The grammar's output must validate
 * against the client's schema, so a keyword is accepted only where the grammar enforces it
 * exactly, or more strictly (every property is always written; no extra keys unless asked for;
 * numbers without exponents). Anything else is refused, naming the keyword: never silently loosened.
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

/** Keywords that do not constrain values: accepted anywhere and dropped. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$schema']);
const SUPPORTED = new Set([
  ...['$ref', '$defs', 'definitions', 'anyOf', 'enum', 'const', 'type'],
  ...['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  ...['items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems'],
  ...['minLength', 'maxLength', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
]);
const WHY: Record<string, string> = {
  pattern: 'the grammar cannot enforce regular expressions',
  oneOf: 'the grammar makes a value match at least one branch, not exactly one (use anyOf)',
  multipleOf: 'the grammar cannot enforce it',
  patternProperties: 'the grammar cannot enforce regular expressions',
};
const TYPES = new Set<string>(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
type SchemaType = GrammarPrimitiveType | 'object' | 'array';

/** Any JSON value: what `{}` and `true` allow. */
const ANY: GrammarSchema = Object.freeze({
  oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }],
}) as GrammarSchema;

type Node = Readonly<Record<string, unknown>>;
interface Context {
  nodes: number;
  /** `$defs/<name>` or `definitions/<name>` → the definition's name in the translation. */
  defs: Map<string, string>;
}

const unsupported = (path: readonly string[], keyword: string, why = WHY[keyword] ?? "it is outside this server's JSON-schema subset") =>
  new SchemaSubsetError('unsupported', path, `${keyword} is not supported: ${why}`);
const invalid = (path: readonly string[], message: string) => new SchemaSubsetError('invalid', path, message);

/** Translates a client's JSON schema, or throws a SchemaSubsetError that names the keyword at fault. */
export function toGrammarSchema(schema: unknown): GrammarSchema {
  const root = object(schema, []);
  const context: Context = { nodes: 0, defs: new Map() };
  const sources: { alias: string; key: string; name: string; definition: unknown }[] = [];
  for (const key of ['$defs', 'definitions']) {
    if (!has(root, key)) continue;
    for (const [name, definition] of Object.entries(object(root[key], [key]))) {
      const alias = `d${context.defs.size}`;
      context.defs.set(`${key}/${name}`, alias);
      sources.push({ alias, key, name, definition });
    }
  }
  // Every definition is registered before any is translated: they may refer to each other.
  const defs: GrammarDefs = Object.fromEntries(sources.map(({ alias, key, name, definition }) => [alias, translate(definition, [key, name], context, 1)]));
  const translated = translate(root, [], context, 0);
  const canHoldDefs = 'oneOf' in translated || '$ref' in translated || ('type' in translated && (translated.type === 'object' || translated.type === 'array'));
  return context.defs.size > 0 && canHoldDefs ? { ...translated, $defs: defs } : translated;
}

function object(value: unknown, path: readonly string[]): Node {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'a schema must be a JSON object (or true)');
  return value as Node;
}

const own = (node: Node, key: string): unknown => (Object.hasOwn(node, key) ? node[key] : undefined);
const has = (node: Node, key: string) => Object.hasOwn(node, key);

function translate(value: unknown, path: readonly string[], context: Context, depth: number): GrammarSchema {
  if (value === true) return ANY;
  if (value === false) throw invalid(path, 'the schema false allows no value');
  const node = object(value, path);
  if (++context.nodes > SUBSET_LIMITS.nodes) throw unsupported(path, 'size', `schemas of more than ${SUBSET_LIMITS.nodes} subschemas`);
  if (depth > SUBSET_LIMITS.depth) throw unsupported(path, 'nesting', `schemas nested more than ${SUBSET_LIMITS.depth} levels deep`);
  const keys = Object.keys(node).filter((key) => !ANNOTATIONS.has(key));
  for (const key of keys) if (!SUPPORTED.has(key)) throw unsupported(path, key);
  for (const key of ['$defs', 'definitions']) if (path.length > 0 && has(node, key)) throw unsupported(path, key, 'definitions are accepted at the root only');
  const constraints = keys.filter((key) => key !== '$defs' && key !== 'definitions');
  const alone = (keyword: string, allowed: string[] = []) => {
    const other = constraints.find((key) => key !== keyword && !allowed.includes(key));
    if (other !== undefined) throw unsupported(path, other, `beside ${keyword}`);
  };
  const child = (sub: unknown, ...at: string[]) => translate(sub, [...path, ...at], context, depth + 1);

  if (has(node, '$ref')) {
    alone('$ref');
    return reference(node.$ref, path, context);
  }
  if (has(node, 'anyOf')) {
    alone('anyOf');
    const branches = node.anyOf;
    if (!Array.isArray(branches) || branches.length === 0) throw invalid([...path, 'anyOf'], 'anyOf must be a non-empty array of schemas');
    const translated = branches.map((branch, i) => child(branch, 'anyOf', String(i)));
    return translated.length === 1 && translated[0] ? translated[0] : { oneOf: translated };
  }
  const types = readTypes(own(node, 'type'), path);
  if (has(node, 'enum') || has(node, 'const')) {
    alone(has(node, 'enum') ? 'enum' : 'const', ['type']);
    return literals(node, types, path);
  }
  if (types === undefined) {
    if (constraints.length > 0) throw unsupported(path, constraints[0] ?? 'type', 'without a type: say which type it constrains ("type")');
    return ANY;
  }
  const branches = types.map((type) => single(node, type, path, child));
  return branches.length === 1 && branches[0] ? branches[0] : { oneOf: branches };
}

function reference(ref: unknown, path: readonly string[], context: Context): GrammarSchema {
  const match = typeof ref === 'string' ? /^#\/(\$defs|definitions)\/(.+)$/.exec(ref) : null;
  if (!match) throw unsupported(path, '$ref', 'only references to definitions at the root (#/$defs/<name>) are supported');
  let name: string;
  try {
    name = decodeURIComponent(match[2] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
  } catch {
    throw invalid([...path, '$ref'], `${String(ref)} is not a valid reference`);
  }
  const alias = context.defs.get(`${match[1]}/${name}`);
  if (alias === undefined) throw invalid([...path, '$ref'], `${String(ref)} names no definition`);
  return { $ref: `#/$defs/${alias}` };
}

function readTypes(value: unknown, path: readonly string[]): SchemaType[] | undefined {
  if (value === undefined) return undefined;
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((type) => typeof type === 'string' && TYPES.has(type))) {
    throw invalid([...path, 'type'], 'type must be one of string, number, integer, boolean, null, object, array (or a list of them)');
  }
  return [...new Set(list as SchemaType[])];
}

const isPrimitive = (value: unknown): value is JsonPrimitive => value === null || ['string', 'number', 'boolean'].includes(typeof value);

function ofType(value: JsonPrimitive, type: SchemaType): boolean {
  if (type === 'null') return value === null;
  if (type === 'integer') return Number.isInteger(value);
  return typeof value === type;
}

function literals(node: Node, types: SchemaType[] | undefined, path: readonly string[]): GrammarSchema {
  const keyword = has(node, 'enum') ? 'enum' : 'const';
  if (has(node, 'enum') && has(node, 'const')) throw unsupported(path, 'const', 'beside enum');
  const listed = keyword === 'enum' ? node.enum : [node.const];
  if (!Array.isArray(listed) || listed.length === 0) throw invalid([...path, 'enum'], 'enum must be a non-empty array');
  if (listed.length > SUBSET_LIMITS.enumValues) throw unsupported(path, keyword, `more than ${SUBSET_LIMITS.enumValues} values`);
  if (!listed.every(isPrimitive)) throw unsupported(path, keyword, 'only string, number, boolean and null values are supported');
  const values = [...new Set(listed)].filter((value) => types === undefined || types.some((type) => ofType(value, type)));
  if (values.length === 0) throw invalid([...path, keyword], `no value of ${keyword} is of the schema's type`);
  return values.length === 1 ? { const: values[0] ?? null } : { enum: values };
}

type Child = (sub: unknown, ...at: string[]) => GrammarSchema;

function count(node: Node, key: string, path: readonly string[]): number | undefined {
  const value = own(node, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalid([...path, key], `${key} must be a non-negative integer`);
  if (value > SUBSET_LIMITS.repeat) throw unsupported(path, key, `values above ${SUBSET_LIMITS.repeat}`);
  return value;
}

function single(node: Node, type: SchemaType, path: readonly string[], child: Child): GrammarSchema {
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
