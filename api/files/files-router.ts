import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';
import { deleteFile } from './delete-file.ts';
import { getFile } from './get-file.ts';
import { getFileContent } from './get-file-content.ts';
import { listFiles } from './list-files.ts';
import { uploadFile } from './upload-file.ts';

/**
 * OpenAI's Files API, mounted at `/v1/files` (docs/batches.md): batch input uploaded, batch output
 * read back. Errors are answered in OpenAI's shape by the handler `finishApp` installs for `/v1`.
 * Uploads are multipart, which the request guard's JSON reader leaves unread: the upload handler
 * streams them itself.
 */
export function filesRouter(deps: Pick<ApiDeps, 'files' | 'config'>): Router {
  const router = Router();
  router.post('/', uploadFile(deps));
  router.get('/', listFiles(deps));
  router.get('/:id', getFile(deps));
  router.get('/:id/content', getFileContent(deps));
  router.delete('/:id', deleteFile(deps));
  return router;
}
