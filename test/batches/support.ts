import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type OpenAI from 'openai';

/** A temp dir for FILES_DIR and input files, removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-batches-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChatLineOptions {
  model: string;
  maxTokens?: number;
  temperature?: number;
  prompt?: (i: number) => string;
}

/** `count` chat requests as JSONL, custom ids `r-<i>`. */
export function chatLines(count: number, options: ChatLineOptions): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      custom_id: `r-${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: options.model,
        messages: [{ role: 'user', content: options.prompt?.(i) ?? `Tell me story number ${i}.` }],
        max_tokens: options.maxTokens ?? 8,
        temperature: options.temperature ?? 0,
      },
    }),
  );
}

export function writeJsonl(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const FINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** Polls a batch until it ends, as a client does. */
export async function untilFinal(client: OpenAI, id: string, timeoutMs = 120_000): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (FINAL.has(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The parsed JSONL of a file. */
export async function jsonlOf(client: OpenAI, fileId: string): Promise<any[]> {
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}
