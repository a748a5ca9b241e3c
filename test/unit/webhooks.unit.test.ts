import { ConfigError, DEFAULT_WEBHOOK_SETTINGS, loadConfig } from '../../src/config';
import { DomainError } from '../../domain/errors';
import { checkWebhookUrl, isPrivateAddress, urlHint } from '../../src/webhooks/addresses';
import { causeText, deliveryBody, signature, verifySignature, type Delivery } from '../../src/webhooks/payloads';
import { retryDelayMs } from '../../src/webhooks/worker';

/* Webhooks without a database: which addresses are private, URL checks, backoff, bodies, signatures, settings. */

const reasonOf = (run: () => unknown): string | null => {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.reason : String(error);
  }
};

describe('addresses', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::abcd', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', '[::1]',
  ])('%s is private', (address) => expect(isPrivateAddress(address)).toBe(true));

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', 'example.com'])('%s is not', (address) =>
    expect(isPrivateAddress(address)).toBe(false));

  it('refuses private URLs only where they are not allowed, and bad URLs everywhere', () => {
    expect(reasonOf(() => checkWebhookUrl('http://127.0.0.1:3000/hook', false))).toBe('WEBHOOK_URL_PRIVATE');
    expect(reasonOf(() => checkWebhookUrl('http://127.0.0.1:3000/hook', true))).toBeNull();
    expect(reasonOf(() => checkWebhookUrl('http://metadata.google.internal/x', false))).toBe('WEBHOOK_URL_PRIVATE');
    expect(reasonOf(() => checkWebhookUrl('http://2130706433/x', false))).toBe('WEBHOOK_URL_PRIVATE');
    expect(reasonOf(() => checkWebhookUrl('https://hooks.slack.com/services/T/B/X', false))).toBeNull();
    expect(reasonOf(() => checkWebhookUrl('javascript:alert(1)', true))).toBe('WEBHOOK_URL_INVALID');
    expect(reasonOf(() => checkWebhookUrl('file:///etc/passwd', true))).toBe('WEBHOOK_URL_INVALID');
    expect(reasonOf(() => checkWebhookUrl('https://example.com/a#b', true))).toBe('WEBHOOK_URL_INVALID');
    expect(reasonOf(() => checkWebhookUrl(`https://example.com/${'a'.repeat(2048)}`, true))).toBe('WEBHOOK_URL_INVALID');
  });

  it('show a URL back without its path', () => {
    expect(urlHint('https://hooks.slack.com/services/T000/B000/abcdWXYZ')).toBe('https://hooks.slack.com/…WXYZ');
    expect(urlHint('https://example.com/ab')).toBe('https://example.com/…');
    expect(urlHint('https://example.com')).toBe('https://example.com');
  });
});

describe('retries', () => {
  const settings = { backoffMs: 1000, backoffMaxMs: 30_000 };
  it('wait twice as long each time, up to the maximum, jittered between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelayMs(a, settings, () => 1))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect([1, 2, 3].map((a) => retryDelayMs(a, settings, () => 0))).toEqual([500, 1000, 2000]);
    expect(retryDelayMs(1000, settings, () => 0.5)).toBe(22_500);
  });
});

describe('bodies and signatures', () => {
  const delivery: Delivery = {
    id: 'd-1',
    organisationId: 'acme',
    webhookId: 'w-1',
    unitId: 'u-1',
    occurredAt: new Date('2027-01-16T00:00:00Z'),
    cause: { kind: 'HEALTH_PROBLEM', quarterId: '2027-Q1', unitName: 'R&D <core>', rule: 'TOO_MANY_OBJECTIVES', severity: 'PROBLEM', message: 'Six objectives.', subjectId: 'u-1' },
  };

  it("are Slack's shape, escaped for mrkdwn, with the delivery id", () => {
    const body = JSON.parse(deliveryBody('SLACK', delivery));
    expect(body.text).toBe('Health problem: R&amp;D &lt;core&gt;: a new health problem in 2027-Q1, TOO_MANY_OBJECTIVES. Six objectives.');
    expect(body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(JSON.stringify(body.blocks[2])).toContain('d-1');
  });

  it('are the generic JSON shape, and verify only with the secret, the body and a fresh timestamp', () => {
    const body = deliveryBody('SIGNED_JSON', delivery);
    expect(JSON.parse(body)).toEqual({ deliveryId: 'd-1', webhookId: 'w-1', organisationId: 'acme', unitId: 'u-1', cause: delivery.cause, occurredAt: '2027-01-16T00:00:00.000Z', text: causeText(delivery.cause) });
    const now = new Date('2027-01-16T00:00:10Z');
    const timestamp = String(now.getTime() / 1000);
    const headers = { signature: signature('s3cret', timestamp, body), timestamp };
    expect(headers.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('s3cret', headers, body, now)).toBe(true);
    expect(verifySignature('other', headers, body, now)).toBe(false);
    expect(verifySignature('s3cret', { ...headers, timestamp: String(Number(timestamp) + 1) }, body, now)).toBe(false);
    expect(verifySignature('s3cret', headers, body, new Date(now.getTime() + 301_000))).toBe(false);
  });
});

describe('settings', () => {
  it('allow private addresses by default only in local development mode', () => {
    expect(loadConfig({}).webhooks).toEqual({ ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: true });
    expect(loadConfig({ OKR_JWT_SECRET: 's'.repeat(32) }).webhooks.allowPrivateAddresses).toBe(false);
    expect(loadConfig({ OKR_JWT_SECRET: 's'.repeat(32), OKR_WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivateAddresses).toBe(true);
  });

  it('read OKR_WEBHOOK_*, and refuse a lease no longer than the timeout', () => {
    expect(loadConfig({ OKR_WEBHOOK_TIMEOUT_MS: '2000', OKR_WEBHOOK_MAX_ATTEMPTS: '3', OKR_WEBHOOK_DELIVERY: 'false' }).webhooks).toMatchObject({
      timeoutMs: 2000, leaseMs: 32_000, maxAttempts: 3, deliver: false,
    });
    expect(() => loadConfig({ OKR_WEBHOOK_TIMEOUT_MS: '5000', OKR_WEBHOOK_LEASE_MS: '5000' })).toThrow(ConfigError);
    expect(() => loadConfig({ OKR_WEBHOOK_CONCURRENCY: '2', OKR_WEBHOOK_CONCURRENCY_PER_ORGANISATION: '3' })).toThrow(ConfigError);
    expect(() => loadConfig({ OKR_WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(ConfigError);
  });
});
