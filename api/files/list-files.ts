import type { RequestHandler } from 'express';
import { z } from 'zod';
import { badRequest } from '../../core/errors.ts';
import { FILE_PURPOSES } from '../../core/files/file-store.ts';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { parseBody } from '../validate.ts';
import type { FileList } from './file-schemas.ts';
import { canSee, toFileObject } from './owned-file.ts';

export const MAX_LIST_LIMIT = 10_000;

/** The query of GET /v1/files (OpenAI's); unknown parameters are refused like unknown body fields. */
export const listFilesQuerySchema = z.strictObject({
  purpose: z.enum(FILE_PURPOSES).optional().describe('Only files of this purpose.'),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(MAX_LIST_LIMIT).describe(`Files per page, 1 to ${MAX_LIST_LIMIT}.`),
  after: z.string().optional().describe('A file id (`last_id` of the previous page): the page starts after it.'),
  order: z.enum(['asc', 'desc']).default('desc').describe('By creation time: `desc` newest first.'),
});

/** GET /v1/files — the caller's files (every tenant's for admins), a page at a time. */
export function listFiles(deps: Pick<ApiDeps, 'files'>): RequestHandler {
  return async (req, res) => {
    const query = parseBody(listFilesQuerySchema, { ...req.query });
    const viewer = viewerOf(res);
    const newestFirst = await deps.files.list();
    const visible = newestFirst.filter((file) => canSee(viewer, file) && (query.purpose === undefined || file.purpose === query.purpose));
    const ordered = query.order === 'asc' ? visible.reverse() : visible;
    let start = 0;
    if (query.after !== undefined) {
      const index = ordered.findIndex((file) => file.id === query.after);
      // Unknown, deleted or someone else's: all alike, and a page after it cannot be told.
      if (index < 0) throw badRequest('invalid_request', `after: no such file: ${query.after}`, 'after');
      start = index + 1;
    }
    const page = ordered.slice(start, start + query.limit);
    const body: FileList = {
      object: 'list',
      data: page.map(toFileObject),
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: start + page.length < ordered.length,
    };
    res.json(body);
  };
}
