import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { toFileObject } from './owned-file.ts';
import { receiveUpload } from './receive-upload.ts';

/** POST /v1/files — a multipart upload (`purpose=batch`, `file`), streamed to the store; the file object. */
export function uploadFile(deps: Pick<ApiDeps, 'files' | 'config'>): RequestHandler {
  return async (req, res) => {
    const file = await receiveUpload({ req, store: deps.files, tenant: viewerOf(res).tenant, maxBytes: deps.config.FILE_MAX_BYTES });
    res.json(toFileObject(file));
  };
}
