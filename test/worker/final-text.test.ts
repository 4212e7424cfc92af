import { describe, expect, it } from 'vitest';
import { finalText } from '../../worker/final-text.ts';

describe('finalText', () => {
  it('is the response when the emitted chunks are its beginning, or all of it', () => {
    expect(finalText('Once upon a time', 'Once upon a time')).toBe('Once upon a time');
    expect(finalText('Once upon a time!', 'Once upon a time')).toBe('Once upon a time!');
    expect(finalText('Once', '')).toBe('Once');
  });

  it('is what was emitted when the response disagrees with it (a leading space the first chunk lacked)', () => {
    expect(finalText(' Once upon a time', 'Once upon a time')).toBe('Once upon a time');
  });
});
