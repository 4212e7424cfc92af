import busboy, { type Busboy } from 'busboy';
import type { Request } from 'express';
import { AppError, badRequest } from '../../core/errors.ts';
import type { FilePurpose, FileStore, StoredFile } from '../../core/files/file-store.ts';

/** What a client may upload: batch input. `batch_output` files are written by batches only. */
export const UPLOAD_PURPOSES = ['batch'] as const satisfies readonly FilePurpose[];
const UPLOAD_PURPOSE = UPLOAD_PURPOSES[0];

/** The form has two fields; a little room for a client's extras, which are then refused by name. */
const FORM_LIMITS = { files: 1, fields: 4, parts: 6, fieldNameSize: 100, fieldSize: 1024 } as const;
const FIELDS = new Set(['purpose', 'file']);
const MAX_FILENAME_CHARS = 255;

export interface Upload {
  req: Request;
  store: FileStore;
  tenant: string;
  maxBytes: number;
}

const notMultipart = () =>
  badRequest('invalid_request', 'an upload must be multipart/form-data with the fields "purpose" (batch) and "file"');
const badPurpose = (purpose: string | undefined) =>
  purpose === undefined
    ? badRequest('invalid_request', 'the field "purpose" is required (batch)', 'purpose')
    : new AppError(400, 'unsupported_value', `purpose ${JSON.stringify(purpose)} is not supported: this server stores batch input only ("batch")`, {
        param: 'purpose',
      });

/**
 * Reads one multipart upload, streaming its `file` part into the store as it arrives (never whole
 * in memory), and answers the stored file once the form is complete and valid. Any failure (413,
 * a bad form, a client that goes away) leaves nothing behind: a partial write is the store's to
 * delete, a complete one is removed here.
 *
 * `purpose` usually precedes the file (OpenAI's clients send it first), and then a wrong one is
 * refused before a byte is written; a client that sends the file first has it stored as `batch`,
 * the only purpose an upload may have, and removed again if the purpose that follows is not that.
 */
export function receiveUpload({ req, store, tenant, maxBytes }: Upload): Promise<StoredFile> {
  if (!req.is('multipart/form-data')) return Promise.reject(notMultipart());
  let parser: Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: FORM_LIMITS, defParamCharset: 'utf8' });
  } catch {
    // A multipart type without a boundary, typically.
    return Promise.reject(notMultipart());
  }

  return new Promise<StoredFile>((resolve, reject) => {
    const fields = new Map<string, string>();
    let storing: Promise<StoredFile> | undefined;
    let failed = false;

    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      req.off('close', onClose);
      req.unpipe(parser);
      // Destroys the file part too, so a write in progress stops and deletes its temp file.
      parser.destroy();
      discardRest(req, maxBytes);
      const stored = storing?.catch(() => undefined) ?? Promise.resolve(undefined);
      void stored
        .then((file) => file && store.remove(file.id))
        .catch(() => undefined)
        .finally(() => reject(error));
    };
    const onClose = () => {
      if (!req.complete) fail(new AppError(400, 'request_aborted', 'the upload ended before the form was complete'));
    };

    parser.on('field', (name: string, value: string, info: { nameTruncated: boolean; valueTruncated: boolean }) => {
      if (info.nameTruncated || info.valueTruncated) return fail(badRequest('invalid_request', `the form field ${JSON.stringify(name)} is too long`));
      if (!FIELDS.has(name)) return fail(badRequest('unknown_parameter', `unknown form field ${JSON.stringify(name)}: only "purpose" and "file" are read`, name));
      if (fields.has(name)) return fail(badRequest('invalid_request', `the form field ${JSON.stringify(name)} is given twice`, name));
      fields.set(name, value);
      if (name === 'purpose' && value !== UPLOAD_PURPOSE) fail(badPurpose(value));
    });
    parser.on('file', (name: string, content: NodeJS.ReadableStream, info: { filename?: string }) => {
      if (name !== 'file') {
        content.resume();
        return fail(badRequest('unknown_parameter', `unexpected file field ${JSON.stringify(name)}: send the file as "file"`, name));
      }
      storing = store.create({
        filename: (info.filename ?? 'upload').slice(0, MAX_FILENAME_CHARS),
        purpose: UPLOAD_PURPOSE,
        tenant,
        content: content as AsyncIterable<Buffer>,
        maxBytes,
      });
      storing.catch(fail);
    });
    parser.on('filesLimit', () => fail(badRequest('invalid_request', 'one file per upload', 'file')));
    parser.on('fieldsLimit', () => fail(badRequest('invalid_request', 'too many form fields: send "purpose" and "file"')));
    parser.on('partsLimit', () => fail(badRequest('invalid_request', 'too many form parts: send "purpose" and "file"')));
    parser.on('error', (error: Error) => fail(badRequest('invalid_request', `the multipart body is malformed: ${error.message}`)));
    parser.on('close', () => {
      if (failed) return;
      if (!storing) return fail(badRequest('invalid_request', 'the field "file" is required', 'file'));
      storing.then((file) => {
        if (failed) return;
        const purpose = fields.get('purpose');
        if (purpose !== UPLOAD_PURPOSE) return fail(badPurpose(purpose));
        req.off('close', onClose);
        resolve(file);
      }, fail);
    });
    req.on('close', onClose);
    req.pipe(parser);
  });
}

/**
 * Reads and drops what the client still sends after a refusal, so that it gets to read the answer
 * (a client still writing to a closed socket sees a reset, and OpenAI's clients retry those). Past
 * `limitBytes` more, the connection is cut instead.
 */
function discardRest(req: Request, limitBytes: number): void {
  if (req.complete) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limitBytes) req.socket.destroy();
  });
  req.resume();
}
