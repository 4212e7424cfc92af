import type { Readable } from 'node:stream';

/** What a file is for, in OpenAI's words: clients upload `batch` input; batches write `batch_output`. */
export const FILE_PURPOSES = ['batch', 'batch_output'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

/** A stored file's record: OpenAI's file object, plus who owns it. */
export interface StoredFile {
  /** `file-<32 hex>`. */
  id: string;
  bytes: number;
  /** Epoch seconds. */
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  /** The tenant that uploaded it (or whose batch wrote it): only it, and admins, may see it. */
  tenant: string;
}

export interface NewFile {
  filename: string;
  purpose: FilePurpose;
  tenant: string;
  /** The content, read once as it arrives: never held in memory whole. */
  content: Readable | AsyncIterable<string | Buffer>;
  /** Above this many bytes the write stops, nothing is kept, and it throws 413 `file_too_large`. */
  maxBytes: number;
  /** A fixed id (a batch's output written again after a crash replaces itself); default a new one. */
  id?: string;
}

/** A log of records appended as work goes on (a batch's finished lines), read back whole, then removed. */
export interface ScratchLog {
  /** Appends lines and returns once they are durable (fsync). */
  append(lines: readonly string[]): Promise<void>;
  /** Every complete line so far, in order; a line cut short by a crash is skipped. */
  lines(): AsyncIterable<string>;
  remove(): Promise<void>;
}

/**
 * Where files live, behind one small interface (docs/batches.md). The first implementation is a
 * directory (`FILES_DIR`) that every API replica shares; an object store would fit the same shape.
 */
export interface FileStore {
  /** Streams a new file in; it becomes visible (get, list) only once complete. */
  create(file: NewFile): Promise<StoredFile>;
  get(id: string): Promise<StoredFile | undefined>;
  /** Every file, newest first. */
  list(): Promise<StoredFile[]>;
  /** The file's content from byte `start` (default 0). */
  read(id: string, start?: number): Readable;
  /** Removes the file; false if it did not exist. */
  remove(id: string): Promise<boolean>;
  /** The scratch log called `name` (created on first append). */
  scratch(name: string): ScratchLog;
}
