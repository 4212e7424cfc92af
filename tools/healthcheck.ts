/**
 * Container health check, for images that have no curl or wget.
 *
 *   node dist/tools/healthcheck.js [url]                 exit 0 if the URL answers 2xx
 *   node dist/tools/healthcheck.js --file <path> --max-age-ms <ms>
 *                                                        exit 0 if the file was touched recently
 *
 * The URL defaults to the API's liveness endpoint on `PORT`. The file form serves processes
 * without an HTTP port (the backlog metric publisher touches its file after each publication).
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const TIMEOUT_MS = 4000;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { file: { type: 'string' }, 'max-age-ms': { type: 'string', default: '60000' } },
});

function fail(message: string): never {
  process.stderr.write(`unhealthy: ${message}\n`);
  process.exit(1);
}

if (values.file !== undefined) {
  const maxAgeMs = Number(values['max-age-ms']);
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(values.file).mtimeMs;
  } catch {
    fail(`${values.file} does not exist yet`);
  }
  if (ageMs > maxAgeMs) fail(`${values.file} last touched ${Math.round(ageMs / 1000)} s ago`);
  process.exit(0);
}

const url = positionals[0] ?? `http://127.0.0.1:${process.env.PORT ?? '8080'}/api/health`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) fail(`${url} answered ${response.status}`);
} catch (error) {
  fail(`${url}: ${(error as Error).message}`);
}
process.exit(0);
