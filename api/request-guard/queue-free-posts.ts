import type { Request } from 'express';
import { normalizePath } from './public-paths.ts';

/**
 * POSTs that put no job in the queue, and why. Backpressure refuses new work while the queue is
 * full; refusing these would not shorten it, only fail clients for nothing.
 */
const QUEUE_FREE_POSTS = new Set([
  // A file upload only stores the file; a batch made from it later is admitted to the queue gradually.
  '/v1/files',
]);

export function enqueuesNothing(req: Pick<Request, 'method' | 'path'>): boolean {
  return req.method === 'POST' && QUEUE_FREE_POSTS.has(normalizePath(req.path));
}
