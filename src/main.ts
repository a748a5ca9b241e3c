import 'reflect-metadata';
import { getHeapStatistics } from 'node:v8';
import { jwtAuthenticator } from './auth';
import { loadCheckpointKeys } from './checkpointKeys';
import { authConfigured, effortBudgetFor, loadConfig } from './config';
import { openDatabase } from './database';
import { EMBEDDED_DATABASE, EMBEDDED_USER, startEmbeddedPostgres, type EmbeddedDatabase } from './embeddedPostgres';
import { createLogger, errorFields } from './logger';
import { createServer } from './server';

/** `npm start`: the GraphQL server on DATABASE_URL, or on an embedded PostgreSQL by default. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Before the database: a production server without its signing key must not start at all.
  const checkpointKeys = loadCheckpointKeys(config);
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (url === null) {
    logger.info('starting embedded PostgreSQL', { dataDir: config.dataDir, port: config.embeddedPort });
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPort,
      log: (line) => logger.debug(line, { source: 'postgres' }),
      progress: (line) => logger.info(line),
    });
    logger.info(embedded.attached ? 'joined the embedded PostgreSQL that was already running' : 'embedded PostgreSQL ready', {
      cluster: embedded.clusterDir,
      // The password is the fixed local one README gives; it is not logged.
      psql: `psql postgres://${EMBEDDED_USER}@127.0.0.1:${embedded.port}/${EMBEDDED_DATABASE}`,
    });
    url = embedded.url;
  }
  const orm = await openDatabase(url, {}, { statementTimeoutMs: config.statementTimeoutMs });
  const server = await createServer({
    orm,
    organisationId: config.organisationId,
    actor: config.localActor,
    logger,
    authenticator: authConfigured(config)
      ? jwtAuthenticator({
          secret: config.jwtSecret,
          jwksUrl: config.jwksUrl,
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
          maxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
        })
      : undefined,
    introspection: config.introspection,
    corsOrigins: config.corsOrigins,
    requestLimits: config.requestLimits,
    effortBudget: (organisationId) => effortBudgetFor(config, organisationId),
    webSocket: config.webSocket,
    limits: config.limits,
    metricsToken: config.metricsToken,
    checkpointKeys,
    webhooks: config.webhooks,
  });
  const endpoint = await server.listen(config.port, config.host);
  logger.info(`OKR ledger GraphQL API ready at ${endpoint}`, {
    database: embedded ? `embedded (${config.dataDir})` : 'DATABASE_URL',
    organisation: config.organisationId,
    // The memory ceiling node runs under (npm start: --max-old-space-size, OKR_MAX_HEAP_MB).
    heapLimitMB: Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024),
    rateStore: config.limits.rateStore,
    checkpointKey: checkpointKeys.verifierKey,
    checkpointKeyFrom: checkpointKeys.source,
  });
  if (!authConfigured(config)) {
    logger.warn(
      `LOCAL DEVELOPMENT MODE: no OKR_JWT_SECRET or OKR_JWKS_URL, so there is no authentication. The server listens on ` +
        `${config.host} only and every request acts as "${config.localActor}", admin of organisation "${config.organisationId}". ` +
        'Never expose it like this; set OKR_ENV=production to make this mistake impossible.',
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    try {
      await server.close();
      await orm.close();
      await embedded?.stop();
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', errorFields(error));
      process.exit(1);
    }
  };
  // Shutdown is ours: finish requests, close the pool, then stop the embedded database (if this
  // process started it; one it joined keeps running for whoever started it).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void stop(signal));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`The OKR ledger could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof Error && error.cause) process.stderr.write(`  cause: ${String(error.cause)}\n`);
  process.exit(1);
});
