import { ConfigError, effortBudgetFor, loadConfig } from '../../src/config';

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

  it.each([
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
      limits: { maxCost: 50_000, maxDepth: 12, maxAliases: 50, maxCommands: 25, maxTokens: 20_000, maxFields: 10_000, maxResponseBytes: 16 * 1024 * 1024 },
      statementTimeoutMs: 30_000,
    });
    const config = loadConfig({ OKR_MAX_COST: '1000', OKR_MAX_ALIASES: '0', OKR_MAX_RESPONSE_BYTES: '65536', OKR_STATEMENT_TIMEOUT_MS: '0' });
    expect(config.limits).toMatchObject({ maxCost: 1000, maxAliases: 0, maxResponseBytes: 65536 });
    expect(config.statementTimeoutMs).toBe(0);
  });
});
