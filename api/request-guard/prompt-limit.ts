import { Buffer } from 'node:buffer';
import type { RequestHandler } from 'express';
import { generationRoom, promptTooLong } from '../../core/contract/prompt-tokens.ts';
import { AppError } from '../../core/errors.ts';
import type { PromptTokenizer } from './prompt-tokens.ts';

/**
 * A text of n UTF-8 bytes never has more than n + 1 tokens (every token spells at least one byte;
 * the tokenizer may add one leading space), plus BOS: below this no tokenizer is needed.
 */
const cannotOverflow = (text: string, contextSize: number) => Buffer.byteLength(text, 'utf8') + 2 < contextSize;

/** Completion prompts of a body: `prompt` as a string, or as strings (OpenAI's completions allow both). */
function promptsOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const { prompt } = body as { prompt?: unknown };
  if (typeof prompt === 'string') return [prompt];
  return Array.isArray(prompt) ? prompt.filter((p): p is string => typeof p === 'string') : [];
}

/**
 * Refuses, before anything is queued, a completion prompt that does not fit the model's context:
 * 400 `prompt_too_long`, counted exactly as the worker counts (text tokens + BOS >= context).
 * Chat messages become a prompt only through the model's chat template, so the worker checks those
 * (same code, as a failed job). Schema validation stays with the route: this looks only at prompts.
 */
export function promptLimit(tokenizer: Promise<PromptTokenizer | undefined>, maxPromptChars: number): RequestHandler {
  return async (req, _res, next) => {
    const prompts = req.method === 'POST' ? promptsOf(req.body) : [];
    // Over the character limit the route's schema refuses it (invalid_request): never tokenize that much.
    if (prompts.length === 0 || prompts.some((prompt) => prompt.length > maxPromptChars)) {
      next();
      return;
    }
    const counter = await tokenizer;
    if (!counter) {
      next();
      return;
    }
    const { contextSize } = counter;
    for (const [index, prompt] of prompts.entries()) {
      if (cannotOverflow(prompt, contextSize)) continue;
      const tokens = counter.promptTokens(prompt);
      if (generationRoom(tokens, contextSize, 'completion') < 1) {
        const { code, message } = promptTooLong(tokens, contextSize);
        next(new AppError(400, code, message, { param: prompts.length > 1 ? `prompt.${index}` : 'prompt' }));
        return;
      }
    }
    next();
  };
}
