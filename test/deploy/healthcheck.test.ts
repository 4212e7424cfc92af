import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo } from './tools.ts';

/** Runs tools/healthcheck.ts as a container health check would, asynchronously (the test's server must keep answering). */
function check(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', repo('tools', 'healthcheck.ts'), ...args], { cwd: repo() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('tools/healthcheck.ts', () => {
  let server: Server;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    server = createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-health-'));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 when the URL answers 2xx', async () => {
    expect((await check([`${base}/ok`])).code).toBe(0);
  });

  it('exits 1 and says why when the URL answers an error or nothing', async () => {
    const failing = await check([`${base}/down`]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('answered 503');
    expect((await check(['http://127.0.0.1:1/api/health'])).code).toBe(1);
  });

  it('judges a file by its age', async () => {
    const file = path.join(dir, 'alive');
    expect((await check(['--file', file])).code).toBe(1);
    writeFileSync(file, 'now');
    expect((await check(['--file', file, '--max-age-ms', '60000'])).code).toBe(0);
    const old = new Date(Date.now() - 120_000);
    utimesSync(file, old, old);
    const stale = await check(['--file', file, '--max-age-ms', '60000']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/last touched 12\d s ago/);
  });
});
