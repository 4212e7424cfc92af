import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { responseFormatKey, type JobResponseFormat } from '../core/contract/response-format.ts';
import { tightenJsonSchemaGrammar } from './json-grammar.ts';

/** Distinct response formats a pool thread keeps grammars for. */
export const GRAMMAR_CACHE_SIZE = 64;

/**
 * The grammars of a pool thread, one per distinct response format, least recently used first out.
 * A grammar is parsed by llama.cpp once and then shared by every job that asks for the same
 * format; a job holds its grammar while it runs, so evicting one never disturbs a generation.
 */
export class GrammarCache {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(
    private readonly llama: Llama,
    private readonly capacity = GRAMMAR_CACHE_SIZE,
  ) {}

  get size(): number {
    return this.grammars.size;
  }

  get(format: JobResponseFormat): Promise<LlamaGrammar> {
    const key = responseFormatKey(format);
    const known = this.grammars.get(key);
    if (known) {
      this.grammars.delete(key);
      this.grammars.set(key, known);
      return known;
    }
    const created = this.create(format);
    this.grammars.set(key, created);
    // A grammar that failed is not kept: the failure is reported to its job, and the next one tries again.
    created.catch(() => this.grammars.delete(key));
    for (const oldest of this.grammars.keys()) {
      if (this.grammars.size <= this.capacity) break;
      this.grammars.delete(oldest);
    }
    return created;
  }

  private async create(format: JobResponseFormat): Promise<LlamaGrammar> {
    if (format.type === 'json_object') return await this.llama.getGrammarFor('json');
    // The API translated the schema into the forms GbnfJsonSchema has (core/contract/json-schema-subset.ts).
    const generated = await this.llama.createGrammarForJsonSchema<GbnfJsonSchema, Record<string, GbnfJsonSchema>>(format.schema as GbnfJsonSchema);
    return await this.llama.createGrammar({
      grammar: tightenJsonSchemaGrammar(generated.grammar),
      stopGenerationTriggers: generated.stopGenerationTriggers,
      trimWhitespaceSuffix: generated.trimWhitespaceSuffix,
    });
  }
}
