import { z } from 'zod';
import type { Config } from '../../core/config.ts';
import { componentSchemas, OPERATIONS, type ComponentName, type Operation, type ResponseSpec } from './operations.ts';

type JsonObject = Record<string, unknown>;

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

/** JSON Schemas of one group of components, with references between them as `#/components/schemas/...`. */
function toComponents(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: generated } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  // `$schema`/`$id` belong to standalone JSON Schema documents, not to OpenAPI components.
  return Object.fromEntries(
    Object.entries(generated).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as JsonObject;
      return [id, rest];
    }),
  );
}

function response(spec: ResponseSpec): JsonObject {
  return {
    description: spec.description,
    ...(spec.headers
      ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
      : {}),
    ...(spec.content
      ? { content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema: typeof schema === 'string' ? ref(schema) : schema }])) }
      : {}),
  };
}

/** One OpenAPI parameter per property of the schema a handler reads its query with. */
function queryParameters(schema: Operation['query']): JsonObject[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: 'query', required: json.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}

function operation(op: Operation): JsonObject {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  return {
    operationId: op.operationId,
    tags: op.tags,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(pathParams.length > 0 || op.query ? { parameters: [...pathParams, ...queryParameters(op.query)] } : {}),
    ...(op.open ? { security: [] } : {}),
    ...(op.body ? { requestBody: { required: true, content: { [op.bodyType ?? 'application/json']: { schema: ref(op.body) } } } } : {}),
    responses: Object.fromEntries(Object.entries(op.responses).map(([status, spec]) => [status, response(spec)])),
  };
}

/**
 * The OpenAPI 3.1 document of this API, generated from the schemas the server validates with and
 * with this deployment's limits (max_tokens, prompt length, wait), served at /api/openapi.json.
 */
export function buildOpenApiDocument(config: Config, version: string): JsonObject {
  const components = componentSchemas(config);
  const paths: Record<string, JsonObject> = {};
  for (const op of OPERATIONS) paths[op.path] = { ...paths[op.path], [op.method]: operation(op) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'llm-orchestrator',
      version,
      description:
        'LLM generation jobs through a queue: a native job API, an OpenAI-compatible API and token streams. ' +
        'When the server has API keys configured, every request but the health, readiness and documentation ones needs one.',
    },
    tags: [
      { name: 'jobs', description: 'The native job API.' },
      { name: 'openai', description: "OpenAI's completions, chat completions and responses, for OpenAI clients unchanged." },
      { name: 'files', description: "OpenAI's Files API: batch input uploaded, batch output read back." },
      { name: 'batches', description: "OpenAI's Batch API: a file of requests run as jobs of the queue, one output file back." },
      { name: 'operations', description: 'Probes, metrics and this description.' },
    ],
    paths,
    components: {
      schemas: { ...toComponents(components.input, 'input'), ...toComponents(components.output, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key in a header.' },
      },
    },
    // `{}`: without keys configured on the server, requests need none.
    security: [{}, { bearer: [] }, { apiKey: [] }],
  };
}
