/**
 * The baseline of pair 4: bare Express answering the generate route with a constant body
 * (the same bytes as a cache hit), JSON body parsing included, nothing else.
 * Settings: BENCH_CONSTANT_BODY (the JSON to answer).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { serveBaseline } from './child.ts';

const body: unknown = JSON.parse(process.env.BENCH_CONSTANT_BODY ?? '{}');
const app = express();
app.post('/api/v1/generate', express.json(), (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
serveBaseline(async () => null, { port: (server.address() as AddressInfo).port });
