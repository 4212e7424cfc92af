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

/** What counting an embedding input needs: the vocabulary's type decides which special tokens surround it. */
export type EmbeddingVocabulary = Vocabulary & Pick<LlamaModel, 'vocabularyType'>;

/**
 * Tokens an embedding context evaluates for a text: the text's tokens and the special tokens
 * node-llama-cpp's LlamaEmbeddingContext puts around them (as llama.cpp's tokenizer would: BOS and
 * EOS where the vocabulary asks for them, BERT's CLS and SEP for WPM vocabularies).
 */
export function embeddingInputTokens(vocabulary: EmbeddingVocabulary, text: string): number {
  const { tokens } = vocabulary;
  const type = String(vocabulary.vocabularyType);
  const first = type === 'rwkv' || type === 'ugm' ? null : type === 'wpm' || tokens.shouldPrependBosToken ? tokens.bos : null;
  const last = type === 'rwkv' ? null : type === 'wpm' ? tokens.sep : type === 'ugm' || tokens.shouldAppendEosToken ? tokens.eos : null;
  return vocabulary.tokenize(text, false).length + (first === null ? 0 : 1) + (last === null ? 0 : 1);
}

/** An embedding input fits when it is shorter than the context: node-llama-cpp refuses one that fills it. */
export function embeddingInputFits(inputTokens: number, contextSize: number): boolean {
  return inputTokens < contextSize;
}

/** The failure of an embedding input longer than the context; `index` names it among the request's inputs. */
export function embeddingInputTooLong(inputTokens: number, contextSize: number, index: number | undefined): JobFailure {
  const which = index === undefined ? 'input' : `input[${index}]`;
  return jobFailure('prompt_too_long', `${which} is ${inputTokens} tokens; an embedding input must be shorter than the context (${contextSize} tokens)`);
}
