import { Buffer } from 'node:buffer';
import type { Request, RequestHandler } from 'express';
import type { JobFailure } from '../../core/contract/failure.ts';
import { embeddingInputFits, embeddingInputTooLong, generationRoom, promptTooLong } from '../../core/contract/prompt-tokens.ts';
import { AppError } from '../../core/errors.ts';
import type { PromptTokenizer, RequestVocabulary } from './prompt-tokens.ts';
import { normalizePath } from './public-paths.ts';

/**
 * A text of n UTF-8 bytes never has more than n + 1 tokens (every token spells at least one byte;
 * the tokenizer may add one leading space), plus the special tokens around it (`special`: BOS for a
 * completion prompt; BOS and EOS at most for an embedding input): below this no tokenizer is needed.
 */
const cannotOverflow = (text: string, contextSize: number, special: number) => Buffer.byteLength(text, 'utf8') + 1 + special < contextSize;

/** Completion prompts of a body: `prompt` as a string, or as strings (OpenAI's completions allow both). */
function promptsOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const { prompt } = body as { prompt?: unknown };
  if (typeof prompt === 'string') return [prompt];
  return Array.isArray(prompt) ? prompt.filter((p): p is string => typeof p === 'string') : [];
}

/** The routes whose `input` is texts to embed; elsewhere `input` may mean something else. */
const EMBEDDING_PATHS = new Set(['/v1/embeddings', '/api/v1/embeddings']);

/** Whether a path is an embeddings route. */
export function isEmbeddingPath(path: string): boolean {
  return EMBEDDING_PATHS.has(normalizePath(path));
}

/** Texts to embed of an embeddings body: `input` as a string or as strings (anything else is the route's to refuse). */
function embeddingInputsOf(req: Pick<Request, 'path' | 'body'>): string[] {
  if (!isEmbeddingPath(req.path)) return [];
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const { input } = body as { input?: unknown };
  if (typeof input === 'string') return [input];
  return Array.isArray(input) && input.every((text) => typeof text === 'string') ? (input as string[]) : [];
}

/** The refusal of the first text that does not fit the context, if any. */
function firstOverflow(texts: string[], special: number, counter: PromptTokenizer, refuse: (text: string, index: number) => JobFailure | undefined) {
  for (const [index, text] of texts.entries()) {
    if (cannotOverflow(text, counter.contextSize, special)) continue;
    const failure = refuse(text, index);
    if (failure) return { failure, index };
  }
  return undefined;
}

/**
 * Refuses, before anything is queued, a completion prompt or an embedding input that does not fit
 * the model's context: 400 `prompt_too_long`, counted exactly as the worker counts (a prompt's
 * tokens + BOS must leave room to generate; an embedding input must be shorter than the context).
 * Chat messages become a prompt only through the model's chat template, so the worker checks those
 * (same code, as a failed job). Schema validation stays with the route: this looks only at lengths.
 */
export function promptLimit(vocabulary: RequestVocabulary, maxPromptChars: number): RequestHandler {
  return async (req, _res, next) => {
    const prompts = req.method === 'POST' ? promptsOf(req.body) : [];
    const inputs = req.method === 'POST' ? embeddingInputsOf(req) : [];
    // Over the character limit the route's schema refuses it (invalid_request): never tokenize that much.
    const texts = [...prompts, ...inputs];
    if (texts.length === 0 || texts.some((text) => text.length > maxPromptChars)) {
      next();
      return;
    }
    const counter = await vocabulary(req);
    if (!counter) {
      next();
      return;
    }
    const { contextSize } = counter;
    const prompt = firstOverflow(prompts, 1, counter, (text) => {
      const tokens = counter.promptTokens(text);
      return generationRoom(tokens, contextSize, 'completion') < 1 ? promptTooLong(tokens, contextSize) : undefined;
    });
    if (prompt) {
      next(refusal(prompt.failure, prompts.length > 1 ? `prompt.${prompt.index}` : 'prompt'));
      return;
    }
    const several = inputs.length > 1;
    const input = firstOverflow(inputs, 2, counter, (text, index) => {
      const tokens = counter.embeddingInputTokens(text);
      return embeddingInputFits(tokens, contextSize) ? undefined : embeddingInputTooLong(tokens, contextSize, several ? index : undefined);
    });
    if (input) {
      next(refusal(input.failure, several ? `input[${input.index}]` : 'input'));
      return;
    }
    next();
  };
}

const refusal = ({ code, message }: JobFailure, param: string) => new AppError(400, code, message, { param });
