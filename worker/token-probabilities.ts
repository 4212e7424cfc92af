import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { logprobOf, type TokenLogprob } from '../core/contract/logprobs.ts';

/**
 * Token log probabilities of a generation. node-llama-cpp's LlamaChat and LlamaCompletion do not
 * expose them, but both generate through `sequence.evaluate()`, which is `evaluateWithMetadata()`
 * without metadata. For the length of a job that asks for logprobs, the sequence's `evaluate` is
 * shadowed by one that asks for the probabilities of every position and keeps them, in order.
 *
 * They are the probabilities the token was sampled from: after logit_bias, penalties and the
 * grammar, and (when temperature > 0) after top_k, top_p and temperature. At temperature 0 that is
 * the model's own distribution. Each position moves the whole vocabulary's probabilities from
 * llama.cpp into JavaScript, so this costs time per token and is done only when asked for.
 */
export class TokenProbabilities {
  /**
   * Each generated position, in generation order, not yet matched to a released token: the
   * chosen token's probability and the most likely ones (not the whole vocabulary's map, which
   * would hold a large model's 100k+ entries per token for the length of the job).
   */
  private readonly positions: Position[] = [];
  /** The released tokens so far: the context of the next token's text. */
  private readonly released: Token[] = [];

  constructor(
    private readonly model: LlamaModel,
    private readonly top: number,
  ) {}

  /** Shadows the sequence's `evaluate` until the returned function is called. */
  record(sequence: LlamaContextSequence): () => void {
    const { positions, top } = this;
    async function* evaluate(tokens: Token[], options?: Parameters<LlamaContextSequence['evaluate']>[1]): AsyncGenerator<Token, void, Token | Token[] | void> {
      const iterator = sequence.evaluateWithMetadata(tokens, { probabilities: true }, options);
      let input: Token | Token[] | void = undefined;
      try {
        for (;;) {
          const { value, done } = await iterator.next(input);
          if (done) return;
          positions.push(positionOf(value.token, value.probabilities, top));
          input = yield value.token;
        }
      } finally {
        await iterator.return();
      }
    }
    Object.defineProperty(sequence, 'evaluate', { value: evaluate, configurable: true, writable: true });
    return () => {
      delete (sequence as Partial<Record<'evaluate', unknown>>).evaluate;
    };
  }

  /**
   * The entries of tokens the generation released, with the text they released. Released tokens
   * are generated tokens in order, some left out (a stop trigger's, a segment marker's), so each
   * takes the next recorded position of the same token, and those it passes are dropped. The
   * text is split over the tokens as each alone detokenizes, when that adds up to it; otherwise
   * (a character made of several byte tokens) the last token carries it.
   */
  entries(tokens: readonly Token[], text: string): TokenLogprob[] {
    const texts = this.split(tokens, text);
    return tokens.map((token, i) => {
      const position = this.take(token);
      const tokenText = texts[i] ?? '';
      const entry: TokenLogprob = {
        token: tokenText,
        logprob: logprobOf(position?.probability ?? 0),
        top: this.topOf(position, token, tokenText),
      };
      this.released.push(token);
      return entry;
    });
  }

  /** Tokens released outside the answer (a reasoning model's thoughts): they take their positions, and have no entries. */
  skip(tokens: readonly Token[]): undefined {
    for (const token of tokens) this.take(token);
    this.released.push(...tokens);
    return undefined;
  }

  /** The next recorded position of `token`; none (and nothing dropped) if it was not recorded. */
  private take(token: Token): Position | undefined {
    const at = this.positions.findIndex((position) => position.token === token);
    return at < 0 ? undefined : this.positions.splice(0, at + 1)[at];
  }

  private split(tokens: readonly Token[], text: string): string[] {
    if (tokens.length <= 1) return [text];
    const context = this.released.slice(-8);
    const pieces = tokens.map((token, i) => this.model.detokenize([token], false, [...context, ...tokens.slice(0, i)]));
    if (pieces.join('') === text) return pieces;
    return [...tokens.slice(1).map(() => ''), text];
  }

  private topOf(position: Position | undefined, chosen: Token, chosenText: string): TokenLogprob['top'] {
    if (!position) return [];
    const context = this.released.slice(-8);
    // The chosen token as the answer shows it (the first token of an answer may lose its leading space).
    return position.top.map(([token, probability]) => ({
      token: token === chosen ? chosenText : this.model.detokenize([token], false, context),
      logprob: logprobOf(probability),
    }));
  }
}

interface Position {
  token: Token;
  probability: number;
  /** The most likely tokens, most likely first. */
  top: [Token, number][];
}

/** node-llama-cpp's map is sorted most likely first. */
function positionOf(token: Token, probabilities: Map<Token, number>, top: number): Position {
  const most: [Token, number][] = [];
  for (const entry of probabilities) {
    if (most.length >= top) break;
    most.push(entry);
  }
  return { token, probability: probabilities.get(token) ?? 0, top: most };
}
