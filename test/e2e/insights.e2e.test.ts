import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { launchChromium, type Chromium } from '../../src/chromium';
import { seedDemo, type SeedSummary } from '../../src/seed';
import { DEFAULT_LIMITS } from '../../src/config';
import { createServer, type OkrServer } from '../../src/server';
import { apiFigures, choose, openInsights, pageFigures, waitShown, type OpenedPage } from '../support/insightsPage';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The insights page at GET / in real headless Chromium (Debian's, driven by playwright-core): the seeded
 * demo organisation, a quarter and a unit chosen, the time slider moved; every figure the page shows is
 * compared with the API's answer to the same question, at the same instant. No browser is downloaded:
 * without /usr/bin/chromium these tests fail, saying how to install it.
 */

const SEEDED_AT = new Date('2026-11-18T15:30:00.000Z'); // the demo's present: day 48 of 2026-Q4
const NOW = new Date('2026-11-18T17:00:00.000Z'); // the server's and the browser's clock, a little later
const ORG = 'org-e2e';
const SECRET = 'insights-test-secret-that-is-at-least-32-characters';
const HOUR = 3_600_000;
const SETUP_TIMEOUT = 240_000;

let browser: Chromium;
let t: TestServer;
let seeded: SeedSummary;
/** The demo's example key result, given a late reading and a correction below. */
let keyResultId: string;
const opened: OpenedPage[] = [];

async function open(viewport?: { width: number; height: number }, url = t.url): Promise<OpenedPage> {
  const tab = await openInsights(browser, url, NOW, viewport);
  opened.push(tab);
  return tab;
}

/** A GraphQL request over HTTP to `url`, as TestServer.gql sends them, with a bearer token when given. */
function gqlAt(url: string): typeof t.gql {
  return async (query, variables, token) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: any[] };
    return { status: res.status, data: body.data, errors: body.errors };
  };
}

async function ok(query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await t.gql(query, variables);
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}

beforeAll(async () => {
  // First: without Chromium there is nothing to test, and the error says how to install it.
  browser = await launchChromium();
  t = await startTestServer('insights', NOW.toISOString(), ORG);
  seeded = await seedDemo(t.db.orm, { organisationId: ORG, now: SEEDED_AT, checkpoints: t.keys.signing });
  keyResultId = seeded.examples.keyResult.id;
  // As a team would through the API: a reading recorded late for a week it missed (back-dated), and a
  // corrected reading for a moment already checked in (the earlier one is then superseded).
  const { keyResult } = await ok(`query($id: ID!) { keyResult(id: $id) { checkIns { asOf } } }`, { id: keyResultId });
  const corrected = keyResult.checkIns.at(-2).asOf as string;
  const record = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id } }`;
  await ok(record, { i: { keyResultId, confidence: 64, value: 0.7, asOf: '2026-11-09T10:00:00Z', whatChanged: 'The reading we missed last week.' } });
  await ok(record, { i: { keyResultId, confidence: 74, value: 0.66, asOf: corrected, whatChanged: 'Corrected: the dashboard counted retries twice.' } });
}, SETUP_TIMEOUT);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

afterEach(async () => {
  for (const tab of opened.splice(0)) await tab.page.close();
});

/** No request left the server, nothing broke, and the content security policy was never violated. */
function expectClean(tab: OpenedPage, allowedProblems: RegExp[] = []): void {
  expect(tab.elsewhere).toEqual([]);
  expect(tab.problems.filter((p) => !allowedProblems.some((allowed) => allowed.test(p)))).toEqual([]);
}

describe('the insights page', () => {
  it('opens on the quarter under way for the whole organisation, as the API answers it, with nothing from elsewhere', async () => {
    const tab = await open();
    await waitShown(tab.page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    expect(await pageFigures(tab.page)).toEqual(await apiFigures(t.gql, seeded.currentQuarter.id, seeded.examples.company.id, null));
    expect(await tab.page.textContent('#instant-label')).toBe('Now, 2026-11-18 17:00 UTC (live)');
    expect(await tab.page.locator('#confidence .chart canvas').count()).toBeGreaterThan(0);
    expectClean(tab);
  });

  it('shows a team chosen with the pickers exactly as the API answers for it', async () => {
    const tab = await open();
    await choose(tab.page, seeded.currentQuarter.id, seeded.examples.team.id);
    const shown = await pageFigures(tab.page);
    expect(shown).toEqual(await apiFigures(t.gql, seeded.currentQuarter.id, seeded.examples.team.id, null));
    expect(shown.keyResults.length).toBeGreaterThan(2);
    expect(shown.confidence.length).toBeGreaterThan(3);
    expect(shown.effort).toHaveLength(1);
    // One chart per key result with check-ins, drawn by uPlot.
    expect(await tab.page.locator('#key-results article.key-result .uplot').count()).toBe(shown.keyResults.filter((k) => k.points.length > 0).length);
    expectClean(tab);
  });

  it('marks back-dated readings and corrections, and the reading a correction replaced', async () => {
    const tab = await open();
    await choose(tab.page, seeded.currentQuarter.id, seeded.examples.team.id);
    const card = tab.page.locator(`article.key-result[data-key-result-id="${keyResultId}"]`);
    const flags = (await pageFigures(tab.page)).keyResults.find((k) => k.id === keyResultId)?.points.map((p) => p.flags);
    expect(flags).toContain('backdated');
    expect(flags).toContain('backdated correction');
    expect(flags).toContain('superseded');
    // Visible on the card, not only in its data.
    await expect(card.locator('.badge.backdated').textContent()).resolves.toBe('2 back-dated');
    await expect(card.locator('.badge.correction').textContent()).resolves.toBe('1 correction');
    expect(await card.locator('.badge.backdated').isVisible()).toBe(true);
    await card.locator('summary').click();
    await expect(card.locator('tr.point.superseded td').last().textContent()).resolves.toBe('superseded');
    await expect(card.locator('tr.point.correction td').last().textContent()).resolves.toBe('back-dated, correction');
    expectClean(tab);
  });

  it("shows a closed quarter's calibration and effort for a function and the teams below it, as the API answers them", async () => {
    const tab = await open();
    await choose(tab.page, seeded.previousQuarter.id, seeded.examples.function.id);
    const shown = await pageFigures(tab.page);
    expect(shown).toEqual(await apiFigures(t.gql, seeded.previousQuarter.id, seeded.examples.function.id, null));
    expect(shown.calibrationKeyResults.length).toBeGreaterThan(5);
    // The function's own line and one per team below it.
    expect(new Set(shown.confidence.map((c) => c.unitId)).size).toBeGreaterThanOrEqual(3);
    expect(shown.effort.length).toBeGreaterThanOrEqual(3);
    expectClean(tab);
  });

  it('shows the whole page as of an earlier instant when the slider moves, asking only once it stops', async () => {
    const tab = await open();
    const quarter = seeded.currentQuarter;
    await choose(tab.page, quarter.id, seeded.examples.team.id);
    const hours = (instant: Date) => String((instant.getTime() - quarter.settingOpensOn.getTime()) / HOUR);
    const before = tab.operations.length;
    // Dragging: the slider passes several positions in quick succession and rests on the demo's earlier instant.
    const positions = ['2026-10-01T00:00:00Z', '2026-10-20T00:00:00Z', seeded.examples.earlierInstant.toISOString()].map((i) => hours(new Date(i)));
    await tab.page.locator('#instant').evaluate((slider: any, values: string[]) => {
      for (const value of values) {
        slider.value = value;
        slider.dispatchEvent(new (globalThis as any).Event('input', { bubbles: true }));
      }
    }, positions);
    const asOf = seeded.examples.earlierInstant.toISOString();
    await waitShown(tab.page, { quarter: quarter.id, unit: seeded.examples.team.id, asOf });
    expect(await tab.page.textContent('#instant-label')).toBe('As of 2026-11-04 00:00 UTC');
    expect(await tab.page.getAttribute('#instant', 'aria-valuetext')).toBe('As of 2026-11-04 00:00 UTC');
    const sent = tab.operations.slice(before);
    expect(new Set(sent.map((o) => o.variables.asOf))).toEqual(new Set([asOf]));

    const shown = await pageFigures(tab.page);
    expect(shown).toEqual(await apiFigures(t.gql, quarter.id, seeded.examples.team.id, asOf));
    // What was recorded later, back-dated or not, is not in the past's answer; ids are versioned with the instant.
    const example = shown.keyResults.find((k) => k.id === `${keyResultId}@${asOf}`);
    expect(example?.points.map((p) => p.flags).filter(Boolean)).toEqual([]);
    expect(shown.keyResults.every((k) => k.points.every((p) => p.recordedAt <= asOf))).toBe(true);

    // Back to the present with the Now button.
    await tab.page.click('#now');
    await waitShown(tab.page, { quarter: quarter.id, unit: seeded.examples.team.id, asOf: '' });
    expect(await pageFigures(tab.page)).toEqual(await apiFigures(t.gql, quarter.id, seeded.examples.team.id, null));
    expectClean(tab);
  });

  it('shows an error the API answers with its code, reason and message', async () => {
    const tab = await open();
    const quarter = seeded.currentQuarter;
    await choose(tab.page, quarter.id, seeded.examples.team.id);
    const asOf = '2026-11-10T00:00:00.000Z';
    // The server's clock goes back before the instant the page asks about: an instant in its future.
    t.clock.set('2026-11-09T00:00:00Z');
    try {
      await tab.page.locator('#instant').fill(String((Date.parse(asOf) - quarter.settingOpensOn.getTime()) / HOUR));
      await waitShown(tab.page, { quarter: quarter.id, unit: seeded.examples.team.id, asOf });
    } finally {
      t.clock.set(NOW.toISOString());
    }
    const error = tab.page.locator('#key-results .error');
    expect(await error.getAttribute('data-code')).toBe('BAD_USER_INPUT');
    expect(await error.getAttribute('data-reason')).toBe('AS_OF_IN_FUTURE');
    expect(await error.textContent()).toMatch(/^BAD_USER_INPUT \(AS_OF_IN_FUTURE\): .*future/);
    expect(await tab.page.getAttribute('#key-results', 'data-state')).toBe('failed');
    expectClean(tab, [/status of 400/]);
  });

  it("shows the log's latest checkpoint and its verification as the API answers them, and signs nothing by looking", async () => {
    const before = (await ok('{ checkpoint { treeSize rootHash signedAt origin } }')).checkpoint;
    const tab = await open();
    await waitShown(tab.page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    const { checkpoint } = await ok('{ checkpoint { treeSize rootHash signedAt origin } }');
    // The page asks verifyAuditLog(record: false): viewing it left no checkpoint of its own.
    expect(checkpoint).toEqual(before);
    const shown = await tab.page.locator('#audit dl.checkpoint').evaluate((dl: any) => ({ ...dl.dataset }));
    expect(shown).toEqual({ treeSize: String(checkpoint.treeSize), rootHash: checkpoint.rootHash, signedAt: checkpoint.signedAt, origin: checkpoint.origin });
    const verdict = await tab.page.locator('#audit .verdict').evaluate((p: any) => ({ ...p.dataset }));
    const { verifyAuditLog: verified } = await ok('{ verifyAuditLog(record: false) { ok treeSize rootHash } }');
    expect(verified).toMatchObject({ ok: true });
    expect(verdict).toMatchObject({ verified: 'ok', treeSize: String(verified.treeSize), rootHash: verified.rootHash });
    expect(await tab.page.textContent('#audit .verdict')).toContain(`its ${verified.treeSize} events match its Merkle tree`);
    expectClean(tab);
  });

  it.each([
    ['a phone, 390 px wide', { width: 390, height: 844 }],
    ['a laptop, 1280 x 800', { width: 1280, height: 800 }],
  ])('fits %s: nothing scrolls sideways, even with every table open', async (_label, viewport) => {
    const tab = await open(viewport);
    await choose(tab.page, seeded.previousQuarter.id, seeded.examples.function.id);
    await tab.page.evaluate(() => {
      for (const details of (globalThis as any).document.querySelectorAll('details')) details.open = true;
    });
    const widths = await tab.page.evaluate(() => {
      const root = (globalThis as any).document.documentElement;
      return { scroll: root.scrollWidth, client: root.clientWidth };
    });
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    expect(widths.client).toBe(viewport.width);
    // Every chart fits its panel.
    const charts = await tab.page.locator('.chart').evaluateAll((nodes: any[]) => nodes.map((n) => n.scrollWidth <= n.clientWidth + 1));
    expect(charts.every(Boolean)).toBe(true);
    expectClean(tab);
  });
});

describe('the insights page with authentication on', () => {
  let secured: OkrServer;
  let url: string;
  const mint = (claims: Record<string, unknown>, sub: string) =>
    new SignJWT(claims).setSubject(sub).setIssuedAt().setExpirationTime('1h').setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  /** The browser's 401s are logged as console errors; they are the point here. */
  const refusals = [/status of 401/];

  beforeAll(async () => {
    // The same database and clock, behind tokens.
    secured = await createServer({
      orm: t.db.orm,
      organisationId: 'unused',
      actor: 'nobody',
      clock: t.clock.now,
      checkpointKeys: t.keys,
      authenticator: jwtAuthenticator({ secret: SECRET }),
    });
    url = await secured.listen(0, '127.0.0.1');
  });
  afterAll(() => secured?.close());

  it('asks for a token when the API answers UNAUTHENTICATED, keeps it in the tab only, and works once given one', async () => {
    const tab = await open(undefined, url);
    const { page } = tab;
    expect(await page.getAttribute('body', 'data-state')).toBe('signed-out');
    expect(await page.isVisible('#sign-in')).toBe(true);
    expect(await page.isVisible('#insights')).toBe(false);
    expect(await page.textContent('#sign-in-reason')).toMatch(/token|authorization/i);

    const token = await mint({ org: ORG, role: 'analyst' }, 'ann');
    await page.fill('#token', token);
    await page.click('#sign-in button[type="submit"]');
    await waitShown(page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    expect(await page.textContent('#identity')).toBe('Signed in as ann (analyst)');
    await choose(page, seeded.currentQuarter.id, seeded.examples.team.id);
    expect(await pageFigures(page)).toEqual(await apiFigures(gqlAt(url), seeded.currentQuarter.id, seeded.examples.team.id, null, token));
    // Any role may run the default verification (an analyst's signs nothing).
    expect(await page.getAttribute('#audit .verdict', 'data-verified')).toBe('ok');

    // Only in this tab's session storage: not in the address, a cookie or local storage.
    const kept = await page.evaluate(() => {
      const g = globalThis as any;
      return { session: g.sessionStorage.getItem('okr-insights-token'), local: g.localStorage.length, cookie: g.document.cookie, href: g.location.href };
    });
    expect(kept).toEqual({ session: token, local: 0, cookie: '', href: new URL('/', url).toString() });
    // A reload in the same tab keeps it; a new tab asks again.
    await page.reload();
    await waitShown(page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    const other = await open(undefined, url);
    expect(await other.page.getAttribute('body', 'data-state')).toBe('signed-out');
    expectClean(tab, refusals);
    expectClean(other, refusals);
  });

  it('asks again, saying why, when the token is refused; and forgets it on request', async () => {
    const tab = await open(undefined, url);
    const { page } = tab;
    await page.fill('#token', await mint({ org: ORG, role: 'nobody-knows' }, 'eve'));
    await page.click('#sign-in button[type="submit"]');
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.state === 'signed-out' && (globalThis as any).document.querySelector('#sign-in-reason').textContent.includes('role'));
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);

    await page.fill('#token', `Bearer ${await mint({ org: ORG, role: 'auditor' }, 'aud')}`);
    await page.click('#sign-in button[type="submit"]');
    await waitShown(page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    await page.click('#forget-token');
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.state === 'signed-out');
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length)).toBe(0);
    expectClean(tab, refusals);
  });
});

describe('the insights page under admission limits', () => {
  const servers: OkrServer[] = [];
  /** A server on the same database and clock that enforces these limits per person (tests otherwise run without). */
  async function limitedServer(limits: { ratePerPerson: number; concurrencyPerPerson: number }): Promise<string> {
    const server = await createServer({ orm: t.db.orm, organisationId: ORG, actor: 'alice', clock: t.clock.now, checkpointKeys: t.keys, limits });
    servers.push(server);
    return server.listen(0, '127.0.0.1');
  }
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it("keeps within `npm start`'s while the slider is dragged about, and ends showing what the API answers", async () => {
    const url = await limitedServer({ ratePerPerson: DEFAULT_LIMITS.ratePerPerson, concurrencyPerPerson: DEFAULT_LIMITS.concurrencyPerPerson });
    const tab = await open(undefined, url);
    const quarter = seeded.currentQuarter;
    await choose(tab.page, quarter.id, seeded.examples.team.id);
    // Each stop outlasts the debounce, so each starts a render that the next one abandons.
    const stops = ['09-20', '09-26', '10-02', '10-08', '10-15', '10-21', '10-28', '11-02', '11-06'].map((day) => `2026-${day}T00:00:00Z`);
    for (const instant of stops) {
      await tab.page.locator('#instant').fill(String((Date.parse(instant) - quarter.settingOpensOn.getTime()) / HOUR));
      await tab.page.waitForTimeout(330);
    }
    const asOf = new Date(stops.at(-1) as string).toISOString();
    await waitShown(tab.page, { quarter: quarter.id, unit: seeded.examples.team.id, asOf });
    expect(await tab.page.locator('[data-state="failed"]').count()).toBe(0);
    expect(await pageFigures(tab.page)).toEqual(await apiFigures(gqlAt(url), quarter.id, seeded.examples.team.id, asOf));
    expectClean(tab);
  });

  it('asks again after the Retry-After of a request refused with RATE_LIMITED', async () => {
    // Two requests in flight per person: fewer than the page sends at once.
    const url = await limitedServer({ ratePerPerson: 0, concurrencyPerPerson: 2 });
    const tab = await open(undefined, url);
    await waitShown(tab.page, { quarter: seeded.currentQuarter.id, unit: seeded.examples.company.id, asOf: '' });
    expect(tab.statuses).toContain(429);
    expect(await tab.page.locator('[data-state="failed"]').count()).toBe(0);
    expect(await pageFigures(tab.page)).toEqual(await apiFigures(gqlAt(url), seeded.currentQuarter.id, seeded.examples.company.id, null));
    expectClean(tab, [/status of 429/]);
  });
});
