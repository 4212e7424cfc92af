import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, badRequest } from '../errors.ts';
import type { GrammarSchema } from './grammar-schema.ts';
import { SchemaSubsetError, toGrammarSchema } from './json-schema-subset.ts';

/**
 * Tools (function calling): `tools`, `tool_choice` and `parallel_tool_calls` as OpenAI clients
 * send them, and what a chat job carries to the worker, which has the model call them through its
 * chat wrapper's function syntax (worker/tool-calls.ts).
 */

export const MAX_TOOLS = 64;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const functionName = z.string().regex(FUNCTION_NAME, 'a function name must be 1 to 64 letters, digits, _ or -');

export const toolRequestSchema = z
  .strictObject({
    type: z.literal('function'),
    function: z.strictObject({
      name: functionName,
      description: z.string().max(10_000).nullish().describe('Shown to the model with the function.'),
      parameters: z
        .record(z.string(), z.unknown())
        .nullish()
        .describe('A JSON schema of the arguments, within the subset of `response_format` (docs/openai.md); absent: no arguments.'),
      strict: z.boolean().nullish().describe('Accepted; arguments always follow the schema when a call is forced, whatever its value.'),
    }),
  })
  .describe('A function the model may call.');
export type ToolRequest = z.infer<typeof toolRequestSchema>;

export const toolChoiceRequestSchema = z
  .union(
    [
      z.enum(['none', 'auto', 'required']),
      z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: functionName }) }),
    ],
    { error: 'tool_choice must be none, auto, required or {"type": "function", "function": {"name": ...}}' },
  )
  .describe('`auto` (default with tools): the model chooses; `required`: it must call one; a named function: it must call that one; `none`: it answers in text.');
export type ToolChoiceRequest = z.infer<typeof toolChoiceRequestSchema>;

/** A function as the worker shows it to the model; `parameters` already in the grammar's subset. */
export interface ToolFunction {
  name: string;
  description?: string;
  parameters?: GrammarSchema;
}

/**
 * What a chat job with tools carries. `auto`: the model may call a function or answer in text;
 * `required`: a grammar forces a call of one of `functions`; a name: of that function (then the
 * only one listed). `parallel`: whether one answer may hold several calls.
 */
export interface JobTools {
  functions: ToolFunction[];
  choice: 'auto' | 'required' | { name: string };
  parallel: boolean;
}

/** A call the model made: `arguments` is its JSON text, as OpenAI sends it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ToolsRequest {
  tools?: ToolRequest[] | null;
  tool_choice?: ToolChoiceRequest | null;
  parallel_tool_calls?: boolean | null;
}

/**
 * The job's tools, or undefined when the model is to answer in text (no tools, or `tool_choice:
 * none`: it is then not shown them). Checks what OpenAI checks, and that every schema is within
 * the subset the grammar enforces, naming the keyword that is not (400) before anything is queued.
 */
export function toJobTools(request: ToolsRequest, responseFormat: unknown): JobTools | undefined {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? (tools.length > 0 ? 'auto' : 'none');
  if (tools.length === 0) {
    if (choice !== 'none') throw badRequest('invalid_value', 'tool_choice: there are no tools to choose from', 'tool_choice');
    return undefined;
  }
  const names = new Set<string>();
  tools.forEach((tool, i) => {
    if (names.has(tool.function.name)) throw badRequest('invalid_value', `tools[${i}]: the function name ${tool.function.name} is used twice`, `tools[${i}].function.name`);
    names.add(tool.function.name);
  });
  if (choice === 'none') return undefined;
  if (responseFormat !== undefined) {
    throw badRequest('invalid_value', 'tools cannot be combined with response_format json_object or json_schema: the answer is either a call or JSON text', 'response_format');
  }
  const functions = tools.map((tool, i) => toolFunction(tool, i));
  if (typeof choice === 'object') {
    const named = functions.find((fn) => fn.name === choice.function.name);
    if (!named) throw badRequest('invalid_value', `tool_choice: there is no tool named ${choice.function.name}`, 'tool_choice');
    return { functions: [named], choice: { name: named.name }, parallel: false };
  }
  return { functions, choice, parallel: request.parallel_tool_calls ?? true };
}

function toolFunction(tool: ToolRequest, index: number): ToolFunction {
  const { name, description, parameters } = tool.function;
  const param = `tools[${index}].function.parameters`;
  const fn: ToolFunction = { name, ...(description ? { description } : {}) };
  // An object schema with no properties is no arguments at all, as an absent one.
  if (!parameters || (parameters.type === 'object' && Object.keys((parameters.properties as object | undefined) ?? {}).length === 0 && !parameters.additionalProperties)) {
    return fn;
  }
  if (parameters.type !== 'object') throw badRequest('invalid_value', `${param}: the arguments must be a JSON object schema ("type": "object")`, param);
  try {
    return { ...fn, parameters: toGrammarSchema(parameters) };
  } catch (error) {
    if (!(error instanceof SchemaSubsetError)) throw error;
    const where = [param, ...error.path].join('.');
    throw new AppError(400, error.kind === 'unsupported' ? 'unsupported_value' : 'invalid_value', `${where}: ${error.message}`, { param });
  }
}

/**
 * The id of a job's `index`th call: stable for the job (a retry, a replay from the cache and the
 * stream all name a call alike), unique between jobs, in OpenAI's `call_` form.
 */
export function toolCallId(jobId: string, index: number): string {
  return `call_${createHash('sha256').update(`${jobId}:${index}`).digest('hex').slice(0, 24)}`;
}
