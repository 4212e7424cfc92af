import { describe, expect, it } from 'vitest';
import { AppendOnlyText } from '../../api/openai/stream-job.ts';

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
