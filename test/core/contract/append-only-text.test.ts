import { describe, expect, it } from 'vitest';
import { AppendOnlyText, finalText, textAfter } from '../../../core/contract/append-only-text.ts';

describe('AppendOnlyText (a stream whose job restarts)', () => {
  it('passes text on as it comes', () => {
    const text = new AppendOnlyText();
    expect(text.append('Once')).toBe('Once');
    expect(text.append(' upon')).toBe(' upon');
    expect(text.finish('Once upon a time')).toBe(' a time');
  });

  it('holds a restarted attempt back until it goes beyond what was sent, then sends only the new part', () => {
    const text = new AppendOnlyText();
    text.append('Once upon a');
    text.restart();
    expect(text.append('Once')).toBe('');
    expect(text.append(' upon a time')).toBe(' time');
    expect(text.finish('Once upon a time.')).toBe('.');
  });

  it('reports a restarted attempt that contradicts what was sent', () => {
    const text = new AppendOnlyText();
    text.append('Once upon a');
    text.restart();
    expect(text.append('There')).toBeUndefined();
  });

  it('reports a final text that contradicts what was sent', () => {
    const text = new AppendOnlyText();
    text.append('Once upon a');
    expect(text.finish('Long ago')).toBeUndefined();
  });
});

describe('textAfter', () => {
  it('is the part of the text after what was sent, when the text extends it', () => {
    expect(textAfter('Once', 'Once upon')).toBe(' upon');
    expect(textAfter('', 'Once')).toBe('Once');
    expect(textAfter('Once', 'Once')).toBe('');
  });

  it('is undefined when the text does not begin with what was sent', () => {
    expect(textAfter('Once', ' Once upon')).toBeUndefined();
    expect(textAfter('Once upon', 'Once')).toBeUndefined();
  });
});

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
