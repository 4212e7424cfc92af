import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import type { FileDeleted } from './file-schemas.ts';
import { fileNotFound, ownedFile } from './owned-file.ts';

/** DELETE /v1/files/:id — removes the file and its content. */
export function deleteFile(deps: Pick<ApiDeps, 'files'>): RequestHandler<{ id: string }> {
  return async (req, res) => {
    const file = await ownedFile(deps.files, req.params.id, viewerOf(res));
    // Two deletions at once: the one that loses is told the file is gone, as any later one is.
    if (!(await deps.files.remove(file.id))) throw fileNotFound(file.id);
    const body: FileDeleted = { id: file.id, object: 'file', deleted: true };
    res.json(body);
  };
}
