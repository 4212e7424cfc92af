import { describe, expect, it } from 'vitest';
import { failureStatus } from '../../../core/contract/failure.ts';
import { completionPromptTokens, generationRoom, promptTooLong, type Vocabulary } from '../../../core/contract/prompt-tokens.ts';

/** A vocabulary of one token per character, with or without BOS: the count's arithmetic, without a model. */
function vocabulary(bos: boolean): Vocabulary {
  return {
    tokenize: ((text: string) => [...text].map((_, i) => i)) as unknown as Vocabulary['tokenize'],
    tokens: { bos: bos ? 1 : null } as unknown as Vocabulary['tokens'],
  };
}

describe('prompt token counting', () => {
  it("counts a completion prompt's tokens plus BOS when the model has one", () => {
    expect(completionPromptTokens(vocabulary(true), 'abcd')).toBe(5);
    expect(completionPromptTokens(vocabulary(false), 'abcd')).toBe(4);
  });

  it('leaves a chat one slot fewer than a completion', () => {
    expect(generationRoom(500, 512, 'completion')).toBe(12);
    expect(generationRoom(500, 512, 'chat')).toBe(11);
    expect(generationRoom(512, 512, 'completion')).toBe(0);
  });

  it('refuses a prompt that leaves no room as the client’s own fault', () => {
    const failure = promptTooLong(600, 512);
    expect(failure).toMatchObject({ code: 'prompt_too_long', retryable: false, expose: true });
    expect(failure.message).toBe('prompt is 600 tokens; the context holds 512 tokens including the generated ones');
    expect(failureStatus(failure)).toBe(400);
  });
});
