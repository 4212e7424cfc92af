import type { Readable } from 'node:stream';

/** One line of a JSONL file: its text (no line break), 1-based number, and byte offsets. */
export interface JsonlLine {
  text: string;
  number: number;
  offset: number;
  /** Offset of the line after it. */
  end: number;
}

const NEWLINE = 0x0a;

/**
 * The lines of a JSONL stream with their byte offsets, so a batch can note where it stopped and
 * read on from there after a crash. Blank lines are counted but not yielded; a `\r` before the
 * break is dropped. `start` says where the stream begins in the file and which line that is.
 */
export async function* jsonlLines(content: Readable, start: { offset: number; number: number } = { offset: 0, number: 1 }): AsyncGenerator<JsonlLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = start.offset;
  let number = start.number;
  const emit = (bytes: Buffer): JsonlLine | undefined => {
    const line = { offset, number, end: offset + bytes.length + 1 };
    offset = line.end;
    number += 1;
    const text = bytes.toString('utf8').replace(/\r$/, '');
    return text.trim() === '' ? undefined : { ...line, text };
  };
  for await (const chunk of content as AsyncIterable<Buffer>) {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, at);
      const bytes = pendingBytes > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      const line = emit(bytes);
      if (line) yield line;
      from = at + 1;
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
    }
  }
  if (pendingBytes > 0) {
    const line = emit(Buffer.concat(pending));
    // The last line has no break: its end is the end of the file.
    if (line) yield { ...line, end: line.end - 1 };
  }
}
