import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { ephemeralCheckpointKeys } from './checkpointKeys';
import { launchChromium } from './chromium';
import { configFrom } from './cliSupport';
import { openDatabase } from './database';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embeddedPostgres';
import { seedDemo } from './seed';
import { createServer } from './server';

/**
 * `npm run screenshot`: docs/insights.png, the insights page at 1280 x 800 in Debian's headless Chromium.
 *
 * The same picture every time: the demo organisation (`npm run seed`) seeded at a fixed instant into a
 * scratch database (made beside the configured one, DATABASE_URL or the embedded PostgreSQL, and dropped
 * afterwards: your data is not touched), served and shown with the server's and the browser's clocks
 * fixed at that instant; the page shows the demo's previous quarter for the whole organisation.
 */

const NOW = new Date('2026-11-18T15:30:00.000Z');
const ORGANISATION = 'demo';
const OUTPUT = path.resolve(__dirname, '..', 'docs', 'insights.png');

const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const config = configFrom(process.env);
  let embedded: EmbeddedDatabase | null = null;
  let adminUrl = config.databaseUrl;
  if (adminUrl === null) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPort, progress: say });
    adminUrl = embedded.url;
  }
  const name = `okr_screenshot_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const orm = await openDatabase(url.toString());
    try {
      const keys = ephemeralCheckpointKeys();
      say(`Seeding the demo as of ${NOW.toISOString()} into the scratch database ${name}...`);
      const seeded = await seedDemo(orm, { organisationId: ORGANISATION, now: NOW, checkpoints: keys.signing });
      const server = await createServer({ orm, organisationId: ORGANISATION, actor: 'screenshot', clock: () => new Date(NOW), checkpointKeys: keys });
      try {
        const endpoint = await server.listen(0, '127.0.0.1');
        await photograph(new URL('/', endpoint).toString(), seeded.previousQuarter.id, seeded.examples.company.id);
      } finally {
        await server.close();
      }
    } finally {
      await orm.close(true);
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await embedded?.stop();
  }
  say(`Wrote ${path.relative(process.cwd(), OUTPUT)}.`);
}

/** What the page's own globals look like to the predicate below (this file is compiled without the DOM's types). */
interface PageGlobals {
  document: { body: { dataset: Record<string, string | undefined> }; querySelector(selector: string): { dataset: Record<string, string | undefined> } | null };
}

/**
 * Runs in the page: true once it shows this quarter and unit (any, when empty) with every section answered.
 * A function, not a string: the page's policy forbids evaluating strings.
 */
function shows([quarter, unit]: string[]): boolean {
  const { document } = globalThis as unknown as PageGlobals;
  const { dataset } = document.body;
  return (
    dataset.state === 'ready' &&
    (!quarter || dataset.quarter === quarter) &&
    (!unit || dataset.unit === unit) &&
    document.querySelector('#audit')?.dataset.state === 'ready'
  );
}

/** Opens the page with nothing reachable but the server, chooses the quarter and unit, and takes the picture. */
async function photograph(pageUrl: string, quarterId: string, unitId: string): Promise<void> {
  const browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await browser.context.newPage();
    const origin = new URL(pageUrl).origin;
    await page.route('**/*', (route) => (route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort()));
    await page.clock.setFixedTime(NOW);
    await page.goto(pageUrl);
    await page.waitForFunction(shows, ['', '']);
    await page.selectOption('#quarter', quarterId);
    await page.selectOption('#unit', unitId);
    await page.waitForFunction(shows, [quarterId, unitId]);
    // No focus ring on the last picker used.
    await page.locator('#unit').blur();
    await page.screenshot({ path: OUTPUT, animations: 'disabled', caret: 'hide' });
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  say(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
