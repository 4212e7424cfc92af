import { http } from '../support/stack.ts';

/**
 * Polls GET /api/v1/jobs/:id until the job has finished and its outcome is readable. A poll can
 * catch a job whose state already reads completed while the data read just before it did not yet
 * hold the result; such a view is polled again rather than taken as the outcome.
 */
export async function settledJob(baseUrl: string, id: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await http(baseUrl, 'GET', `/api/v1/jobs/${id}`);
    // A job removed from the queue by a cancel (never started) has no result to wait for.
    const finished = body.status === 'failed' || body.result !== undefined || (body.status === 'cancelled' && !body.started_at);
    if (finished) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
