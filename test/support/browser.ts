import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { packageRoot } from '../../src/admin/dashboard-files.js';

// Headless Chromium for end-to-end tests of the web dashboard: Debian's `chromium` package
// driven by playwright-core (which never downloads a browser of its own). Each launch gets a
// fresh profile directory and no network chatter of its own (no sync, updates, QUIC, GPU).

export const CHROMIUM_PATH = process.env.WSUS_TEST_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

type Chromium = (typeof import('playwright-core'))['chromium'];

async function loadChromium(): Promise<Chromium | null> {
  try {
    return (await import('playwright-core')).chromium;
  } catch {
    return null;
  }
}

/** Why browser tests cannot run here (null: they can). */
export async function browserSkipReason(): Promise<string | null> {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH} (install the Debian "chromium" package, as .ci/run does)`;
  if (!(await loadChromium())) return 'playwright-core is not installed (npm ci installs it as a devDependency)';
  return null;
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** console errors and uncaught page errors seen so far */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh headless Chromium with one 1366×768 page. */
export async function launchBrowser(): Promise<TestBrowser> {
  const chromium = await loadChromium();
  if (!chromium) throw new Error('playwright-core is not installed');
  const profile = mkdtempSync(join(tmpdir(), 'wsus-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1366, height: 768 },
    locale: 'en-US',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as `test-results/<dir>/<name>.png` in the package root. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  const folder = join(packageRoot(), 'test-results', dir);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
