import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Request } from 'express';
import type { Token } from 'node-llama-cpp';
import type { Config } from '../../core/config.ts';
import type { BiasableVocabulary } from '../../core/contract/penalties.ts';
import { completionPromptTokens, embeddingInputTokens } from '../../core/contract/prompt-tokens.ts';
import type { Logger } from '../../core/logger.ts';
import { configuredModel } from '../../core/model/model-naming.ts';
import { redactUrl } from '../../core/redact-url.ts';

/**
 * Counts prompt tokens exactly as a worker does, from the model's vocabulary alone, and tells
 * which tokens a logit_bias may name.
 */
export interface PromptTokenizer extends BiasableVocabulary {
  /** Context of a sequence in tokens (prompt + generated), as the worker sizes it. */
  readonly contextSize: number;
  /** Tokens the model evaluates for a completion prompt: the text's tokens plus BOS. */
  promptTokens(text: string): number;
  /** Tokens an embedding context evaluates for a text: its tokens and the special tokens around them. */
  embeddingInputTokens(text: string): number;
}

/** The vocabulary that counts a request's tokens: its model's, when the API can read that model's file. */
export type RequestVocabulary = (req: Request) => Promise<PromptTokenizer | undefined>;

/** One vocabulary per model file per process, however many apps are built on it (tests build many). */
const loaded = new Map<string, Promise<PromptTokenizer>>();

async function loadVocabulary(modelPath: string, contextSetting: number): Promise<PromptTokenizer> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  // vocabOnly reads the tokenizer and metadata, not the weights: megabytes, whatever the model's size.
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  const trained = model.fileInsights.trainContextSize;
  const contextSize = trained ? Math.min(contextSetting, trained) : contextSetting;
  return {
    contextSize,
    promptTokens: (text) => completionPromptTokens(model, text),
    embeddingInputTokens: (text) => embeddingInputTokens(model, text),
    vocabularySize: model.fileInfo.metadata.tokenizer.ggml.tokens.length,
    endsGeneration: (token) => model.isEogToken(token as Token),
  };
}

/**
 * Starts reading the model's vocabulary in the background when the API can reach the model file
 * (same machine, or a shared volume). Resolves to undefined when it cannot: workers then refuse
 * over-long prompts themselves (the job fails with `prompt_too_long`).
 */
export function promptTokenizer(config: Config, logger: Logger): Promise<PromptTokenizer | undefined> {
  if (!config.CHECK_PROMPT_TOKENS) return Promise.resolve(undefined);
  const file = path.resolve(configuredModel(config));
  if (!existsSync(file)) {
    logger.info({ model: redactUrl(configuredModel(config)) }, 'model file not readable by the API: workers check prompt lengths in tokens');
    return Promise.resolve(undefined);
  }
  const key = `${file}#${config.CONTEXT_SIZE}`;
  let entry = loaded.get(key);
  if (!entry) {
    entry = loadVocabulary(file, config.CONTEXT_SIZE);
    loaded.set(key, entry);
  }
  return entry.then(
    (tokenizer) => tokenizer,
    (error: unknown) => {
      logger.warn({ err: (error as Error).message, model: file }, 'cannot read the model vocabulary: workers check prompt lengths in tokens');
      return undefined;
    },
  );
}
