import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelError } from '../errors.ts';
import type { GgufArray, GgufEntry, GgufFile, GgufScalar, GgufTensor } from './gguf-file.ts';
import { DEFAULT_ALIGNMENT, FIXED_VALUE_SIZE, GGML_TYPES, GGUF_MAGIC, GgufValueType } from './gguf-types.ts';

/** The file ended inside the header. */
class Truncated extends Error {}
/** The header is malformed; the message says how. */
class Invalid extends Error {}

/** Sequential little-endian reads over a file descriptor, through a window so headers of any size stream. */
class Cursor {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  position = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  take(n: number): Buffer {
    if (n > this.remaining) throw new Truncated();
    const from = this.position - this.windowStart;
    if (from < 0 || from + n > this.window.length) {
      const length = Math.min(Math.max(n, 1 << 20), this.remaining);
      const buffer = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const read = readSync(this.fd, buffer, got, length - got, this.position + got);
        if (read === 0) throw new Truncated();
        got += read;
      }
      this.window = buffer;
      this.windowStart = this.position;
    }
    const at = this.position - this.windowStart;
    this.position += n;
    return this.window.subarray(at, at + n);
  }

  u32 = () => this.take(4).readUInt32LE(0);
  u64 = () => this.take(8).readBigUInt64LE(0);
  /** A u64 count or length that must fit in a JS number and in the rest of the file. */
  count(minItemBytes: number): number {
    const value = this.u64();
    if (value > BigInt(Math.floor(this.remaining / Math.max(1, minItemBytes)))) throw new Truncated();
    return Number(value);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readString(cursor: Cursor): string | Uint8Array {
  const bytes = cursor.take(cursor.count(1));
  try {
    return utf8.decode(bytes);
  } catch {
    return Uint8Array.from(bytes);
  }
}

function readScalar(cursor: Cursor, type: number): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8: return cursor.take(1).readUInt8(0);
    case GgufValueType.INT8: return cursor.take(1).readInt8(0);
    case GgufValueType.UINT16: return cursor.take(2).readUInt16LE(0);
    case GgufValueType.INT16: return cursor.take(2).readInt16LE(0);
    case GgufValueType.UINT32: return cursor.take(4).readUInt32LE(0);
    case GgufValueType.INT32: return cursor.take(4).readInt32LE(0);
    case GgufValueType.FLOAT32: return cursor.take(4).readFloatLE(0);
    case GgufValueType.BOOL: return cursor.take(1).readUInt8(0) !== 0;
    case GgufValueType.STRING: return readString(cursor);
    case GgufValueType.UINT64: return cursor.u64();
    case GgufValueType.INT64: return cursor.take(8).readBigInt64LE(0);
    case GgufValueType.FLOAT64: return cursor.take(8).readDoubleLE(0);
    default: throw new Invalid(`unknown metadata value type ${type}`);
  }
}

function readValue(cursor: Cursor, type: number): GgufScalar | GgufArray {
  if (type !== GgufValueType.ARRAY) return readScalar(cursor, type);
  const itemType = cursor.u32();
  const length = cursor.count(FIXED_VALUE_SIZE[itemType] ?? 8);
  const items: Array<GgufScalar | GgufArray> = new Array(length);
  for (let i = 0; i < length; i++) items[i] = readValue(cursor, itemType);
  return { itemType, items };
}

/**
 * Reads and checks a GGUF file's header: magic, version, metadata, tensor infos, and that every
 * tensor's data lies inside the file. Tensor data itself is not read. Every problem becomes a
 * `ModelError` whose message names the file and says what is wrong with it.
 */
export function readGguf(file: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelError('model_missing', `${file}: no such file.`);
    if (code === 'EISDIR') throw new ModelError('model_not_gguf', `${file} is a directory, not a GGUF model file.`);
    throw new ModelError('model_unreadable', `${file} cannot be read (${code ?? (error as Error).message}).`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new ModelError('model_not_gguf', `${file} is a directory, not a GGUF model file.`);
    return parse(file, new Cursor(fd, stat.size));
  } finally {
    closeSync(fd);
  }
}

function parse(file: string, cursor: Cursor): GgufFile {
  if (cursor.size < 4) {
    throw new ModelError('model_not_gguf', `${file} is not a GGUF model file: it is ${cursor.size === 0 ? 'empty' : `only ${cursor.size} bytes`}.`);
  }
  const magic = cursor.take(4);
  if (magic.toString('latin1') !== GGUF_MAGIC) throw new ModelError('model_not_gguf', notGgufMessage(file, cursor));
  try {
    const version = cursor.u32();
    if (version > 0xffff) throw new ModelError('model_unsupported', `${file} is a big-endian GGUF file; only little-endian GGUF is supported.`);
    if (version < 2 || version > 3) {
      throw new ModelError('model_unsupported', `${file} is GGUF version ${version}; versions 2 and 3 are supported${version === 1 ? ' (re-convert it with a current llama.cpp)' : ''}.`);
    }
    const tensorCount = cursor.count(24);
    const entryCount = cursor.count(13);
    const metadata: GgufEntry[] = [];
    for (let i = 0; i < entryCount; i++) {
      const key = readString(cursor);
      const type = cursor.u32();
      metadata.push({ key: typeof key === 'string' ? key : Buffer.from(key).toString('latin1'), type, value: readValue(cursor, type) });
    }
    const alignmentEntry = metadata.find((e) => e.key === 'general.alignment');
    const alignment = alignmentEntry === undefined ? DEFAULT_ALIGNMENT : Number(alignmentEntry.value);
    if (!Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
      throw new Invalid(`general.alignment is ${String(alignmentEntry?.value)}, not a power of two`);
    }
    const tensors: GgufTensor[] = [];
    for (let i = 0; i < tensorCount; i++) tensors.push(readTensorInfo(cursor));
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    for (const tensor of tensors) {
      if (tensor.offset % alignment !== 0) throw new Invalid(`tensor ${tensor.name} starts at an offset not aligned to ${alignment}`);
      const end = dataOffset + tensor.offset + tensor.size;
      if (end > cursor.size) {
        throw new ModelError(
          'model_truncated',
          `${file} is truncated: tensor ${tensor.name} ends at byte ${end} but the file has ${cursor.size} bytes. ` +
            'The file is incomplete (an interrupted download or copy); fetch it again.',
        );
      }
    }
    return { path: file, version, metadata, tensors, alignment, dataOffset, fileSize: cursor.size };
  } catch (error) {
    if (error instanceof Truncated) {
      throw new ModelError(
        'model_truncated',
        `${file} is truncated: its GGUF header ends early (the file has ${cursor.size} bytes). ` +
          'The file is incomplete (an interrupted download or copy); fetch it again.',
      );
    }
    if (error instanceof Invalid) throw new ModelError('model_invalid', `${file} is not a valid GGUF file: ${error.message}.`);
    throw error;
  }
}

function readTensorInfo(cursor: Cursor): GgufTensor {
  const rawName = readString(cursor);
  const name = typeof rawName === 'string' ? rawName : Buffer.from(rawName).toString('latin1');
  const dimCount = cursor.u32();
  if (dimCount < 1 || dimCount > 4) throw new Invalid(`tensor ${name} has ${dimCount} dimensions`);
  const dims: number[] = [];
  let elements = 1;
  for (let d = 0; d < dimCount; d++) {
    const dim = cursor.u64();
    if (dim > BigInt(Number.MAX_SAFE_INTEGER)) throw new Invalid(`tensor ${name} has an impossible dimension`);
    dims.push(Number(dim));
    elements *= Number(dim);
  }
  const type = cursor.u32();
  const info = GGML_TYPES.get(type);
  if (!info) throw new ModelError('model_unsupported', `tensor ${name} has type ${type}, which this reader does not know`);
  if ((dims[0] ?? 0) % info.blockSize !== 0) throw new Invalid(`tensor ${name} rows are not whole ${info.name} blocks`);
  const offset = cursor.u64();
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new Invalid(`tensor ${name} has an impossible offset`);
  return { name, dims, type, offset: Number(offset), size: (elements / info.blockSize) * info.typeSize, elements };
}

function notGgufMessage(file: string, cursor: Cursor): string {
  cursor.position = 0;
  const head = cursor.take(Math.min(cursor.size, 64));
  const text = head.toString('utf8');
  const printable = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/u.test(text.replace(/\uFFFD$/u, ''));
  if (/^\s*<(!doctype|html|\?xml)/i.test(text)) return `${file} is not a GGUF model file: it is an HTML/XML page (a download that returned a web page?).`;
  if (printable) return `${file} is not a GGUF model file: it is a text file (it starts with ${JSON.stringify(text.slice(0, 24))}).`;
  const legacy = head.subarray(0, 4).toString('latin1');
  if (['lmgg', 'fmgg', 'tjgg', 'algg'].includes(legacy)) return `${file} is in the old GGML format; convert it to GGUF with llama.cpp.`;
  return `${file} is not a GGUF model file: it starts with bytes ${head.subarray(0, 4).toString('hex').replace(/(..)/g, '$1 ').trim()}, not "GGUF".`;
}
