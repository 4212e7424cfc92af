import type { RequestHandler } from 'express';
import type { JobStreamEvent } from '../../core/contract/stream-events.ts';
import type { ApiDeps } from '../deps.ts';
import { viewerOf } from '../request-guard/authenticate.ts';
import { followJob } from '../job-follower.ts';
import { SseWriter } from '../sse.ts';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** The `data:` of each event: the stream event without its type, which is the SSE event name. */
function payload(event: JobStreamEvent): unknown {
  switch (event.type) {
    case 'start':
      return { attempt: event.attempt };
    case 'token':
      return { text: event.text, tokens: event.tokens };
    case 'end':
      return { result: event.result };
    case 'error':
      return { code: event.failure.code, message: event.failure.message };
  }
}

/**
 * GET /api/v1/jobs/:id/events — a job's tokens as server-sent events (docs/streaming.md): while it
 * waits, its queue position (`position`) whenever it changes; then what was generated so far, then the
 * rest as it comes, then `end` (or `error`), then the response ends.
 * Watching never affects the job: disconnecting does not cancel it. Each client holds at most
 * `MAX_STREAMS_PER_CLIENT` streams open at a time (429 `too_many_streams` beyond).
 */
export function jobEvents(deps: ApiDeps): RequestHandler<{ id: string }> {
  return async (req, res) => {
    // First, so that a client over its cap costs no read.
    deps.streamCap.take(res);
    // Unknown ids get a plain 404 before any event is sent.
    const view = await deps.jobs.get(req.params.id, viewerOf(res));
    const lastEventId = req.header('last-event-id');
    const sse = new SseWriter(res);
    // Changes only: the position at connection is the view's (GET /api/v1/jobs/:id), and a job
    // that waits without moving sends nothing, as before positions existed.
    let told = view.queue_position;
    const tellPosition = async (position: number) => {
      if (position === told) return;
      told = position;
      await sse.send({ event: 'position', data: { queue_position: position } });
    };
    try {
      const events = followJob(deps, view, {
        signal: sse.signal,
        onPosition: tellPosition,
        ...(lastEventId && STREAM_ID.test(lastEventId) ? { afterId: lastEventId } : {}),
      });
      for await (const { id, event } of events) {
        await sse.send({ event: event.type, ...(id ? { id } : {}), data: payload(event) });
      }
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message, jobId: view.id }, 'job event stream failed');
      await sse.send({ event: 'error', data: { code: 'stream_failed', message: 'the event stream was interrupted; reconnect to resume' } });
    } finally {
      sse.end();
    }
  };
}
