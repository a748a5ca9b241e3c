import { ConfigError, DEFAULT_WEBSOCKET_LIMITS, loadConfig } from '../../src/config';
import { isRefusal, WebSocketAdmission, type AdmittedConnection } from '../../src/http/webSocketAdmission';
import { LogThrottle } from '../../src/logThrottle';
import { createLogger } from '../../src/logger';

/** The WebSocket limits' settings, their bookkeeping, and the log throttle, without a server. */
describe('WebSocket settings', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({}).webSocket).toEqual({
      maxConnections: 2000,
      maxConnectionsPerOrganisation: 200,
      maxConnectionsPerPerson: 10,
      maxSubscriptions: 10_000,
      maxSubscriptionsPerOrganisation: 1000,
      maxSubscriptionsPerConnection: 20,
      subscribesPerMinute: 120,
      initTimeoutMs: 5000,
      maxMessageBytes: 65_536,
      maxQueuedEvents: 1000,
      maxEventBytes: 1_048_576,
      logLinesPerMinute: 10,
    });
  });

  it('reads every OKR_WS_ setting and refuses nonsense with the setting\'s name', () => {
    const config = loadConfig({ OKR_WS_MAX_CONNECTIONS_PER_PERSON: '3', OKR_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '5', OKR_WS_INIT_TIMEOUT_MS: '2000' });
    expect(config.webSocket).toMatchObject({ maxConnectionsPerPerson: 3, maxSubscriptionsPerConnection: 5, initTimeoutMs: 2000 });
    expect(() => loadConfig({ OKR_WS_MAX_CONNECTIONS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ OKR_WS_MAX_QUEUED_EVENTS: 'many' })).toThrow(/OKR_WS_MAX_QUEUED_EVENTS/);
  });
});

describe('WebSocket admission', () => {
  const limits = { ...DEFAULT_WEBSOCKET_LIMITS, maxConnectionsPerPerson: 1, maxConnectionsPerOrganisation: 2, maxSubscriptionsPerConnection: 2, subscribesPerMinute: 3 };
  const admitted = (a: WebSocketAdmission, org: string, sub: string): AdmittedConnection => {
    const result = a.connect(org, sub, 0);
    if (isRefusal(result)) throw new Error(result.reason);
    return result;
  };

  it('releases what a closed connection held: its place and its subscriptions', () => {
    const a = new WebSocketAdmission(limits);
    const c = admitted(a, 'o', 'p');
    expect(a.connect('o', 'p', 0)).toMatchObject({ reason: 'TOO_MANY_CONNECTIONS' });
    a.subscribe(c, '1');
    a.subscribe(c, '2');
    expect(a.checkSubscribe(c, 0)).toMatchObject({ reason: 'TOO_MANY_SUBSCRIPTIONS' });
    a.unsubscribe(c, '1');
    a.unsubscribe(c, '1'); // ended twice (completed, then its socket closed): counted once
    expect(a.subscriptions).toBe(1);
    a.disconnect(c);
    expect(a.subscriptions).toBe(0);
    expect(isRefusal(a.connect('o', 'p', 0))).toBe(false);
  });

  it('counts subscribe messages in a one-minute window per connection', () => {
    const a = new WebSocketAdmission(limits);
    const c = admitted(a, 'o', 'p');
    for (let i = 0; i < 3; i += 1) expect(a.checkSubscribe(c, 1000)).toBeNull();
    expect(a.checkSubscribe(c, 1000)).toMatchObject({ reason: 'SUBSCRIBE_RATE_LIMIT' });
    expect(a.checkSubscribe(c, 60_000)).toBeNull();
  });
});

describe('the log throttle', () => {
  it('passes at most the per-key and overall lines in a window, then writes one summary naming who was left out', () => {
    const lines: Record<string, unknown>[] = [];
    const throttle = new LogThrottle(createLogger('info', { write: (l: string) => void lines.push(JSON.parse(l)) }), 2, 3);
    for (let i = 0; i < 5; i += 1) throttle.log('error', 'a', { subject: 'a' }, 'failed', { i });
    for (let i = 0; i < 5; i += 1) throttle.log('warn', 'b', { subject: 'b' }, 'refused', { i });
    expect(lines.map((l) => `${l.subject}:${l.i}`)).toEqual(['a:0', 'a:1', 'b:0']);
    throttle.flush();
    expect(lines[3]).toMatchObject({ level: 'warn', suppressed: 7, top: [{ subject: 'b', suppressed: 4 }, { subject: 'a', suppressed: 3 }] });
    throttle.log('info', 'a', { subject: 'a' }, 'again');
    throttle.flush();
    expect(lines).toHaveLength(5); // a fresh window, and no summary when nothing was left out
  });
});
