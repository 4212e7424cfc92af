import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { fileNotFound, ownedFile } from './owned-file.ts';

/**
 * GET /v1/files/:id/content — the bytes as stored, streamed from the store. OpenAI's clients take
 * the response as it is (openai-node's `files.content()` returns the raw Response), so the type
 * is plain octets and the name goes in Content-Disposition.
 */
export function getFileContent(deps: Pick<ApiDeps, 'files'>): RequestHandler<{ id: string }> {
  return async (req, res) => {
    const file = await ownedFile(deps.files, req.params.id, viewerOf(res));
    const content = deps.files.read(file.id);
    // No Content-Length from the record: a file replaced between the two reads may differ in size.
    res.attachment(file.filename).type('application/octet-stream');
    await new Promise<void>((resolve, reject) => {
      content.on('error', (error: NodeJS.ErrnoException) => {
        if (res.headersSent) {
          // Mid-body: the client sees the response cut short, which is all that can be said now.
          res.destroy(error);
          resolve();
          return;
        }
        res.removeHeader('Content-Disposition');
        // Removed between the record's read and the content's: gone, as it would be a moment later.
        reject(error.code === 'ENOENT' ? fileNotFound(file.id) : error);
      });
      res.once('close', () => {
        content.destroy();
        resolve();
      });
      content.pipe(res);
    });
  };
}
