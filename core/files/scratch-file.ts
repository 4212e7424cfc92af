import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ScratchLog } from './file-store.ts';

/** A scratch log as one append-only text file, a record per line. */
export class ScratchFile implements ScratchLog {
  constructor(private readonly path: string) {}

  async append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    if (lines.some((line) => line.includes('\n'))) throw new Error('a scratch log line may not contain a newline');
    await mkdir(dirname(this.path), { recursive: true });
    const handle = await open(this.path, 'a');
    try {
      // Every line in one write: with O_APPEND it lands at the end, never over another appender's.
      // It starts with a line break, so a line an earlier append left cut short (a crash) ends there,
      // a line of its own that readers skip, instead of running into this append's first line.
      await handle.writeFile(`\n${lines.join('\n')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async *lines(): AsyncIterable<string> {
    const stream = createReadStream(this.path);
    // Chunks may end inside a UTF-8 sequence; the decoder holds such a tail back.
    const decoder = new StringDecoder('utf8');
    let pending = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const parts = decoder.write(chunk).split('\n');
        // No newline in this chunk: the line goes on (only the new text is searched, never `pending`).
        if (parts.length === 1) {
          pending += parts[0];
          continue;
        }
        parts[0] = pending + parts[0];
        pending = parts.pop() ?? '';
        for (const part of parts) if (part !== '') yield part;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    } finally {
      stream.destroy();
    }
    // Whatever follows the last newline was cut short by a crash mid-append: it never counted.
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
