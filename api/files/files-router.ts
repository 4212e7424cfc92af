import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';

/** OpenAI's Files API under /v1/files (docs/batches.md); the handlers follow. */
export function filesRouter(_deps: ApiDeps): Router {
  return Router();
}
