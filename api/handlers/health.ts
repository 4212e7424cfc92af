import type { RequestHandler } from 'express';

/** GET /api/health — the process is alive and serving HTTP; nothing else is checked. */
export const health: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};
