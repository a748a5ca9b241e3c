import { ConfigError, DEFAULT_LIMITS, effortBudgetFor, loadConfig, organisationOption } from '../../src/config';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ databaseUrl: null, port: 4000, host: '127.0.0.1', organisationId: 'default', effortBudget: 4 });
  });

  it('reads the effort budget, with per-organisation overrides', () => {
    const config = loadConfig({ OKR_EFFORT_BUDGET: '3.5', OKR_EFFORT_BUDGETS: 'acme=3, globex=5' });
    expect(effortBudgetFor(config, 'acme')).toBe(3);
    expect(effortBudgetFor(config, 'globex')).toBe(5);
    expect(effortBudgetFor(config, 'initech')).toBe(3.5);
  });

  it('runs in local development mode without a secret, on loopback only, with introspection', () => {
    expect(loadConfig({})).toMatchObject({ production: false, introspection: true, jwtSecret: null, jwksUrl: null, host: '127.0.0.1' });
  });

  it('turns introspection off in production unless asked for', () => {
    const secret = 's'.repeat(32);
    expect(loadConfig({ OKR_ENV: 'production', OKR_JWT_SECRET: secret })).toMatchObject({ production: true, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', OKR_JWT_SECRET: secret, OKR_INTROSPECTION: 'true' })).toMatchObject({ introspection: true });
    expect(loadConfig({ OKR_JWT_SECRET: secret, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('limits token lifetimes to 24 hours unless OKR_JWT_MAX_LIFETIME says otherwise (seconds, 60 to 30 days)', () => {
    expect(loadConfig({}).jwtMaxLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ OKR_JWT_MAX_LIFETIME: '3600' }).jwtMaxLifetimeSeconds).toBe(3600);
    expect(loadConfig({ OKR_JWT_MAX_LIFETIME: '60' }).jwtMaxLifetimeSeconds).toBe(60);
    expect(loadConfig({ OKR_JWT_MAX_LIFETIME: '2592000' }).jwtMaxLifetimeSeconds).toBe(2_592_000);
  });

  it('reads a command line\'s organisation option one way: trimmed, the configured one when absent or blank', () => {
    expect(organisationOption(' acme ', 'default')).toBe('acme');
    expect(organisationOption('acme', 'default')).toBe('acme');
    expect(organisationOption('   ', 'default')).toBe('default');
    expect(organisationOption(null, 'default')).toBe('default');
    expect(organisationOption(undefined, 'default')).toBe('default');
  });

  it.each([
    [{ OKR_JWT_MAX_LIFETIME: '59' }, /OKR_JWT_MAX_LIFETIME must be a whole number from 60 to 2592000/],
    [{ OKR_JWT_MAX_LIFETIME: '2592001' }, /OKR_JWT_MAX_LIFETIME/],
    [{ OKR_JWT_MAX_LIFETIME: '8h' }, /OKR_JWT_MAX_LIFETIME/],
    [{ OKR_ENV: 'production' }, /refuses to start without authentication/],
    [{ NODE_ENV: 'production' }, /refuses to start without authentication/],
    [{ HOST: '0.0.0.0' }, /only listens on 127.0.0.1/],
    [{ OKR_JWT_SECRET: 'short' }, /at least 32/],
    [{ OKR_JWKS_URL: 'ftp://keys' }, /OKR_JWKS_URL/],
    [{ OKR_JWT_SECRET: 's'.repeat(32), OKR_JWKS_URL: 'https://x/jwks' }, /not both/],
    [{ OKR_ENV: 'staging' }, /OKR_ENV/],
    [{ OKR_INTROSPECTION: 'maybe' }, /OKR_INTROSPECTION/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ OKR_EFFORT_BUDGET: '0' }, /OKR_EFFORT_BUDGET/],
    [{ OKR_EFFORT_BUDGETS: 'acme' }, /OKR_EFFORT_BUDGETS/],
    [{ OKR_EFFORT_BUDGETS: 'acme=-1' }, /OKR_EFFORT_BUDGETS/],
    [{ OKR_MAX_COST: '0' }, /OKR_MAX_COST/],
    [{ OKR_MAX_RESPONSE_BYTES: '1e9' }, /OKR_MAX_RESPONSE_BYTES/],
    [{ OKR_STATEMENT_TIMEOUT_MS: '-5' }, /OKR_STATEMENT_TIMEOUT_MS/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads the request limits and the statement timeout, with defaults', () => {
    expect(loadConfig({})).toMatchObject({
      requestLimits: { maxCost: 50_000, maxDepth: 12, maxAliases: 50, maxCommands: 25, maxTokens: 20_000, maxFields: 10_000, maxResponseBytes: 16 * 1024 * 1024 },
      statementTimeoutMs: 30_000,
    });
    const config = loadConfig({ OKR_MAX_COST: '1000', OKR_MAX_ALIASES: '0', OKR_MAX_RESPONSE_BYTES: '65536', OKR_STATEMENT_TIMEOUT_MS: '0' });
    expect(config.requestLimits).toMatchObject({ maxCost: 1000, maxAliases: 0, maxResponseBytes: 65536 });
    expect(config.statementTimeoutMs).toBe(0);
  });
});

describe('limits and metrics configuration', () => {
  it('defaults to the documented limits, with /metrics closed outside local mode', () => {
    expect(loadConfig({})).toMatchObject({ limits: DEFAULT_LIMITS, metricsToken: null });
  });

  it('reads every limit', () => {
    const config = loadConfig({
      OKR_RATE_PERSON: '5',
      OKR_RATE_ORGANISATION: '0',
      OKR_RATE_STORE: 'postgres',
      OKR_CONCURRENCY_PERSON: '2',
      OKR_CONCURRENCY_ORGANISATION: '4',
      OKR_EXPENSIVE_PER_ORGANISATION: '1',
      OKR_EXPENSIVE_TOTAL: '3',
      OKR_EXPENSIVE_QUEUE: '0',
      OKR_EXPENSIVE_WAIT_MS: '500',
      OKR_HEADERS_TIMEOUT_MS: '2000',
      OKR_REQUEST_TIMEOUT_MS: '4000',
      OKR_KEEP_ALIVE_TIMEOUT_MS: '1000',
      OKR_SEND_TIMEOUT_MS: '9000',
      OKR_METRICS_TOKEN: 'm'.repeat(40),
    });
    expect(config.limits).toEqual({
      ...DEFAULT_LIMITS,
      ratePerPerson: 5,
      ratePerOrganisation: 0,
      rateStore: 'postgres',
      concurrencyPerPerson: 2,
      concurrencyPerOrganisation: 4,
      expensivePerOrganisation: 1,
      expensiveTotal: 3,
      expensiveQueuePerOrganisation: 0,
      expensiveWaitMs: 500,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      sendTimeoutMs: 9000,
    });
    expect(config.metricsToken).toBe('m'.repeat(40));
  });

  it.each([
    [{ OKR_RATE_STORE: 'redis' }, /OKR_RATE_STORE/],
    [{ OKR_RATE_PERSON: '-1' }, /OKR_RATE_PERSON/],
    [{ OKR_CONCURRENCY_ORGANISATION: 'many' }, /OKR_CONCURRENCY_ORGANISATION/],
    [{ OKR_EXPENSIVE_TOTAL: '11' }, /OKR_EXPENSIVE_TOTAL/],
    [{ OKR_EXPENSIVE_PER_ORGANISATION: '0' }, /OKR_EXPENSIVE_PER_ORGANISATION/],
    [{ OKR_EXPENSIVE_PER_ORGANISATION: '3', OKR_EXPENSIVE_TOTAL: '2' }, /must not exceed OKR_EXPENSIVE_TOTAL/],
    [{ OKR_HEADERS_TIMEOUT_MS: '40000' }, /must not exceed OKR_REQUEST_TIMEOUT_MS/],
    [{ OKR_SEND_TIMEOUT_MS: '10' }, /OKR_SEND_TIMEOUT_MS/],
    [{ OKR_METRICS_TOKEN: 'short' }, /OKR_METRICS_TOKEN/],
    [{ OKR_METRICS_TOKEN: `${'m'.repeat(40)} x` }, /OKR_METRICS_TOKEN/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
