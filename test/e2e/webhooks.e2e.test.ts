import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { verifySignature } from '../../src/webhooks/payloads';
import { startTestServer, type TestServer } from '../support/server';
import { OK, startReceiver, type Receiver } from '../support/webhookReceiver';

/*
 * Webhooks over GraphQL: admins configure them per unit and read their deliveries; everyone else is
 * refused with a stable reason; URLs are checked (outside local development mode, no private or loopback
 * address). Then, in local development mode, the whole way: a mutation's event enqueues, the worker
 * delivers to a real receiver, and the deliveries list and /metrics say so.
 */

const SECRET = 'test-secret-that-is-at-least-32-characters-long';
const mint = (claims: Record<string, unknown>, sub: string) =>
  new SignJWT(claims).setSubject(sub).setIssuedAt().setExpirationTime('1h').setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

const ADD = `mutation($i: AddWebhookInput!) { addWebhook(input: $i) { secret webhook { id unitId kind urlHint causes state createdBy } } }`;
const LIST = `query($u: ID!) { webhooks(unitId: $u) { id kind urlHint causes state } }`;
const DELIVERIES = `query($u: ID!, $s: WebhookDeliveryState) { webhookDeliveries(unitId: $u, state: $s) { id webhookId cause summary details state attempts lastStatus lastError nextAttemptAt deliveredAt } }`;
const PAUSE = `mutation($id: ID!) { pauseWebhook(id: $id) { id state } }`;
const RESUME = `mutation($id: ID!) { resumeWebhook(id: $id) { id state } }`;
const REMOVE = `mutation($id: ID!) { removeWebhook(id: $id) { id state urlHint } }`;

describe('with authentication', () => {
  let t: TestServer;
  const tokens = {} as Record<'admin' | 'otherAdmin' | 'analyst' | 'auditor' | 'memberPayments', string>;
  const ids = {} as Record<'company' | 'fn' | 'payments' | 'search', string>;

  async function ok(token: string, query: string, variables?: Record<string, unknown>) {
    const res = await t.gql(query, variables, token);
    if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
    return res.data as any;
  }
  async function refused(token: string, query: string, variables?: Record<string, unknown>) {
    const res = await t.gql(query, variables, token);
    return res.errors?.map((e) => [e.extensions?.code, e.extensions?.reason]);
  }

  beforeAll(async () => {
    t = await startTestServer('hooksapi', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }), webhooks: { deliver: false } });
    tokens.admin = await mint({ org: 'org-a', role: 'admin' }, 'ada');
    tokens.otherAdmin = await mint({ org: 'org-b', role: 'admin' }, 'bob');
    tokens.analyst = await mint({ org: 'org-a', role: 'analyst' }, 'ann');
    tokens.auditor = await mint({ org: 'org-a', role: 'auditor' }, 'aud');
    const reg = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
    ids.company = (await ok(tokens.admin, reg, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
    ids.fn = (await ok(tokens.admin, reg, { i: { name: 'Engineering', level: 'FUNCTION', parentId: ids.company } })).registerUnit.id;
    ids.payments = (await ok(tokens.admin, reg, { i: { name: 'Payments', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
    ids.search = (await ok(tokens.admin, reg, { i: { name: 'Search', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
    tokens.memberPayments = await mint({ org: 'org-a', role: 'member', units: [ids.payments] }, 'mia');
  });
  afterAll(() => t.close());

  it('lets an admin add, list, pause, resume and remove a unit\'s webhooks; the secret is answered once, the URL never again', async () => {
    const slack = (await ok(tokens.admin, ADD, { i: { unitId: ids.payments, url: 'https://hooks.slack.com/services/T000/B000/Xb7QsecretPART', kind: 'SLACK', causes: ['FORGOTTEN_CHECK_IN'] } })).addWebhook;
    expect(slack).toEqual({
      secret: null,
      webhook: { id: expect.any(String), unitId: ids.payments, kind: 'SLACK', urlHint: 'https://hooks.slack.com/…PART', causes: ['FORGOTTEN_CHECK_IN'], state: 'ACTIVE', createdBy: 'ada' },
    });
    const signed = (await ok(tokens.admin, ADD, { i: { unitId: ids.payments, url: 'https://example.com/okr-hooks', kind: 'SIGNED_JSON' } })).addWebhook;
    expect(signed.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(signed.webhook.causes).toEqual(['QUARTER_PHASE', 'FORGOTTEN_CHECK_IN', 'HEALTH_PROBLEM']);
    const own = (await ok(tokens.admin, ADD, { i: { unitId: ids.search, url: 'https://example.com/x', kind: 'SIGNED_JSON', secret: 'a-secret-the-admin-chose-long-enough' } })).addWebhook;
    expect(own.secret).toBe('a-secret-the-admin-chose-long-enough');

    const listed = (await ok(tokens.admin, LIST, { u: ids.payments })).webhooks;
    expect(listed.map((w: any) => w.id).sort()).toEqual([slack.webhook.id, signed.webhook.id].sort());
    expect(JSON.stringify(listed)).not.toContain('secret');
    expect(JSON.stringify(listed)).not.toContain('Xb7Q');

    expect((await ok(tokens.admin, PAUSE, { id: slack.webhook.id })).pauseWebhook.state).toBe('PAUSED');
    expect((await ok(tokens.admin, PAUSE, { id: slack.webhook.id })).pauseWebhook.state).toBe('PAUSED');
    expect((await ok(tokens.admin, RESUME, { id: slack.webhook.id })).resumeWebhook.state).toBe('ACTIVE');
    expect((await ok(tokens.admin, REMOVE, { id: slack.webhook.id })).removeWebhook).toEqual({ id: slack.webhook.id, state: 'REMOVED', urlHint: '(removed)' });
    expect((await ok(tokens.admin, LIST, { u: ids.payments })).webhooks.map((w: any) => w.id)).toEqual([signed.webhook.id]);
    expect(await refused(tokens.admin, REMOVE, { id: slack.webhook.id })).toEqual([['NOT_FOUND', 'WEBHOOK_NOT_FOUND']]);
    const [stored] = await t.db.sql.query<{ url: string; secret: string | null }>('SELECT url, secret FROM okr_webhooks WHERE id = ?', [slack.webhook.id]);
    expect(stored).toEqual({ url: '(removed)', secret: null });
    // Configuration is not in the log.
    expect((await t.db.sql.query<{ n: string }>(`SELECT count(*) AS n FROM okr_events WHERE data::text LIKE '%hooks.slack.com%'`))[0]?.n).toBe('0');
  });

  it('refuses everyone but admins, with stable reasons, and keeps organisations apart', async () => {
    const hook = (await ok(tokens.admin, ADD, { i: { unitId: ids.payments, url: 'https://example.com/a', kind: 'SLACK' } })).addWebhook.webhook;
    const add = (unitId: string) => ({ i: { unitId, url: 'https://example.com/b', kind: 'SLACK' } });
    expect(await refused(tokens.analyst, ADD, add(ids.payments))).toEqual([['FORBIDDEN', 'READ_ONLY_ROLE']]);
    expect(await refused(tokens.auditor, PAUSE, { id: hook.id })).toEqual([['FORBIDDEN', 'READ_ONLY_ROLE']]);
    expect(await refused(tokens.analyst, LIST, { u: ids.payments })).toEqual([['FORBIDDEN', 'ADMIN_ONLY']]);
    expect(await refused(tokens.auditor, DELIVERIES, { u: ids.payments })).toEqual([['FORBIDDEN', 'ADMIN_ONLY']]);
    expect(await refused(tokens.memberPayments, ADD, add(ids.search))).toEqual([['FORBIDDEN', 'NOT_YOUR_UNIT']]);
    expect(await refused(tokens.memberPayments, LIST, { u: ids.search })).toEqual([['FORBIDDEN', 'NOT_YOUR_UNIT']]);
    expect(await refused(tokens.memberPayments, ADD, add(ids.payments))).toEqual([['FORBIDDEN', 'ADMIN_ONLY']]);
    expect(await refused(tokens.memberPayments, REMOVE, { id: hook.id })).toEqual([['FORBIDDEN', 'ADMIN_ONLY']]);
    expect(await refused(tokens.memberPayments, DELIVERIES, { u: ids.payments })).toEqual([['FORBIDDEN', 'ADMIN_ONLY']]);
    // Another organisation's admin finds neither the unit nor the webhook.
    expect(await refused(tokens.otherAdmin, ADD, add(ids.payments))).toEqual([['NOT_FOUND', 'UNIT_NOT_FOUND']]);
    expect(await refused(tokens.otherAdmin, REMOVE, { id: hook.id })).toEqual([['NOT_FOUND', 'WEBHOOK_NOT_FOUND']]);
    expect((await ok(tokens.otherAdmin, LIST, { u: ids.payments })).webhooks).toEqual([]);
    expect((await ok(tokens.admin, LIST, { u: ids.payments })).webhooks.map((w: any) => w.state)).toContain('ACTIVE');
  });

  it.each([
    ['http://127.0.0.1:8080/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://localhost/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://169.254.169.254/latest/meta-data', 'WEBHOOK_URL_PRIVATE'],
    ['http://10.1.2.3/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://[::1]/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://[::ffff:127.0.0.1]/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://0x7f000001/hook', 'WEBHOOK_URL_PRIVATE'],
    ['http://intranet/hook', 'WEBHOOK_URL_PRIVATE'],
    ['ftp://example.com/hook', 'WEBHOOK_URL_INVALID'],
    ['https://user:pass@example.com/hook', 'WEBHOOK_URL_INVALID'],
    ['not a url', 'WEBHOOK_URL_INVALID'],
  ])('refuses the URL %s (%s) outside local development mode', async (url, reason) => {
    expect(await refused(tokens.admin, ADD, { i: { unitId: ids.search, url, kind: 'SLACK' } })).toEqual([['BAD_USER_INPUT', reason]]);
  });

  it('refuses bad secrets, empty causes, too many webhooks and page sizes out of range', async () => {
    const add = (i: Record<string, unknown>) => refused(tokens.admin, ADD, { i: { unitId: ids.search, url: 'https://example.com/c', kind: 'SIGNED_JSON', ...i } });
    expect(await add({ secret: 'short' })).toEqual([['BAD_USER_INPUT', 'WEBHOOK_SECRET_INVALID']]);
    expect(await add({ kind: 'SLACK', secret: 'a-secret-the-admin-chose-long-enough' })).toEqual([['BAD_USER_INPUT', 'WEBHOOK_SECRET_INVALID']]);
    expect(await add({ causes: [] })).toEqual([['BAD_USER_INPUT', 'WEBHOOK_CAUSES_EMPTY']]);
    const existing = (await ok(tokens.admin, LIST, { u: ids.search })).webhooks.length;
    for (let i = existing; i < 10; i += 1) await ok(tokens.admin, ADD, { i: { unitId: ids.search, url: `https://example.com/${i}`, kind: 'SLACK' } });
    expect(await add({})).toEqual([['BAD_USER_INPUT', 'TOO_MANY_WEBHOOKS']]);
    expect(await refused(tokens.admin, `query($u: ID!) { webhookDeliveries(unitId: $u, first: 101) { id } }`, { u: ids.search })).toEqual([['BAD_USER_INPUT', 'PAGE_SIZE_INVALID']]);
  });
});

describe('in local development mode, the whole way', () => {
  let t: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startTestServer('hooksflow', '2027-01-10T09:00:00Z', 'org-local', { webhooks: { deliver: false } });
    receiver = await startReceiver(() => OK);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('delivers a planned quarter to a local receiver, signed, and lists it as delivered; /metrics counts it', async () => {
    const unit = (await t.gql(`mutation { registerUnit(input: { name: "Acme", level: COMPANY }) { id } }`)).data?.registerUnit.id;
    const added = (await t.gql(ADD, { i: { unitId: unit, url: receiver.url, kind: 'SIGNED_JSON', causes: ['QUARTER_PHASE'] } })).data?.addWebhook;
    expect(added?.secret).toMatch(/^whsec_/);
    await t.gql(`mutation { planQuarter(input: { id: "2027-Q2", startsOn: "2027-04-01T00:00:00Z", endsOn: "2027-07-01T00:00:00Z" }) { id } }`);
    const pending = (await t.gql(DELIVERIES, { u: unit })).data?.webhookDeliveries;
    expect(pending).toEqual([
      expect.objectContaining({ webhookId: added.webhook.id, cause: 'QUARTER_PHASE', state: 'PENDING', attempts: 0, nextAttemptAt: '2027-01-10T09:00:00.000Z' }),
    ]);
    expect(pending[0].summary).toBe('Quarter 2027-Q2 was planned: the setting window opens 2027-03-11, and it runs from 2027-04-01 to 2027-07-01.');

    expect(await t.server.webhooks.worker.runOnce()).toEqual(['delivered']);
    const [delivered] = (await t.gql(DELIVERIES, { u: unit, s: 'DELIVERED' })).data?.webhookDeliveries ?? [];
    expect(delivered).toMatchObject({ id: pending[0].id, state: 'DELIVERED', attempts: 1, lastStatus: 200, lastError: null, nextAttemptAt: null, deliveredAt: '2027-01-10T09:00:00.000Z' });
    const [got] = receiver.received;
    expect(got?.deliveryId).toBe(pending[0].id);
    expect(verifySignature(added.secret, { signature: got?.headers['x-okr-signature'] as string, timestamp: got?.headers['x-okr-timestamp'] as string }, got?.body ?? '', t.clock.now())).toBe(true);
    expect(JSON.parse(got?.body ?? '{}')).toEqual({
      deliveryId: pending[0].id,
      webhookId: added.webhook.id,
      organisationId: 'org-local',
      unitId: unit,
      cause: pending[0].details,
      occurredAt: '2027-01-10T09:00:00.000Z',
      text: pending[0].summary,
    });
    const metrics = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/okr_webhook_delivery_attempts_total\{outcome="delivered"\} 1/);
  });
});
