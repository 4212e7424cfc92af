import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { DirectoryFileStore } from '../../core/files/directory-store.ts';
import type { NewFile } from '../../core/files/file-store.ts';

const MiB = 1024 * 1024;

let dir: string;
let store: DirectoryFileStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-files-'));
  store = new DirectoryFileStore(dir);
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const newFile = (content: NewFile['content'], extra: Partial<NewFile> = {}): NewFile => ({
  filename: 'input.jsonl',
  purpose: 'batch',
  tenant: 'alice',
  content,
  maxBytes: MiB,
  ...extra,
});

async function* pieces(...parts: (string | Buffer)[]) {
  yield* parts;
}

describe('DirectoryFileStore', () => {
  it('stores a file and reads it back, whole or from an offset', async () => {
    const file = await store.create(newFile(pieces('{"a":1}\n', Buffer.from('{"b":2}\n'))));
    expect(file).toMatchObject({ bytes: 16, filename: 'input.jsonl', purpose: 'batch', tenant: 'alice' });
    expect(file.id).toMatch(/^file-[0-9a-f]{32}$/);
    expect(file.created_at).toBeCloseTo(Date.now() / 1000, -1);
    expect(await store.get(file.id)).toEqual(file);
    expect(await text(store.read(file.id))).toBe('{"a":1}\n{"b":2}\n');
    expect(await text(store.read(file.id, 8))).toBe('{"b":2}\n');
    expect((await readdir(dir)).sort()).toEqual([file.id, `${file.id}.json`]);
  });

  it('lists files newest first, by creation time and then id', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const old = await store.create(newFile(pieces('1')));
    vi.setSystemTime(2_000_000);
    const twins = [await store.create(newFile(pieces('2'))), await store.create(newFile(pieces('3')))];
    const [first, second] = twins.map((f) => f.id).sort().reverse();
    expect((await store.list()).map((f) => f.id)).toEqual([first, second, old.id]);
  });

  it('removes a file and its content, and says whether there was one', async () => {
    const file = await store.create(newFile(pieces('x')));
    expect(await store.remove(file.id)).toBe(true);
    expect(await store.get(file.id)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    expect(await store.remove(file.id)).toBe(false);
  });

  it('replaces a file given the same id, leaving one file with the new content', async () => {
    const first = await store.create(newFile(pieces('first version')));
    const again = await store.create(newFile(pieces('second'), { id: first.id, purpose: 'batch_output' }));
    expect(again).toMatchObject({ id: first.id, bytes: 6, purpose: 'batch_output' });
    expect(await text(store.read(first.id))).toBe('second');
    expect(await store.list()).toEqual([again]);
    expect((await readdir(dir)).sort()).toEqual([first.id, `${first.id}.json`]);
  });

  it('refuses a file above maxBytes with 413 file_too_large, keeping nothing', async () => {
    const tooBig = newFile(pieces('12345', '67890', 'x'), { maxBytes: 10 });
    const refusal = await store.create(tooBig).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ status: 413, code: 'file_too_large' });
    expect(await readdir(dir)).toEqual([]);
    // Exactly at the limit is allowed.
    expect((await store.create(newFile(pieces('1234567890'), { maxBytes: 10 }))).bytes).toBe(10);
  });

  it('keeps nothing of a file whose content fails midway', async () => {
    async function* broken() {
      yield 'a line\n';
      throw new Error('client went away');
    }
    await expect(store.create(newFile(broken()))).rejects.toThrow('client went away');
    expect(await readdir(dir)).toEqual([]);
  });

  it('answers ids that are not file ids as not found, without touching the disk', async () => {
    await writeFile(path.join(dir, 'secret.json'), JSON.stringify({ id: 'secret' }));
    for (const id of ['../secret', 'secret', 'file-../../etc/passwd', `file-${'A'.repeat(32)}`, `file-${'0'.repeat(33)}`, '']) {
      expect(await store.get(id)).toBeUndefined();
      expect(await store.remove(id)).toBe(false);
      await expect(text(store.read(id))).rejects.toMatchObject({ status: 404 });
    }
    await expect(store.create(newFile(pieces('x'), { id: '../escape' }))).rejects.toThrow('not a file id');
    expect(await readdir(dir)).toEqual(['secret.json']);
  });

  it('sweeps temp files that a dead process left an hour ago, not ones being written now', async () => {
    const stale = path.join(dir, '.tmp-file-dead');
    const fresh = path.join(dir, '.tmp-file-busy');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const file = await store.create(newFile(pieces('x')));
    expect((await readdir(dir)).sort()).toEqual(['.tmp-file-busy', file.id, `${file.id}.json`]);
    // Never listed either way.
    expect(await store.list()).toEqual([file]);
  });

  it('creates its directory when it is missing', async () => {
    const nested = new DirectoryFileStore(path.join(dir, 'a', 'b'));
    expect(await nested.list()).toEqual([]);
    const file = await nested.create(newFile(pieces('x')));
    expect(await nested.get(file.id)).toEqual(file);
  });

  it('streams a large file to disk without holding it in memory', async () => {
    // A collection between samples, so what is measured is what the store holds, not garbage.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const chunk = 64 * 1024;
    const total = 100 * MiB;
    const live = () => {
      gc();
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const before = live();
    let peak = 0;
    async function* generated() {
      for (let sent = 0; sent < total; sent += chunk) {
        if (sent % (8 * MiB) === 0) peak = Math.max(peak, live() - before);
        yield Buffer.alloc(chunk, sent % 251);
      }
    }
    const file = await store.create(newFile(generated(), { maxBytes: total }));
    peak = Math.max(peak, live() - before);
    expect(file.bytes).toBe(total);
    // Holding the file would cost 100 MiB; a stream holds a few buffers.
    expect(peak).toBeLessThan(16 * MiB);
  });
});

describe('DirectoryFileStore.scratch', () => {
  it('appends lines durably and reads back every complete one in order', async () => {
    const log = store.scratch('batch_abc');
    await expect(collect(log.lines())).resolves.toEqual([]);
    await log.append(['one', '{"two":2}']);
    await log.append([]);
    await log.append(['three']);
    expect(await collect(log.lines())).toEqual(['one', '{"two":2}', 'three']);
    // Each append starts with a line break (see the next test); readers skip the empty lines.
    expect(await readFile(path.join(dir, 'scratch', 'batch_abc.log'), 'utf8')).toBe('\none\n{"two":2}\n\nthree\n');
  });

  it('skips a last line cut short by a crash', async () => {
    const log = store.scratch('torn');
    await log.append(['whole']);
    await appendFile(path.join(dir, 'scratch', 'torn.log'), '{"half":');
    expect(await collect(log.lines())).toEqual(['whole']);
    // The next append (a coordinator that took over) does not run into the cut line: it stays a
    // line of its own, which a reader that parses records skips.
    await log.append(['after']);
    expect(await collect(log.lines())).toEqual(['whole', '{"half":', 'after']);
  });

  it('reads lines longer than a read chunk, multi-byte characters included', async () => {
    const log = store.scratch('long');
    const long = 'é€😀'.repeat(40_000);
    await log.append([long, 'short']);
    expect(await collect(log.lines())).toEqual([long, 'short']);
  });

  it('removes the log, and removing it again is no error', async () => {
    const log = store.scratch('gone');
    await log.append(['x']);
    await log.remove();
    await log.remove();
    expect(await collect(log.lines())).toEqual([]);
    expect(await readdir(path.join(dir, 'scratch'))).toEqual([]);
  });

  it('refuses names that are not plain, and lines that hold a newline', async () => {
    for (const name of ['../escape', 'a/b', '', '.hidden', 'x'.repeat(200)]) expect(() => store.scratch(name)).toThrow('not a scratch log name');
    await expect(store.scratch('ok').append(['two\nlines'])).rejects.toThrow('newline');
  });
});

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}
