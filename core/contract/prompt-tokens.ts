import type { LlamaModel } from 'node-llama-cpp';
import { jobFailure, type JobFailure } from './failure.ts';

/**
 * Prompt lengths in tokens, counted the same way where a prompt is refused early (the API, when
 * it can read the model's vocabulary) and where it is run (the worker).
 */

/** What counting needs of a model: its tokenizer and its BOS token. A vocabulary-only load has both. */
export type Vocabulary = Pick<LlamaModel, 'tokenize' | 'tokens'>;

/** Tokens the model evaluates for a completion prompt: the text's tokens plus BOS, which LlamaCompletion prepends. */
export function completionPromptTokens(vocabulary: Vocabulary, text: string): number {
  return vocabulary.tokenize(text, false, 'trimLeadingSpace').length + (vocabulary.tokens.bos === null ? 0 : 1);
}

/**
 * Tokens left for generation in a context of `contextSize`. A chat keeps one slot free: LlamaChat
 * shifts the context (drops history) once a sequence holds contextSize - 1 tokens, and a chat
 * should stop at the limit rather than lose its beginning.
 */
export function generationRoom(promptTokens: number, contextSize: number, kind: 'completion' | 'chat'): number {
  return contextSize - promptTokens - (kind === 'chat' ? 1 : 0);
}

/** The failure of a prompt that leaves no room to generate. */
export function promptTooLong(promptTokens: number, contextSize: number): JobFailure {
  return jobFailure('prompt_too_long', `prompt is ${promptTokens} tokens; the context holds ${contextSize} tokens including the generated ones`);
}
