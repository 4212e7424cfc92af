import type { Server } from 'node:http';

/** How often connections that went idle after the close began are closed. */
const IDLE_SWEEP_MS = 100;

/**
 * Closes an HTTP server within `deadlineMs`: it stops accepting connections at once, closes idle
 * keep-alive connections, lets requests in progress finish until the deadline, and then closes
 * every connection still open. Without the deadline one open event stream, or one request waiting
 * for a long job, would hold up the process's exit for as long as the client stays.
 */
export async function closeServer(server: Server, deadlineMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() closes only the connections idle at this moment; a keep-alive connection whose response
  // ends later would stay open until its keep-alive timeout (5 s) and hold the server up with it.
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}
