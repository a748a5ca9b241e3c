import path from 'node:path';
import { DEFAULT_LIMITS, type RequestLimits } from '../schema/limits';

/** Everything the server reads from its environment, parsed once at start. */
export interface Config {
  /** PostgreSQL to use; when absent an embedded PostgreSQL is started in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  embeddedPort: number;
  host: string;
  port: number;
  /** The organisation every request acts in until authentication arrives. */
  organisationId: string;
  /** Who is recorded as the actor of local requests. */
  localActor: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Person-days a unit's OKR cycle should cost per quarter: a default, and per-organisation overrides. */
  effortBudget: number;
  effortBudgets: Readonly<Record<string, number>>;
  /** Production refuses to start without authentication and hides introspection by default. */
  production: boolean;
  introspection: boolean;
  /** Authentication: an HS256 secret, or a JWKS URL; neither means local development mode. */
  jwtSecret: string | null;
  jwksUrl: string | null;
  jwtIssuer: string | null;
  jwtAudience: string | null;
  /** Cost, depth, alias, command, token, field and response-size limits of each GraphQL request. */
  limits: RequestLimits;
  /** Longest a database statement of a request may run (ms); 0: no limit. */
  statementTimeoutMs: number;
}

/** True when requests must carry a token. */
export const authConfigured = (config: Pick<Config, 'jwtSecret' | 'jwksUrl'>): boolean =>
  config.jwtSecret !== null || config.jwksUrl !== null;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}").`);
}

/** The effort budget in force for an organisation. */
export const effortBudgetFor = (config: Pick<Config, 'effortBudget' | 'effortBudgets'>, organisationId: string): number =>
  Object.hasOwn(config.effortBudgets, organisationId) ? (config.effortBudgets[organisationId] as number) : config.effortBudget;

function budget(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 100) {
    throw new ConfigError(`${name} must be a number of person-days above 0 and at most 100 (got "${raw}").`);
  }
  return value;
}

/** OKR_EFFORT_BUDGETS="acme=3,globex=5": per-organisation budgets. */
function budgets(raw: string | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const entry of (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [org, days, extra] = entry.split('=');
    if (!org || days === undefined || extra !== undefined) {
      throw new ConfigError(`OKR_EFFORT_BUDGETS takes organisation=days pairs separated by commas (got "${entry}").`);
    }
    result[org.trim()] = budget('OKR_EFFORT_BUDGETS', days.trim());
  }
  return result;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}").`);
  }
  return value;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL, e.g. postgres://user:pass@localhost:5432/okr.');
  }
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.`);
  const production = env.OKR_ENV === 'production' || (env.OKR_ENV === undefined && env.NODE_ENV === 'production');
  if (env.OKR_ENV !== undefined && env.OKR_ENV !== 'production' && env.OKR_ENV !== 'development') {
    throw new ConfigError('OKR_ENV must be development or production.');
  }
  const jwtSecret = env.OKR_JWT_SECRET || null;
  if (jwtSecret !== null && jwtSecret.length < 32) {
    throw new ConfigError('OKR_JWT_SECRET must be at least 32 characters (e.g. openssl rand -hex 32).');
  }
  const jwksUrl = env.OKR_JWKS_URL || null;
  if (jwksUrl !== null && !/^https?:\/\//.test(jwksUrl)) throw new ConfigError('OKR_JWKS_URL must be an http(s) URL.');
  if (jwtSecret !== null && jwksUrl !== null) throw new ConfigError('Set OKR_JWT_SECRET or OKR_JWKS_URL, not both.');
  const auth = jwtSecret !== null || jwksUrl !== null;
  if (production && !auth) {
    throw new ConfigError('In production the server refuses to start without authentication: set OKR_JWT_SECRET or OKR_JWKS_URL.');
  }
  const host = env.HOST || '127.0.0.1';
  if (!auth && !LOOPBACK.has(host)) {
    throw new ConfigError(`Without authentication the server only listens on 127.0.0.1 (HOST=${host} refused): set OKR_JWT_SECRET or OKR_JWKS_URL first.`);
  }
  return {
    databaseUrl,
    dataDir: path.resolve(env.OKR_DATA_DIR || '.okr-data'),
    embeddedPort: int(env, 'OKR_EMBEDDED_PG_PORT', 54329, 1024, 65535),
    host,
    port: int(env, 'PORT', 4000, 0, 65535),
    organisationId: env.OKR_ORGANISATION || 'default',
    localActor: env.OKR_ACTOR || 'local-admin',
    logLevel,
    effortBudget: env.OKR_EFFORT_BUDGET ? budget('OKR_EFFORT_BUDGET', env.OKR_EFFORT_BUDGET) : 4,
    effortBudgets: budgets(env.OKR_EFFORT_BUDGETS),
    production,
    introspection: flag(env, 'OKR_INTROSPECTION', !production),
    jwtSecret,
    jwksUrl,
    jwtIssuer: env.OKR_JWT_ISSUER || null,
    jwtAudience: env.OKR_JWT_AUDIENCE || null,
    limits: {
      maxCost: int(env, 'OKR_MAX_COST', DEFAULT_LIMITS.maxCost, 1, 1_000_000_000),
      maxDepth: int(env, 'OKR_MAX_DEPTH', DEFAULT_LIMITS.maxDepth, 1, 100),
      maxAliases: int(env, 'OKR_MAX_ALIASES', DEFAULT_LIMITS.maxAliases, 0, 100_000),
      maxCommands: int(env, 'OKR_MAX_COMMANDS', DEFAULT_LIMITS.maxCommands, 1, 1_000),
      maxTokens: int(env, 'OKR_MAX_TOKENS', DEFAULT_LIMITS.maxTokens, 100, 10_000_000),
      maxFields: int(env, 'OKR_MAX_FIELDS', DEFAULT_LIMITS.maxFields, 10, 10_000_000),
      // At most 256 MiB: far below the longest string V8 can build.
      maxResponseBytes: int(env, 'OKR_MAX_RESPONSE_BYTES', DEFAULT_LIMITS.maxResponseBytes, 1024, 256 * 1024 * 1024),
    },
    statementTimeoutMs: int(env, 'OKR_STATEMENT_TIMEOUT_MS', 30_000, 0, 24 * 60 * 60 * 1000),
  };
}
