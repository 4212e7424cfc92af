import { Router } from 'express';
import { cancelBatch, createBatch, getBatch, listBatches } from './batch-handlers.ts';
import type { BatchService } from './batch-service.ts';

/**
 * OpenAI's Batch API, mounted at `/v1/batches` (docs/batches.md). Errors are answered in OpenAI's
 * shape by the handler `finishApp` installs for `/v1`.
 */
export function batchesRouter(batches: BatchService): Router {
  const router = Router();
  router.post('/', createBatch(batches));
  router.get('/', listBatches(batches));
  router.get('/:id', getBatch(batches));
  router.post('/:id/cancel', cancelBatch(batches));
  return router;
}
