import { Redis } from 'ioredis';
import { launchChromium } from '../support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { METRICS } from '../../core/metrics/names.ts';
import { SIGN_IN_FAILURES_ALLOWED } from '../../dashboard/sign-in-throttle.ts';
import { startRole, stopRole, type RoleProcess } from '../support/processes.ts';
import { deletePrefix, http, redisUrl, TEST_MODELS_DIR, TINY_MODEL } from '../support/stack.ts';
import { Scrape } from '../metrics/exposition.ts';
import { basicAuthHeader } from './board-server.ts';

/** `npm start` with no DASHBOARD_PASSWORD: the board is still protected, by a password printed once. */
describe('npm start (all roles in one process)', () => {
  const prefix = `t-all-${process.pid}`;
  let all: RoleProcess;
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    all = await startRole('all', {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      MODEL: TINY_MODEL,
      MODELS_DIR: TEST_MODELS_DIR,
      LLAMA_THREADS: '1',
      CONTEXT_SIZE: '512',
      PORT: String(port),
      DASHBOARD_PASSWORD: '',
    });
  });
  afterAll(async () => {
    if (all) await stopRole(all);
    const redis = new Redis(redisUrl());
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  const generatedPassword = () => {
    const lines = all.lines.filter((line) => /^\s*password\s+\S+/.test(line));
    expect(lines).toHaveLength(1);
    return /^\s*password\s+(\S+)/.exec(lines[0]!)![1]!;
  };

  it('prints a generated Bull Board password exactly once', () => {
    const password = generatedPassword();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(all.lines.filter((line) => line.includes(password))).toHaveLength(1);
  });

  it('mounts Bull Board at /admin/queues behind that password', async () => {
    expect((await http(base, 'GET', '/admin/queues')).status).toBe(401);
    expect((await http(base, 'GET', '/admin/queues', undefined, basicAuthHeader('admin', 'admin'))).status).toBe(401);
    const ok = await http(base, 'GET', '/admin/queues/api/queues', undefined, basicAuthHeader('admin', generatedPassword()));
    expect(ok.status).toBe(200);
    expect(ok.body.queues.map((q: { name: string }) => q.name)).toEqual(['generate', 'generate-batches']);
  });

  it('throttles failed sign-ins per client address, counted in Redis', async () => {
    const attempt = (from: string, password: string) =>
      http(base, 'GET', '/admin/queues/api/queues', undefined, { 'x-forwarded-for': from, ...basicAuthHeader('admin', password) });
    const guesser = '192.0.2.20';
    for (let i = 1; i <= SIGN_IN_FAILURES_ALLOWED; i++) expect((await attempt(guesser, `guess-${i}`)).status, `failure ${i}`).toBe(401);
    const eleventh = await attempt(guesser, 'guess-11');
    expect(eleventh.status).toBe(429);
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(eleventh.body.error.code).toBe('too_many_sign_in_failures');
    expect((await attempt(guesser, generatedPassword())).status).toBe(429);
    expect((await attempt('192.0.2.21', generatedPassword())).status).toBe(200);
    const redis = new Redis(redisUrl());
    try {
      expect(Number(await redis.get(`${prefix}:board-auth:${guesser}`))).toBeGreaterThan(SIGN_IN_FAILURES_ALLOWED);
    } finally {
      await redis.quit();
    }
  });

  it('renders the board in a browser under the API\'s security headers', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'admin', password: generatedPassword() } });
      const page = await context.newPage();
      // The board's own scripts, styles and API calls must pass helmet's Content-Security-Policy.
      // (Its web font comes from Google and fails offline: not ours to serve.)
      const blocked: string[] = [];
      page.on('console', (message) => {
        if (/Content.Security.Policy/i.test(message.text())) blocked.push(message.text());
      });
      page.on('requestfailed', (request) => {
        if (request.url().startsWith(base)) blocked.push(`${request.url()}: ${request.failure()?.errorText}`);
      });
      expect((await page.goto(`${base}/admin/queues`))?.status()).toBe(200);
      await page.getByRole('link', { name: 'generate' }).first().waitFor();
      expect(blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('serves one registry on its port: api and worker series together, each once', async () => {
    const res = await http(base, 'POST', '/api/v1/generate', { prompt: 'Once upon a time', max_tokens: 12, cache: false });
    expect(res.status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const def of Object.values(METRICS)) expect(text.split(`# TYPE ${def.name} `).length - 1, def.name).toBe(1);
    const scrape = await Scrape.of(`${base}/metrics`);
    expect(scrape.value(METRICS.jobsSubmitted.name)).toBe(1);
    expect(scrape.value(METRICS.generationTokens.name)).toBe(res.body.usage.completion_tokens);
    expect(scrape.value(METRICS.queueJobs.name, { state: 'completed' })).toBe(1);
  });
});
