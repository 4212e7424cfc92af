import { describe, expect, it } from 'vitest';
import { failureStatus } from '../../../core/contract/failure.ts';
import {
  completionPromptTokens,
  embeddingInputFits,
  embeddingInputTokens,
  embeddingInputTooLong,
  generationRoom,
  promptTooLong,
  type EmbeddingVocabulary,
  type Vocabulary,
} from '../../../core/contract/prompt-tokens.ts';

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

/** One token per character, with the special tokens and vocabulary type given. */
function embeddingVocabulary(type: string, special: { bos?: boolean; eos?: boolean; prependBos?: boolean; appendEos?: boolean; sep?: boolean }): EmbeddingVocabulary {
  return {
    ...vocabulary(special.bos ?? false),
    tokens: {
      bos: special.bos ? 1 : null,
      eos: special.eos ? 2 : null,
      sep: special.sep ? 3 : null,
      shouldPrependBosToken: special.prependBos ?? false,
      shouldAppendEosToken: special.appendEos ?? false,
    } as unknown as Vocabulary['tokens'],
    vocabularyType: type as EmbeddingVocabulary['vocabularyType'],
  };
}

describe('embedding input token counting', () => {
  it('adds BOS and EOS where the vocabulary asks for them, as LlamaEmbeddingContext does', () => {
    expect(embeddingInputTokens(embeddingVocabulary('spm', { bos: true, eos: true, prependBos: true }), 'abcd')).toBe(5);
    expect(embeddingInputTokens(embeddingVocabulary('bpe', { bos: true, eos: true, prependBos: true, appendEos: true }), 'abcd')).toBe(6);
    expect(embeddingInputTokens(embeddingVocabulary('bpe', { bos: true, eos: true }), 'abcd')).toBe(4);
  });

  it("surrounds a WPM (BERT) input with CLS and SEP, and a UGM (T5) input's end with EOS only", () => {
    expect(embeddingInputTokens(embeddingVocabulary('wpm', { bos: true, sep: true }), 'abcd')).toBe(6);
    expect(embeddingInputTokens(embeddingVocabulary('ugm', { bos: true, eos: true, prependBos: true }), 'abcd')).toBe(5);
  });

  it('fits an input shorter than the context, and refuses one that fills it as the client’s own fault', () => {
    expect(embeddingInputFits(511, 512)).toBe(true);
    expect(embeddingInputFits(512, 512)).toBe(false);
    const failure = embeddingInputTooLong(600, 512, 2);
    expect(failure).toMatchObject({ code: 'prompt_too_long', retryable: false, expose: true });
    expect(failure.message).toBe('input[2] is 600 tokens; an embedding input must be shorter than the context (512 tokens)');
    expect(embeddingInputTooLong(600, 512, undefined).message).toMatch(/^input is 600 tokens/);
  });
});
