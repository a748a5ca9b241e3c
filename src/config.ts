import path from 'node:path';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../schema/limits';

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
  /** Origins (scheme://host[:port]) whose pages may call the API from a browser (CORS). */
  corsOrigins: readonly string[];
  /** The longest a token may live, in seconds: tokens without exp, or expiring later than this, are refused. */
  jwtMaxLifetimeSeconds: number;
  /** Limits of GraphQL over WebSocket (subscriptions). */
  webSocket: WebSocketLimits;
  /** Admission, slow clients and timeouts (README, Limits). */
  limits: ServerLimits;
  /** The bearer token that opens GET /metrics outside local development mode; null: /metrics is off there. */
  metricsToken: string | null;
  /** Cost, depth, alias, command, token, field and response-size limits of each GraphQL request. */
  requestLimits: RequestLimits;
  /** Longest a database statement of a request may run (ms); 0: no limit. */
  statementTimeoutMs: number;
  /** The checkpoint signing key (signed-note signer form), or the file holding it; neither: see src/checkpointKeys.ts. */
  checkpointKey: string | null;
  checkpointKeyFile: string | null;
  /** Public keys (verifier form) of earlier checkpoint keys whose checkpoints stay accepted after a rotation. */
  previousCheckpointKeys: readonly string[];
  /** What checkpoint origins start with: `<logOrigin>/<organisation>`; null: the key's name. */
  logOrigin: string | null;
  /** Outgoing webhooks: delivery, retries, bounds and which addresses they may reach (src/webhooks/). */
  webhooks: WebhookSettings;
}

/** How this process delivers outgoing webhooks (README, "Reminders where people are: webhooks"). */
export interface WebhookSettings {
  /** Whether this process runs the delivery worker and the cause scheduler (the API serves either way). */
  deliver: boolean;
  /** Whether webhook URLs may name private, loopback or link-local addresses (default: only in local development mode). */
  allowPrivateAddresses: boolean;
  /** Longest one delivery may take, connection to response (ms). */
  timeoutMs: number;
  /** Attempts before a delivery is given up (state FAILED). */
  maxAttempts: number;
  /** The first retry waits about this long (ms); each next one twice as long, jittered, up to backoffMaxMs. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Deliveries in flight at once in this process, and per organisation. */
  concurrency: number;
  concurrencyPerOrganisation: number;
  /** How often the worker looks for due deliveries (ms). */
  pollMs: number;
  /** How often the scheduler looks for forgotten check-ins, phase changes and new health problems (ms). */
  scheduleMs: number;
  /** How long a claimed delivery stays with its worker before another may take it (ms): longer than timeoutMs. */
  leaseMs: number;
}

/** The defaults of `npm start`; allowPrivateAddresses follows the mode (see webhookSettings). */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  deliver: true,
  allowPrivateAddresses: false,
  timeoutMs: 10_000,
  maxAttempts: 12,
  backoffMs: 10_000,
  backoffMaxMs: 60 * 60 * 1000,
  concurrency: 8,
  concurrencyPerOrganisation: 2,
  pollMs: 1000,
  scheduleMs: 60_000,
  leaseMs: 40_000,
};

/** OKR_JWT_MAX_LIFETIME when unset: 24 hours. */
export const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
const MAX_JWT_MAX_LIFETIME_SECONDS = 30 * 24 * 60 * 60;

/**
 * The organisation a command line's --organisation names: trimmed, and the configured one when the
 * flag is absent or blank. Every command with that flag goes through here.
 */
export const organisationOption = (raw: string | null | undefined, configured: string): string => raw?.trim() || configured;

/** Every admission limit and connection timeout of the server (README, Limits). */
export interface ServerLimits {
  /** Requests a person, and an organisation, may start per `rateWindowSeconds`; 0 turns a limit off. */
  ratePerPerson: number;
  ratePerOrganisation: number;
  rateWindowSeconds: number;
  /** Where rate limits count: this process, or PostgreSQL (shared by every instance on the database). */
  rateStore: 'memory' | 'postgres';
  /** Requests of a person, and of an organisation, in flight at once; 0 turns a limit off. */
  concurrencyPerPerson: number;
  concurrencyPerOrganisation: number;
  /** Scans and replays (verifyAuditLog, asOf) running at once per organisation and in total, waiting per organisation, and the longest wait. */
  expensivePerOrganisation: number;
  expensiveTotal: number;
  expensiveQueuePerOrganisation: number;
  expensiveWaitMs: number;
  /** Time allowed to receive a request's headers, and the whole request (body included). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Time allowed to hand a finished answer to a client that reads it; then the connection is dropped. */
  sendTimeoutMs: number;
}

/** The defaults of `npm start` (README, Limits). */
export const DEFAULT_LIMITS: ServerLimits = {
  ratePerPerson: 20,
  ratePerOrganisation: 200,
  rateWindowSeconds: 1,
  rateStore: 'memory',
  concurrencyPerPerson: 8,
  concurrencyPerOrganisation: 16,
  expensivePerOrganisation: 2,
  expensiveTotal: 4,
  expensiveQueuePerOrganisation: 16,
  expensiveWaitMs: 15_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  sendTimeoutMs: 30_000,
};

/** Scans and replays each hold a database connection: at most this many run at once, leaving the rest of the pool (20) to everything else. */
export const MAX_EXPENSIVE_TOTAL = 10;

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
    corsOrigins: corsOrigins(env.OKR_CORS_ORIGINS),
    jwtMaxLifetimeSeconds: int(env, 'OKR_JWT_MAX_LIFETIME', DEFAULT_JWT_MAX_LIFETIME_SECONDS, 60, MAX_JWT_MAX_LIFETIME_SECONDS),
    webSocket: webSocketLimits(env),
    limits: limitsFrom(env),
    metricsToken: metricsTokenFrom(env),
    requestLimits: {
      maxCost: int(env, 'OKR_MAX_COST', DEFAULT_REQUEST_LIMITS.maxCost, 1, 1_000_000_000),
      maxDepth: int(env, 'OKR_MAX_DEPTH', DEFAULT_REQUEST_LIMITS.maxDepth, 1, 100),
      maxAliases: int(env, 'OKR_MAX_ALIASES', DEFAULT_REQUEST_LIMITS.maxAliases, 0, 100_000),
      maxCommands: int(env, 'OKR_MAX_COMMANDS', DEFAULT_REQUEST_LIMITS.maxCommands, 1, 1_000),
      maxTokens: int(env, 'OKR_MAX_TOKENS', DEFAULT_REQUEST_LIMITS.maxTokens, 100, 10_000_000),
      maxFields: int(env, 'OKR_MAX_FIELDS', DEFAULT_REQUEST_LIMITS.maxFields, 10, 10_000_000),
      // At most 256 MiB: far below the longest string V8 can build.
      maxResponseBytes: int(env, 'OKR_MAX_RESPONSE_BYTES', DEFAULT_REQUEST_LIMITS.maxResponseBytes, 1024, 256 * 1024 * 1024),
    },
    statementTimeoutMs: int(env, 'OKR_STATEMENT_TIMEOUT_MS', 30_000, 0, 24 * 60 * 60 * 1000),
    ...checkpointSettings(env),
    webhooks: webhookSettings(env, !auth),
  };
}

/**
 * OKR_WEBHOOK_*: delivery bounds and retries. Private and loopback addresses are allowed by default only in
 * local development mode (no authentication), where a receiver on the same machine is the usual case.
 */
function webhookSettings(env: NodeJS.ProcessEnv, localDevelopment: boolean): WebhookSettings {
  const d = DEFAULT_WEBHOOK_SETTINGS;
  const timeoutMs = int(env, 'OKR_WEBHOOK_TIMEOUT_MS', d.timeoutMs, 100, 120_000);
  const settings: WebhookSettings = {
    deliver: flag(env, 'OKR_WEBHOOK_DELIVERY', d.deliver),
    allowPrivateAddresses: flag(env, 'OKR_WEBHOOK_ALLOW_PRIVATE', localDevelopment),
    timeoutMs,
    maxAttempts: int(env, 'OKR_WEBHOOK_MAX_ATTEMPTS', d.maxAttempts, 1, 100),
    backoffMs: int(env, 'OKR_WEBHOOK_BACKOFF_MS', d.backoffMs, 10, 24 * 60 * 60 * 1000),
    backoffMaxMs: int(env, 'OKR_WEBHOOK_BACKOFF_MAX_MS', d.backoffMaxMs, 10, 7 * 24 * 60 * 60 * 1000),
    concurrency: int(env, 'OKR_WEBHOOK_CONCURRENCY', d.concurrency, 1, 1000),
    concurrencyPerOrganisation: int(env, 'OKR_WEBHOOK_CONCURRENCY_PER_ORGANISATION', d.concurrencyPerOrganisation, 1, 1000),
    pollMs: int(env, 'OKR_WEBHOOK_POLL_MS', d.pollMs, 10, 600_000),
    scheduleMs: int(env, 'OKR_WEBHOOK_SCHEDULE_MS', d.scheduleMs, 100, 24 * 60 * 60 * 1000),
    leaseMs: int(env, 'OKR_WEBHOOK_LEASE_MS', timeoutMs + 30_000, 200, 24 * 60 * 60 * 1000),
  };
  if (settings.leaseMs <= settings.timeoutMs) {
    throw new ConfigError('OKR_WEBHOOK_LEASE_MS must be longer than OKR_WEBHOOK_TIMEOUT_MS: a delivery still running must keep its lease.');
  }
  if (settings.backoffMaxMs < settings.backoffMs) throw new ConfigError('OKR_WEBHOOK_BACKOFF_MAX_MS must not be below OKR_WEBHOOK_BACKOFF_MS.');
  if (settings.concurrencyPerOrganisation > settings.concurrency) {
    throw new ConfigError('OKR_WEBHOOK_CONCURRENCY_PER_ORGANISATION must not exceed OKR_WEBHOOK_CONCURRENCY.');
  }
  return settings;
}

/** OKR_CHECKPOINT_KEY or OKR_CHECKPOINT_KEY_FILE (not both), and OKR_LOG_ORIGIN. */
function checkpointSettings(env: NodeJS.ProcessEnv): Pick<Config, 'checkpointKey' | 'checkpointKeyFile' | 'previousCheckpointKeys' | 'logOrigin'> {
  const checkpointKey = env.OKR_CHECKPOINT_KEY?.trim() || null;
  const file = env.OKR_CHECKPOINT_KEY_FILE?.trim() || null;
  if (checkpointKey !== null && file !== null) throw new ConfigError('Set OKR_CHECKPOINT_KEY or OKR_CHECKPOINT_KEY_FILE, not both.');
  const logOrigin = env.OKR_LOG_ORIGIN?.trim() || null;
  if (logOrigin !== null && (!/^[\x21-\x7e]+$/.test(logOrigin) || logOrigin.endsWith('/'))) {
    throw new ConfigError(`OKR_LOG_ORIGIN must be printable ASCII without spaces and not end in "/", e.g. okr.example.com (got "${logOrigin}").`);
  }
  const previousCheckpointKeys = (env.OKR_CHECKPOINT_PREVIOUS_KEYS ?? '').split(/[\s,]+/).filter((k) => k !== '');
  return { checkpointKey, checkpointKeyFile: file === null ? null : path.resolve(file), previousCheckpointKeys, logOrigin };
}

/** What one tenant, person or connection may hold open over WebSocket; see README "Limits". */
export interface WebSocketLimits {
  /** Open sockets in all (authenticated or not yet). */
  maxConnections: number;
  maxConnectionsPerOrganisation: number;
  /** A person is an organisation and a subject (`org` + `sub`). */
  maxConnectionsPerPerson: number;
  /** Active subscriptions in all. */
  maxSubscriptions: number;
  maxSubscriptionsPerOrganisation: number;
  maxSubscriptionsPerConnection: number;
  /** `subscribe` messages one connection may send per minute. */
  subscribesPerMinute: number;
  /** How long a new socket may take to send connection_init (ms). */
  initTimeoutMs: number;
  /** Largest message a client may send (bytes). */
  maxMessageBytes: number;
  /** Events that may wait for one subscriber before it is ended as too slow. */
  maxQueuedEvents: number;
  /** Largest answer one event may make for one subscription (bytes); a larger one is answered RESPONSE_TOO_LARGE instead. */
  maxEventBytes: number;
  /** WebSocket log lines per person per minute (ten times that in all); the rest are counted in a summary. */
  logLinesPerMinute: number;
}

export const DEFAULT_WEBSOCKET_LIMITS: WebSocketLimits = {
  maxConnections: 2000,
  maxConnectionsPerOrganisation: 200,
  maxConnectionsPerPerson: 10,
  maxSubscriptions: 10_000,
  maxSubscriptionsPerOrganisation: 1000,
  maxSubscriptionsPerConnection: 20,
  subscribesPerMinute: 120,
  initTimeoutMs: 5000,
  maxMessageBytes: 64 * 1024,
  maxQueuedEvents: 1000,
  maxEventBytes: 1024 * 1024,
  logLinesPerMinute: 10,
};

function webSocketLimits(env: NodeJS.ProcessEnv): WebSocketLimits {
  const d = DEFAULT_WEBSOCKET_LIMITS;
  return {
    maxConnections: int(env, 'OKR_WS_MAX_CONNECTIONS', d.maxConnections, 1, 1_000_000),
    maxConnectionsPerOrganisation: int(env, 'OKR_WS_MAX_CONNECTIONS_PER_ORGANISATION', d.maxConnectionsPerOrganisation, 1, 1_000_000),
    maxConnectionsPerPerson: int(env, 'OKR_WS_MAX_CONNECTIONS_PER_PERSON', d.maxConnectionsPerPerson, 1, 1_000_000),
    maxSubscriptions: int(env, 'OKR_WS_MAX_SUBSCRIPTIONS', d.maxSubscriptions, 1, 10_000_000),
    maxSubscriptionsPerOrganisation: int(env, 'OKR_WS_MAX_SUBSCRIPTIONS_PER_ORGANISATION', d.maxSubscriptionsPerOrganisation, 1, 10_000_000),
    maxSubscriptionsPerConnection: int(env, 'OKR_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', d.maxSubscriptionsPerConnection, 1, 10_000),
    subscribesPerMinute: int(env, 'OKR_WS_SUBSCRIBES_PER_MINUTE', d.subscribesPerMinute, 1, 1_000_000),
    initTimeoutMs: int(env, 'OKR_WS_INIT_TIMEOUT_MS', d.initTimeoutMs, 100, 600_000),
    maxMessageBytes: int(env, 'OKR_WS_MAX_MESSAGE_BYTES', d.maxMessageBytes, 1024, 16 * 1024 * 1024),
    maxQueuedEvents: int(env, 'OKR_WS_MAX_QUEUED_EVENTS', d.maxQueuedEvents, 1, 1_000_000),
    maxEventBytes: int(env, 'OKR_WS_MAX_EVENT_BYTES', d.maxEventBytes, 1024, 64 * 1024 * 1024),
    logLinesPerMinute: int(env, 'OKR_WS_LOG_LINES_PER_MINUTE', d.logLinesPerMinute, 1, 1_000_000),
  };
}

/**
 * OKR_CORS_ORIGINS="https://okr.example.com,http://localhost:5173": each entry exactly as a browser sends
 * it in the Origin header (scheme, host, port only; lower case; no default port, path or trailing slash),
 * because origins are compared as strings.
 */
function corsOrigins(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = null;
    }
    if (origin === null) {
      throw new ConfigError(`OKR_CORS_ORIGINS takes http(s) origins separated by commas, e.g. https://okr.example.com (got "${entry}").`);
    }
    if (origin !== entry) {
      throw new ConfigError(`OKR_CORS_ORIGINS: write "${entry}" as ${origin}, the origin a browser sends (scheme, host and port only).`);
    }
    origins.push(origin);
  }
  return origins;
}

function limitsFrom(env: NodeJS.ProcessEnv): ServerLimits {
  const d = DEFAULT_LIMITS;
  const rateStore = env.OKR_RATE_STORE?.trim() || d.rateStore;
  if (rateStore !== 'memory' && rateStore !== 'postgres') throw new ConfigError(`OKR_RATE_STORE must be memory or postgres (got "${rateStore}").`);
  const limits: ServerLimits = {
    ratePerPerson: int(env, 'OKR_RATE_PERSON', d.ratePerPerson, 0, 100_000),
    ratePerOrganisation: int(env, 'OKR_RATE_ORGANISATION', d.ratePerOrganisation, 0, 1_000_000),
    rateWindowSeconds: d.rateWindowSeconds,
    rateStore,
    concurrencyPerPerson: int(env, 'OKR_CONCURRENCY_PERSON', d.concurrencyPerPerson, 0, 10_000),
    concurrencyPerOrganisation: int(env, 'OKR_CONCURRENCY_ORGANISATION', d.concurrencyPerOrganisation, 0, 100_000),
    expensivePerOrganisation: int(env, 'OKR_EXPENSIVE_PER_ORGANISATION', d.expensivePerOrganisation, 1, MAX_EXPENSIVE_TOTAL),
    expensiveTotal: int(env, 'OKR_EXPENSIVE_TOTAL', d.expensiveTotal, 1, MAX_EXPENSIVE_TOTAL),
    expensiveQueuePerOrganisation: int(env, 'OKR_EXPENSIVE_QUEUE', d.expensiveQueuePerOrganisation, 0, 1000),
    expensiveWaitMs: int(env, 'OKR_EXPENSIVE_WAIT_MS', d.expensiveWaitMs, 100, 600_000),
    headersTimeoutMs: int(env, 'OKR_HEADERS_TIMEOUT_MS', d.headersTimeoutMs, 1000, 600_000),
    requestTimeoutMs: int(env, 'OKR_REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 1000, 3_600_000),
    keepAliveTimeoutMs: int(env, 'OKR_KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs, 100, 600_000),
    sendTimeoutMs: int(env, 'OKR_SEND_TIMEOUT_MS', d.sendTimeoutMs, 1000, 3_600_000),
  };
  if (limits.expensivePerOrganisation > limits.expensiveTotal) {
    throw new ConfigError('OKR_EXPENSIVE_PER_ORGANISATION must not exceed OKR_EXPENSIVE_TOTAL.');
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError('OKR_HEADERS_TIMEOUT_MS must not exceed OKR_REQUEST_TIMEOUT_MS (the headers are part of the request).');
  }
  return limits;
}

function metricsTokenFrom(env: NodeJS.ProcessEnv): string | null {
  const token = env.OKR_METRICS_TOKEN || null;
  if (token !== null && (token.length < 32 || !/^[\x21-\x7e]+$/.test(token))) {
    throw new ConfigError('OKR_METRICS_TOKEN must be at least 32 printable characters without spaces (e.g. openssl rand -hex 32).');
  }
  return token;
}
