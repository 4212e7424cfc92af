/** A server-sent event as a test reads it off the wire. */
export interface WireEvent {
  event?: string;
  id?: string;
  data: string;
}

/**
 * Parses an SSE body strictly: every line is a field (`event:`, `id:`, `data:`), a comment
 * (`:`), or the blank line ending an event; anything else fails the test.
 */
export function parseSse(body: string): WireEvent[] {
  const events: WireEvent[] = [];
  let current: Partial<WireEvent> & { data?: string } = {};
  const lines = body.split('\n');
  if (lines.at(-1) !== '') throw new Error('the stream does not end with a newline');
  for (const line of lines.slice(0, -1)) {
    if (line === '') {
      if (current.data !== undefined) events.push(current as WireEvent);
      else if (current.event !== undefined || current.id !== undefined) throw new Error('an event without data');
      current = {};
      continue;
    }
    if (line.startsWith(':')) continue;
    const match = /^(event|id|data): (.*)$/.exec(line);
    if (!match) throw new Error(`not an SSE line: ${JSON.stringify(line)}`);
    const [, field, value] = match as unknown as [string, 'event' | 'id' | 'data', string];
    current[field] = field === 'data' && current.data !== undefined ? `${current.data}\n${value}` : value;
  }
  if (Object.keys(current).length > 0) throw new Error('the last event is not terminated by a blank line');
  return events;
}

/** Reads an SSE response as it arrives; `onEvent` returning true stops reading (and aborts nothing by itself). */
export async function readSse(response: Response, onEvent: (event: WireEvent) => boolean | void): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const [event] = parseSse(buffer.slice(0, end + 2));
      buffer = buffer.slice(end + 2);
      if (event && onEvent(event) === true) {
        await reader.cancel();
        return;
      }
    }
  }
}
