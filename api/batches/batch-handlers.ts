import type { RequestHandler } from 'express';
import { viewerOf } from '../request-guard/authenticate.ts';
import { parseOpenAiRequest } from '../openai/parse-request.ts';
import { parseBody } from '../validate.ts';
import type { BatchService } from './batch-service.ts';
import { createBatchRequestSchema, listBatchesQuerySchema } from './batch-schemas.ts';

/** The four routes of OpenAI's Batch API, each a few lines over the batch service. */

/** POST /v1/batches — starts a batch on an uploaded file; it validates, then runs, in the background. */
export const createBatch =
  (batches: BatchService): RequestHandler =>
  async (req, res) => {
    const request = parseOpenAiRequest(createBatchRequestSchema, req.body);
    res.json(await batches.create(request, viewerOf(res)));
  };

/** GET /v1/batches/:id — its state, timestamps and request counts. */
export const getBatch =
  (batches: BatchService): RequestHandler =>
  async (req, res) => {
    res.json(await batches.get(String(req.params.id), viewerOf(res)));
  };

/** GET /v1/batches — the caller's batches, newest first, a page at a time (`after`, `limit`). */
export const listBatches =
  (batches: BatchService): RequestHandler =>
  async (req, res) => {
    const query = parseBody(listBatchesQuerySchema, { ...req.query });
    const { data, hasMore } = await batches.list(viewerOf(res), query);
    res.json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore });
  };

/** POST /v1/batches/:id/cancel — stops it; it ends `cancelled` once its running lines are done. */
export const cancelBatch =
  (batches: BatchService): RequestHandler =>
  async (req, res) => {
    res.json(await batches.cancel(String(req.params.id), viewerOf(res)));
  };
