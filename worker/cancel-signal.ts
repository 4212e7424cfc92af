import type { MessagePort } from 'node:worker_threads';
import { CANCEL_MESSAGE } from './inference-protocol.ts';

/** In a pool thread: aborts when the main thread posts a cancel on the task's port. */
export function cancelSignal(port: MessagePort): AbortSignal {
  const abort = new AbortController();
  port.on('message', (message) => {
    if (message === CANCEL_MESSAGE) abort.abort();
  });
  return abort.signal;
}
