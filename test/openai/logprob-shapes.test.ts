import { describe, expect, it } from 'vitest';
import type { TokenLogprob } from '../../core/contract/logprobs.ts';
import { chatLogprobs, completionLogprobs } from '../../api/openai/logprob-shapes.ts';
import { SentLogprobs } from '../../api/openai/sent-logprobs.ts';

const entries: TokenLogprob[] = [
  { token: 'Once', logprob: -0.1, top: [{ token: 'Once', logprob: -0.1 }, { token: 'One', logprob: -2.5 }] },
  { token: ' é', logprob: -1, top: [{ token: ' a', logprob: -0.5 }, { token: ' é', logprob: -1 }, { token: ' a', logprob: -3 }] },
];

describe("logprobs in OpenAI's shapes", () => {
  it('gives chat each token with its UTF-8 bytes and alternatives', () => {
    expect(chatLogprobs(entries)).toEqual({
      content: [
        {
          token: 'Once',
          logprob: -0.1,
          bytes: [79, 110, 99, 101],
          top_logprobs: [
            { token: 'Once', logprob: -0.1, bytes: [79, 110, 99, 101] },
            { token: 'One', logprob: -2.5, bytes: [79, 110, 101] },
          ],
        },
        {
          token: ' é',
          logprob: -1,
          bytes: [32, 0xc3, 0xa9],
          top_logprobs: [
            { token: ' a', logprob: -0.5, bytes: [32, 97] },
            { token: ' é', logprob: -1, bytes: [32, 0xc3, 0xa9] },
            { token: ' a', logprob: -3, bytes: [32, 97] },
          ],
        },
      ],
      refusal: null,
    });
  });

  it('gives completions parallel arrays, offsets from where the chunk starts, and the likelier of alternatives that print alike', () => {
    expect(completionLogprobs(entries, 7)).toEqual({
      tokens: ['Once', ' é'],
      token_logprobs: [-0.1, -1],
      top_logprobs: [
        { Once: -0.1, One: -2.5 },
        { ' a': -0.5, ' é': -1 },
      ],
      text_offset: [7, 11],
    });
  });
});

describe('the logprobs sent to a stream client', () => {
  it('sends each entry once, across a retry that replays them, and the rest of the result at the end', () => {
    const sent = new SentLogprobs();
    const [first, second] = entries as [TokenLogprob, TokenLogprob];
    sent.add([first]);
    expect(sent.take()).toEqual([first]);
    expect(sent.take()).toBeUndefined();
    sent.restart();
    sent.add([first]);
    expect(sent.take()).toBeUndefined();
    sent.add([second]);
    expect(sent.take()).toEqual([second]);
    expect(sent.rest(entries)).toBeUndefined();
    expect(new SentLogprobs().rest(entries)).toEqual(entries);
  });
});
