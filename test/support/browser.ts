import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, headless, with the flags this offline machine needs (no background network calls). */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
