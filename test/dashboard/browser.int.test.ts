import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/paths.ts';
import { http, startStack, type TestStack } from '../support/stack.ts';
import { startBoardServer, type BoardServer } from './board-server.ts';

const USER = 'operator';
const PASSWORD = 'browser-test-password';
const SCREENSHOTS = path.join(projectRoot, 'test-results');

/** Debian's Chromium, driven by playwright-core, against the real board, queue, worker and model. */
describe('Bull Board in a browser', () => {
  let stack: TestStack;
  let board: BoardServer;
  let readOnlyBoard: BoardServer;
  let browser: Browser;
  let job: { id: string; text: string; completion_tokens: number };

  beforeAll(async () => {
    stack = await startStack();
    board = await startBoardServer(stack.config, { DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_READ_ONLY: false });
    readOnlyBoard = await startBoardServer(stack.config, { DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_READ_ONLY: true });
    const res = await http(stack.baseUrl, 'POST', '/api/v1/generate', { prompt: 'Once upon a time', max_tokens: 24, temperature: 0 });
    expect(res.status).toBe(200);
    job = { id: res.body.id, text: res.body.text, completion_tokens: res.body.usage.completion_tokens };
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await board?.close();
    await readOnlyBoard?.close();
    await stack?.close();
  });

  it('refuses a browser without credentials (401)', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const statuses: number[] = [];
      page.on('response', (response) => statuses.push(response.status()));
      // Headless Chromium has no one to ask for a password: it gives up on the challenge.
      await expect(page.goto(`${board.url}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      expect(statuses).toEqual([401]);
      expect((await context.request.get(`${board.url}/admin/queues/api/queues`)).status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('refuses a browser with a wrong password (401)', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: 'not-the-password' } });
    try {
      const response = await (await context.newPage()).goto(`${board.url}/admin/queues`);
      expect(response?.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('shows the queue, the completed job, its result and its progress in tokens', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 1280, height: 1000 },
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${board.url}/admin/queues`);
      expect(response?.status()).toBe(200);
      const queueLink = page.getByRole('link', { name: stack.config.QUEUE_NAME }).first();
      await queueLink.waitFor();
      await page.screenshot({ path: path.join(SCREENSHOTS, 'bull-board-overview.png') });

      await queueLink.click();
      await page.getByText(/completed/i).first().click();
      const jobLink = page.getByText(job.id).first();
      await jobLink.waitFor();
      // The list shows the job's return value: the generated text is on the page.
      await page.getByText(job.text.trim().slice(0, 30), { exact: false }).first().waitFor();

      await page.goto(`${board.url}/admin/queues/queue/${stack.config.QUEUE_NAME}/${job.id}`);
      await page.getByText('returnValue').first().waitFor();
      const details = await page.innerText('body');
      expect(details).toContain(job.id);
      expect(details).toContain('finish_reason');
      expect(details).toContain(`completion_tokens:${job.completion_tokens}`);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'bull-board-job.png'), fullPage: true });

      await page.getByText('Progress', { exact: true }).click();
      // The Progress tab replaces the data view: only the worker's progress report is left.
      await page.getByText('returnValue').waitFor({ state: 'detached' });
      const progress = await page.innerText('body');
      expect(progress).not.toContain('completion_tokens');
      expect(progress).toMatch(new RegExp(`\\btokens:\\s*${job.completion_tokens}\\b`));
      await page.screenshot({ path: path.join(SCREENSHOTS, 'bull-board-progress.png') });
    } finally {
      await context.close();
    }
  });

  it('offers no actions in read-only mode', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    try {
      const page = await context.newPage();
      const actions = async (url: string) => {
        await page.goto(`${url}/admin/queues/queue/${stack.config.QUEUE_NAME}?status=completed`);
        await page.getByText(job.id).first().waitFor();
        return {
          retryAll: await page.getByRole('button', { name: 'Retry all' }).count(),
          cleanAll: await page.getByRole('button', { name: 'Clean all' }).count(),
        };
      };
      expect(await actions(board.url)).toEqual({ retryAll: 1, cleanAll: 1 });
      expect(await actions(readOnlyBoard.url)).toEqual({ retryAll: 0, cleanAll: 0 });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'bull-board-read-only.png') });
    } finally {
      await context.close();
    }
  });
});
