import { getLlama, LlamaLogLevel, type Llama, type LlamaGrammar } from 'node-llama-cpp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GrammarSchema } from '../../core/contract/grammar-schema.ts';
import { toGrammarSchema } from '../../core/contract/json-schema-subset.ts';
import { GrammarCache } from '../../worker/grammar-cache.ts';
import { GrammarRewriteError, tightenJsonSchemaGrammar } from '../../worker/json-grammar.ts';

/** Whether llama.cpp's grammar matches the whole text (node-llama-cpp's own check, not in its typings). */
function matches(grammar: LlamaGrammar, text: string): boolean {
  const test = (grammar as unknown as { _testText?: (text: string) => boolean })._testText;
  if (typeof test !== 'function') throw new Error('node-llama-cpp no longer has LlamaGrammar._testText: this test needs another way to match text');
  return test.call(grammar, text);
}

/** The schema grammar ends its value with four newlines (node-llama-cpp's stop trigger for it). */
const END = '\n\n\n\n';

describe('the grammars of structured output', () => {
  let llama: Llama;
  let grammars: GrammarCache;
  const schemaGrammar = (schema: object) => grammars.get({ type: 'json_schema', schema: toGrammarSchema(schema) });

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    grammars = new GrammarCache(llama);
  });

  it('write integers of at most 15 digits, without exponent', async () => {
    const grammar = await schemaGrammar({ type: 'object', properties: { n: { type: 'integer' } } });
    expect(grammar.grammar).not.toContain('[eE]');
    expect(matches(grammar, `{"n": 123456789012345}${END}`)).toBe(true);
    expect(matches(grammar, `{"n": -7}${END}`)).toBe(true);
    for (const loose of ['1e-5', '1E3', '1234567890123456', '1.5']) expect(matches(grammar, `{"n": ${loose}}${END}`), loose).toBe(false);
  });

  it('write finite numbers only', async () => {
    const grammar = await schemaGrammar({ type: 'array', items: { type: 'number' } });
    expect(matches(grammar, `[1.5, -0.25, 3]${END}`)).toBe(true);
    expect(matches(grammar, `[1e999]${END}`)).toBe(false);
  });

  it('write only dates that exist (but February 29th)', async () => {
    const grammar = await schemaGrammar({ type: 'string', format: 'date' });
    for (const date of ['2024-01-31', '2024-02-28', '2024-04-30', '2024-12-31']) expect(matches(grammar, `"${date}"${END}`), date).toBe(true);
    for (const date of ['2024-02-30', '2024-04-31', '2024-02-29', '2024-13-01']) expect(matches(grammar, `"${date}"${END}`), date).toBe(false);
  });

  it('count characters of bounded strings the way every validator does', async () => {
    const grammar = await schemaGrammar({ type: 'string', minLength: 1, maxLength: 2 });
    for (const text of ['ab', 'é', '\\n']) expect(matches(grammar, `"${text}"${END}`), text).toBe(true);
    for (const text of ['😀', '\\u00e9', '', 'abc']) expect(matches(grammar, `"${text}"${END}`), text).toBe(false);
    // Unbounded strings keep every character.
    expect(matches(await schemaGrammar({ type: 'string' }), `"😀\\u00e9"${END}`)).toBe(true);
  });

  it('write every property, in order, and no other', async () => {
    const grammar = await schemaGrammar({ type: 'object', properties: { a: { type: 'boolean' }, b: { enum: ['x', 1] } }, required: ['a'] });
    expect(matches(grammar, `{"a": true, "b": "x"}${END}`)).toBe(true);
    expect(matches(grammar, `{"a": true}${END}`)).toBe(false);
    expect(matches(grammar, `{"a": true, "b": 1, "c": 2}${END}`)).toBe(false);
  });

  it('follow references, recursive ones too', async () => {
    const grammar = await schemaGrammar({
      $ref: '#/definitions/node',
      definitions: { node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/definitions/node' }, maxItems: 2 } } } },
    });
    expect(matches(grammar, `{"children": [{"children": []}]}${END}`)).toBe(true);
    expect(matches(grammar, `{"children": [{}]}${END}`)).toBe(false);
  });

  it('use llama.cpp\'s JSON grammar for json_object', async () => {
    const grammar = await grammars.get({ type: 'json_object' });
    expect(matches(grammar, '{"a": [1, "x", {"b": null}]}')).toBe(true);
    expect(matches(grammar, '[1]')).toBe(false);
  });

  it('are made once per distinct format, and the least recently used go first', async () => {
    const cache = new GrammarCache(llama, 2);
    const format = (n: number) => ({ type: 'json_schema' as const, schema: { const: n } satisfies GrammarSchema });
    const first = cache.get(format(1));
    expect(cache.get(format(1))).toBe(first);
    const second = cache.get(format(2));
    await Promise.all([first, second, cache.get(format(1)), cache.get(format(3))]);
    // 1 was used after 2, so 2 made room for 3.
    expect(cache.size).toBe(2);
    expect(cache.get(format(1))).toBe(first);
    expect(cache.get(format(2))).not.toBe(second);
  });
});

describe('tightenJsonSchemaGrammar', () => {
  it('fails loudly on a rule it does not know how to tighten', () => {
    expect(() => tightenJsonSchemaGrammar('root ::= string-format-date-rule\nstring-format-date-rule ::= "\\"" [0-9]{8} "\\""')).toThrow(GrammarRewriteError);
    expect(() => tightenJsonSchemaGrammar('root ::= string-0-5-rule\nstring-0-5-rule ::= "\\"" [a-z]{0,5} "\\""')).toThrow(GrammarRewriteError);
  });
});
