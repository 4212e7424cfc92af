import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { ownedFile, toFileObject } from './owned-file.ts';

/** GET /v1/files/:id — the file object. */
export function getFile(deps: Pick<ApiDeps, 'files'>): RequestHandler<{ id: string }> {
  return async (req, res) => {
    res.json(toFileObject(await ownedFile(deps.files, req.params.id, viewerOf(res))));
  };
}
