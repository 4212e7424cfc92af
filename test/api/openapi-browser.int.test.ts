import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/paths.ts';
import { startStack, type TestStack } from '../support/stack.ts';

const SCREENSHOTS = path.join(projectRoot, 'test-results');

/** Debian's Chromium, offline, against the real API: the docs page must render from local assets alone. */
describe('GET /api/docs in a browser', () => {
  let stack: TestStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('renders every operation, loading nothing from elsewhere and breaking no content security rule', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(stack.baseUrl) && !request.url().startsWith('data:')) foreign.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${stack.baseUrl}/api/docs`);
    await page.locator('.opblock').first().waitFor();
    const summaries = await page.locator('.opblock-summary-path').allInnerTexts();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'api-docs.png'), fullPage: true });

    const paths = summaries.map((text) => text.replace(/\u200b/g, '').trim());
    for (const route of ['/v1/chat/completions', '/v1/completions', '/api/v1/jobs/{id}/events', '/api/v1/generate']) {
      expect(paths).toContain(route);
    }
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
