import type { TokenLogprob } from '../../core/contract/logprobs.ts';
import type { ChatLogprobs, CompletionLogprobs } from './response-schemas.ts';

/**
 * A job's token log probabilities in the shapes of OpenAI's two endpoints: chat's list of tokens
 * (with their UTF-8 bytes), and the legacy completions' parallel arrays.
 */

const bytesOf = (text: string) => [...Buffer.from(text, 'utf8')];

export function chatLogprobs(entries: readonly TokenLogprob[]): ChatLogprobs {
  return {
    content: entries.map(({ token, logprob, top }) => ({
      token,
      logprob,
      bytes: bytesOf(token),
      top_logprobs: top.map((alternative) => ({ token: alternative.token, logprob: alternative.logprob, bytes: bytesOf(alternative.token) })),
    })),
    refusal: null,
  };
}

/**
 * `offset`: where the first entry's text starts in the completion's text (a stream's chunks
 * continue from the text already sent). Offsets count the generated text only, not the prompt,
 * and in JavaScript string units (UTF-16), as `text` is sliced.
 */
export function completionLogprobs(entries: readonly TokenLogprob[], offset = 0): CompletionLogprobs {
  const textOffset: number[] = [];
  let at = offset;
  for (const { token } of entries) {
    textOffset.push(at);
    at += token.length;
  }
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) => alternativesByText(entry.top)),
    text_offset: textOffset,
  };
}

/** Alternatives with the same text (two tokens that print alike) keep the more likely one; most likely first. */
function alternativesByText(top: TokenLogprob['top']): Record<string, number> {
  const byText: Record<string, number> = {};
  for (const { token, logprob } of top) if (!Object.hasOwn(byText, token)) byText[token] = logprob;
  return byText;
}
