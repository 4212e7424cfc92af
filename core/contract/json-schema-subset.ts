import type { GrammarDefs, GrammarSchema, JsonPrimitive } from './grammar-schema.ts';
import { has, invalid, object, own, single, SUBSET_LIMITS, unsupported, type Node, type SchemaType } from './json-schema-types.ts';

export { SchemaSubsetError, SUBSET_LIMITS } from './json-schema-types.ts';

/**
 * The JSON-schema subset a structured-output request may use, and its translation into the forms
 * node-llama-cpp builds a grammar from (grammar-schema.ts). The grammar's output must validate
 * against the client's schema, so a keyword is accepted only where the grammar enforces it
 * exactly, or more strictly (every property is always written; no extra keys unless asked for;
 * numbers without exponents). Anything else is refused, naming the keyword: never silently loosened.
 */

/** Keywords that do not constrain values: accepted anywhere and dropped. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$schema']);
const SUPPORTED = new Set([
  ...['$ref', '$defs', 'definitions', 'anyOf', 'enum', 'const', 'type'],
  ...['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  ...['items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems'],
  ...['minLength', 'maxLength', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
]);
const TYPES = new Set<string>(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

/** Any JSON value: what `{}` and `true` allow. */
const ANY: GrammarSchema = Object.freeze({
  oneOf: [{ type: ['string', 'number', 'boolean', 'null'] }, { type: 'object', additionalProperties: true }, { type: 'array' }],
}) as GrammarSchema;

interface Context {
  nodes: number;
  /** `$defs/<name>` or `definitions/<name>` → the definition's name in the translation. */
  defs: Map<string, string>;
}

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
