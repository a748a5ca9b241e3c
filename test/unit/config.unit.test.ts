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

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ OKR_EFFORT_BUDGET: '0' }, /OKR_EFFORT_BUDGET/],
    [{ OKR_EFFORT_BUDGETS: 'acme' }, /OKR_EFFORT_BUDGETS/],
    [{ OKR_EFFORT_BUDGETS: 'acme=-1' }, /OKR_EFFORT_BUDGETS/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
