import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Headless Chromium for the insights page's browser tests and its screenshot (`npm run screenshot`):
 * Debian's own chromium package, driven by playwright-core. Playwright never downloads a browser here.
 * A development tool: playwright-core is a devDependency, and nothing the server runs imports this.
 */

/** Where Debian's chromium package puts the browser (`apt-get install -y chromium`; .ci/run does it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline browser in a container, as root: nothing is fetched from the network by Chromium itself. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export class ChromiumMissingError extends Error {
  constructor() {
    super(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the insights page's browser tests need it. ` +
        'Install Debian\'s package: `apt-get update && apt-get install -y chromium` (.ci/run does this). Playwright is never used to download a browser.',
    );
    this.name = 'ChromiumMissingError';
  }
}

export interface Chromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile of its own, removed on close. Throws ChromiumMissingError when there is none. */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError();
  const profile = await mkdtemp(path.join(tmpdir(), 'okr-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport: options.viewport ?? { width: 1280, height: 800 },
      // A fixed locale and time zone: the page shows UTC anyway, and screenshots stay the same everywhere.
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    return {
      context,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
