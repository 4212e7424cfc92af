import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, notFound } from '../errors.ts';
import { FILE_PURPOSES, type FileStore, type NewFile, type ScratchLog, type StoredFile } from './file-store.ts';
import { ScratchFile } from './scratch-file.ts';

/** Ids are checked before any path is built from them: anything else is simply not found (no `../`). */
const FILE_ID = /^file-[0-9a-f]{32}$/;
const RECORD_NAME = /^(file-[0-9a-f]{32})\.json$/;
const SCRATCH_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const TEMP_PREFIX = '.tmp-';
const LIST_READS_AT_ONCE = 64;
/**
 * A temp file untouched this long belongs to a process that died. Younger ones are left alone: the
 * directory is shared by every API replica, and one starting must not delete another's upload.
 */
const STALE_TEMP_MS = 60 * 60 * 1000;

export const isFileId = (id: string): boolean => FILE_ID.test(id);
const newFileId = () => `file-${randomBytes(16).toString('hex')}`;

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';
const ignoreMissing = (error: unknown) => {
  if (!isMissing(error)) throw error;
};

/**
 * Files in one directory: content at `<dir>/<id>`, its record at `<dir>/<id>.json`. Both are written
 * under temp names and renamed, the record last, so a file is visible once complete and a crash
 * leaves at most a temp file (swept later). Scratch logs live in `<dir>/scratch/`.
 */
export class DirectoryFileStore implements FileStore {
  private swept = false;

  constructor(private readonly dir: string) {}

  async create(file: NewFile): Promise<StoredFile> {
    if (file.id !== undefined && !isFileId(file.id)) throw new Error(`not a file id: ${JSON.stringify(file.id)}`);
    await this.prepare();
    const id = file.id ?? newFileId();
    const temp = join(this.dir, `${TEMP_PREFIX}${id}-${randomBytes(6).toString('hex')}`);
    try {
      const bytes = await writeLimited(file.content, temp, file.maxBytes);
      const record: StoredFile = {
        id,
        bytes,
        created_at: Math.floor(Date.now() / 1000),
        filename: file.filename,
        purpose: file.purpose,
        tenant: file.tenant,
      };
      await writeDurably(`${temp}.json`, JSON.stringify(record));
      // Replacing an id swaps the content, then the record: each rename is atomic, and a reader
      // that already opened the old content keeps reading it whole. A crash between the two
      // leaves the new content under the old record, until the writer (a batch's output, written
      // again after a crash) replaces it once more.
      await rename(temp, this.contentPath(id));
      await rename(`${temp}.json`, this.recordPath(id));
      await syncDirectory(this.dir);
      return record;
    } catch (error) {
      await Promise.all([rm(temp, { force: true }), rm(`${temp}.json`, { force: true })]);
      throw error;
    }
  }

  async get(id: string): Promise<StoredFile | undefined> {
    if (!isFileId(id)) return undefined;
    try {
      return parseRecord(await readFile(this.recordPath(id), 'utf8'), id);
    } catch (error) {
      ignoreMissing(error);
      return undefined;
    }
  }

  async list(): Promise<StoredFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      ignoreMissing(error);
      return [];
    }
    const ids = names.flatMap((name) => RECORD_NAME.exec(name)?.[1] ?? []);
    const records: StoredFile[] = [];
    // A few reads at a time: thousands at once would run out of file descriptors (EMFILE).
    for (let i = 0; i < ids.length; i += LIST_READS_AT_ONCE) {
      const batch = await Promise.all(ids.slice(i, i + LIST_READS_AT_ONCE).map((id) => this.get(id)));
      // A file removed between the listing and the read is simply left out.
      for (const record of batch) if (record) records.push(record);
    }
    return records.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  read(id: string, start = 0): Readable {
    if (!isFileId(id)) {
      return new Readable({
        read() {
          this.destroy(notFound(`no such file: ${id}`));
        },
      });
    }
    return createReadStream(this.contentPath(id), { start });
  }

  async remove(id: string): Promise<boolean> {
    if (!isFileId(id)) return false;
    // The record first: from then on the file is gone for everyone, even if the content's unlink fails.
    const existed = await unlink(this.recordPath(id)).then(
      () => true,
      (error: unknown) => {
        ignoreMissing(error);
        return false;
      },
    );
    await rm(this.contentPath(id), { force: true });
    return existed;
  }

  scratch(name: string): ScratchLog {
    if (!SCRATCH_NAME.test(name)) throw new Error(`not a scratch log name: ${JSON.stringify(name)}`);
    return new ScratchFile(join(this.dir, 'scratch', `${name}.log`));
  }

  private contentPath(id: string) {
    return join(this.dir, id);
  }

  private recordPath(id: string) {
    return join(this.dir, `${id}.json`);
  }

  /** Creates the directory (again, if someone removed it) and, once per store, sweeps what dead processes left. */
  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (this.swept) return;
    this.swept = true;
    await sweepStaleTemps(this.dir).catch(() => undefined);
  }
}

/** Streams `content` to `path`, counting bytes; above `maxBytes` it stops and throws 413. Returns the size. */
async function writeLimited(content: NewFile['content'], path: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  async function* limit(source: AsyncIterable<string | Buffer>) {
    for await (const chunk of source) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > maxBytes) {
        throw new AppError(413, 'file_too_large', `the file is larger than the limit of ${maxBytes} bytes (FILE_MAX_BYTES)`);
      }
      yield buffer;
    }
  }
  await pipeline(content, limit, createWriteStream(path, { flags: 'wx' }));
  // Renamed into place next, so its bytes must be on disk before the name says it is complete.
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

async function writeDurably(path: string, text: string): Promise<void> {
  await writeFile(path, text, { flag: 'wx' });
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames themselves durable; some platforms cannot open a directory, and then it is skipped. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

async function sweepStaleTemps(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
  }
}

function parseRecord(text: string, id: string): StoredFile {
  const record = JSON.parse(text) as Partial<StoredFile>;
  const valid =
    record.id === id &&
    typeof record.bytes === 'number' &&
    typeof record.created_at === 'number' &&
    typeof record.filename === 'string' &&
    typeof record.tenant === 'string' &&
    (FILE_PURPOSES as readonly unknown[]).includes(record.purpose);
  if (!valid) throw new Error(`the record of file ${id} is malformed`);
  return record as StoredFile;
}
