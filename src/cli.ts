import 'reflect-metadata';
import { organisationOption, type Config } from './config';
import { EXIT_OK, EXIT_USAGE, EXIT_FAILED, UsageError, checkpointKeysOf, configFrom, stringFlag, withDatabase, type CliCommand, type FlagSpec, type Io } from './cliSupport';
import { ExportFlagError, parseExportFlags, runExport, type ExportOptions } from './export';
import { DEFAULT_REBUILD_BATCH_SIZE, PROJECTION_NAMES, UnknownProjectionError, parseBatchSize, runRebuild, selectModels } from './rebuild';
import { SeedRefusedError, seedDemo, type SeedSummary } from './seed';
import { SignJWT } from 'jose';
import { AUDIT_COMMANDS } from './auditCli';
import { ROLES, isOrganisationId, isPrintableId } from './auth';

/*
 * `npm run okr -- <command> [flags]`: operator commands on the same configuration as `npm start`
 * (DATABASE_URL, or the embedded PostgreSQL in OKR_DATA_DIR, started for the command and stopped after).
 *
 * Exit codes: 0 done; 1 refused or failed; 2 the command line or the environment is wrong.
 * To add a command, write a `CliCommand` (its words, flags and `run`) and list it in COMMANDS.
 */

export {
  EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, configFrom, withDatabase,
  type CliCommand, type FlagSpec, type Invocation, type Io,
} from './cliSupport';

// ---- seed ----------------------------------------------------------------------------------------

const seedCommand: CliCommand = {
  words: ['seed'],
  summary: 'Fill an empty organisation with a realistic demo (two quarters of OKRs, check-ins, scores).',
  details: [
    'Appends through the same commands as real use, on a simulated clock ending now: the previous quarter',
    'scored, retrospected and closed; the current one part-way through its bi-weekly check-ins.',
    'Refuses (exit 1) if the organisation already has events: it never adds to real data.',
  ],
  flags: [
    { name: 'organisation', kind: 'string', placeholder: 'id', description: 'Organisation to fill (default: OKR_ORGANISATION, else "default").' },
    { name: 'now', kind: 'string', placeholder: 'instant', description: 'Pretend it is this ISO-8601 instant (not in the future); the same instant gives the same demo.' },
  ],
  async run(invocation) {
    const config = configFrom(invocation.env);
    const organisationId = organisationOption(stringFlag(invocation, 'organisation'), config.organisationId);
    const wallClock = invocation.now();
    const rawNow = stringFlag(invocation, 'now');
    let now = wallClock;
    if (rawNow !== null) {
      now = new Date(rawNow);
      if (!Number.isFinite(now.getTime())) throw new UsageError(`--now must be an ISO-8601 instant such as 2026-11-20T09:00:00Z (got "${rawNow}").`, seedCommand);
      if (now.getTime() > wallClock.getTime()) throw new UsageError('--now cannot be in the future: the demo only records what has already happened.', seedCommand);
    }
    const checkpoints = checkpointKeysOf(config).signing;
    return withDatabase(config, invocation.io, async (orm) => {
      invocation.io.err(`Seeding the demo into organisation "${organisationId}"...\n`);
      try {
        const summary = await seedDemo(orm, { organisationId, now, checkpoints });
        invocation.io.out(describeSeed(summary, config, organisationId));
        return EXIT_OK;
      } catch (error) {
        if (!(error instanceof SeedRefusedError)) throw error;
        invocation.io.err(`Nothing was seeded: ${error.message}\n`);
        return EXIT_FAILED;
      }
    });
  },
};

function describeSeed(s: SeedSummary, config: Config, organisationId: string): string {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const endpoint = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/graphql`;
  const query = `{ objectives(quarterId: "${s.currentQuarter.id}") { title status unit { name } parent { title } keyResults { title kind baseline target current confidence } } }`;
  const startHint = organisationId === config.organisationId ? 'npm start' : `OKR_ORGANISATION=${organisationId} npm start`;
  return [
    `Seeded the demo into organisation "${organisationId}" (history from ${day(s.firstRecordedAt)} to ${day(s.lastRecordedAt)}):`,
    `  units          ${s.units} (a company, 2 functions, 4 teams)`,
    `  quarters       ${s.previousQuarter.id} (scored and closed), ${s.currentQuarter.id} (current)`,
    `  objectives     ${s.objectives}`,
    `  key results    ${s.keyResults} (${s.scores} scores, ${s.revisions} revisions)`,
    `  check-ins      ${s.checkIns}`,
    `  retrospectives ${s.retrospectives}, effort entries ${s.effortEntries}`,
    `  events         ${s.events}`,
    '',
    ...examplePlaceholders(s),
    '',
    `Try it (with ${startHint} running): ask for the current quarter's OKRs:`,
    '',
    `  query {`,
    `    objectives(quarterId: "${s.currentQuarter.id}") {`,
    '      title status unit { name } parent { title }',
    '      keyResults { title kind baseline target current confidence checkIns { asOf confidence value whatChanged blockers } }',
    '    }',
    '  }',
    '',
    `  curl -s ${endpoint} -H 'content-type: application/json' \\`,
    `    -d '${JSON.stringify({ query })}'`,
    '',
  ].join('\n');
}

/** The <...> placeholders of README's examples whose values `npm run seed` prints. */
export const SEED_PLACEHOLDERS = [
  '<current quarter>', '<previous quarter>', '<next quarter>', '<next quarter starts>', '<next quarter ends>', '<earlier instant>',
  '<company id>', '<function id>', '<team id>', '<function objective id>', '<objective id>', '<key result id>',
  '<previous objective id>', '<ci key result id>',
] as const;

/** Their values for this demo, each with a note. */
function examplePlaceholders(s: SeedSummary): string[] {
  const instant = (d: Date) => d.toISOString().replace('.000Z', 'Z');
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const e = s.examples;
  const values: Record<(typeof SEED_PLACEHOLDERS)[number], [string, string]> = {
    '<current quarter>': [s.currentQuarter.id, `${day(s.currentQuarter.startsOn)} to ${day(s.currentQuarter.endsOn)}`],
    '<previous quarter>': [s.previousQuarter.id, 'scored and closed'],
    '<next quarter>': [e.nextQuarter.id, 'not planned yet'],
    '<next quarter starts>': [instant(e.nextQuarter.startsOn), ''],
    '<next quarter ends>': [instant(e.nextQuarter.endsOn), ''],
    '<earlier instant>': [instant(e.earlierInstant), 'in the past, for asOf'],
    '<company id>': [e.company.id, e.company.name],
    '<function id>': [e.function.id, e.function.name],
    '<team id>': [e.team.id, e.team.name],
    '<function objective id>': [e.functionObjective.id, `${e.function.name}: ${e.functionObjective.title}`],
    '<objective id>': [e.objective.id, `${e.team.name}: ${e.objective.title}`],
    '<key result id>': [e.keyResult.id, e.keyResult.title],
    '<previous objective id>': [e.previousObjective.id, `${e.team.name}, ${s.previousQuarter.id}: ${e.previousObjective.title}`],
    '<ci key result id>': [e.ciKeyResult.id, e.ciKeyResult.title],
  };
  const rows = SEED_PLACEHOLDERS.map((name) => [name, ...values[name]] as const);
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return [
    "README's examples use these values: put each in place of its <...> placeholder.",
    ...rows.map(([name, value, note]) => `  ${name.padEnd(width)}  ${note ? `${value.padEnd(valueWidth)}  (${note})` : value}`),
  ];
}

// ---- projections rebuild -------------------------------------------------------------------------

export const rebuildCommand: CliCommand = {
  words: ['projections', 'rebuild'],
  summary: 'Rebuild read-model tables from the event log (all projections, or the ones named).',
  details: [
    `Projections: ${PROJECTION_NAMES.join(', ')}.`,
    'Builds new tables (history included) from the whole log beside the live ones, while readers and appends',
    'go on using those; catches up with what was appended meanwhile, then holds appends only for the last',
    'events and the swap. One transaction: a failure leaves the live tables as they were.',
    'Progress goes to stderr; the summary (events, seconds, events/s, rows per table) to stdout.',
  ],
  flags: [
    { name: 'batch-size', kind: 'string', placeholder: 'n', description: `Events replayed per step (default ${DEFAULT_REBUILD_BATCH_SIZE}).` },
  ],
  positionals: '[name...]',
  async run(invocation) {
    const names = [...invocation.positionals];
    try {
      selectModels(names);
    } catch (error) {
      if (error instanceof UnknownProjectionError) throw new UsageError(error.message, rebuildCommand);
      throw error;
    }
    const rawBatch = stringFlag(invocation, 'batch-size');
    const batchSize = parseBatchSize(rawBatch);
    if (batchSize === null) throw new UsageError(`--batch-size must be a whole number from 1 to 100000 (got "${rawBatch}").`, rebuildCommand);
    const config = configFrom(invocation.env);
    return withDatabase(config, invocation.io, async (orm) => {
      await runRebuild(orm, { names, batchSize }, invocation.io);
      return EXIT_OK;
    });
  },
};

// ---- export --------------------------------------------------------------------------------------

export const exportCommand: CliCommand = {
  words: ['export'],
  summary: 'Write one quarter\'s events to stdout, in log order, as NDJSON or CSV.',
  details: [
    'The events tagged with the quarter (its plan and close, objectives, key results, check-ins, scores,',
    'retrospectives, effort), not unit registrations. Streamed page by page; stops at the log head it saw',
    'at start. NDJSON: one object per line (position, streamId, version, type, schemaVersion, recordedAt,',
    'actor, data, metadata). CSV (RFC 4180, CRLF): position,recordedAt,streamId,version,type,actor,data',
    'with data as JSON text. Exit 1 when the organisation has no such quarter.',
  ],
  flags: [
    { name: 'quarter', kind: 'string', placeholder: 'id', description: 'The quarter to export, e.g. 2027-Q1 (required).', required: true },
    { name: 'format', kind: 'string', placeholder: 'ndjson|csv', description: 'Output format (required).', required: true },
    { name: 'as-of', kind: 'string', placeholder: 'instant', description: 'Only events recorded at or before this ISO-8601 instant (e.g. 2027-02-01T00:00:00Z).' },
    { name: 'organisation', kind: 'string', placeholder: 'id', description: 'Organisation to export (default: OKR_ORGANISATION, else "default").' },
  ],
  async run(invocation) {
    const config = configFrom(invocation.env);
    let options: ExportOptions;
    try {
      options = parseExportFlags(
        {
          quarter: stringFlag(invocation, 'quarter'),
          format: stringFlag(invocation, 'format'),
          asOf: stringFlag(invocation, 'as-of'),
          organisation: stringFlag(invocation, 'organisation'),
        },
        config.organisationId,
      );
    } catch (error) {
      if (error instanceof ExportFlagError) throw new UsageError(error.message, exportCommand);
      throw error;
    }
    return withDatabase(config, invocation.io, (orm) => runExport(orm, options, invocation.io));
  },
};

// ---- audit ---------------------------------------------------------------------------------------

// ---- token ---------------------------------------------------------------------------------------

const TTL = /^(\d{1,7})([smhd])$/;
const TTL_UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DEFAULT_TTL_SECONDS = 8 * 3600;

/** "8h" as seconds, or null when it is not a number followed by s, m, h or d. */
function ttlSeconds(raw: string): number | null {
  const match = TTL.exec(raw.trim());
  if (match === null) return null;
  return Number(match[1]) * (TTL_UNIT_SECONDS[match[2] as string] ?? 0);
}

export const tokenCommand: CliCommand = {
  words: ['token'],
  summary: 'Mint a signed token (HS256 with OKR_JWT_SECRET) for local use: Authorization: Bearer <token>.',
  details: [
    'Prints the token only. Members need --units: the unit ids whose OKRs they may change. Services need --key-results: the',
    'key result ids they may record measurements of (and read); a service token does nothing else.',
    'The token carries iat and exp; its lifetime may not exceed OKR_JWT_MAX_LIFETIME (default 24h), which the server enforces too.',
  ],
  flags: [
    { name: 'sub', kind: 'string', placeholder: 'person', description: 'Who the token is for (required).', required: true },
    { name: 'role', kind: 'string', placeholder: 'admin|member|analyst|auditor|service', description: 'The role (required).', required: true },
    { name: 'org', kind: 'string', placeholder: 'id', description: 'Organisation (default: OKR_ORGANISATION, else "default").' },
    { name: 'units', kind: 'string', placeholder: 'id,id', description: 'For members: comma-separated unit ids they may change.' },
    { name: 'key-results', kind: 'string', placeholder: 'id,id', description: 'For services: comma-separated key result ids they may measure.' },
    { name: 'ttl', kind: 'string', placeholder: '8h', description: 'Lifetime: a number and s, m, h or d (default 8h, at most OKR_JWT_MAX_LIFETIME).' },
  ],
  async run(invocation) {
    const config = configFrom(invocation.env);
    if (config.jwtSecret === null) throw new UsageError('Set OKR_JWT_SECRET (at least 32 characters) to mint tokens.', tokenCommand);
    const sub = stringFlag(invocation, 'sub') ?? '';
    if (!isPrintableId(sub)) {
      throw new UsageError('--sub must be 1-200 characters of printable text, without control or bidirectional formatting characters.', tokenCommand);
    }
    const role = stringFlag(invocation, 'role') ?? '';
    if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}.`, tokenCommand);
    const org = organisationOption(stringFlag(invocation, 'org'), config.organisationId);
    if (!isOrganisationId(org)) throw new UsageError('--org must be at most 200 letters, digits or . _ : @ - (the server accepts no other organisation id in a token).', tokenCommand);
    const units = (stringFlag(invocation, 'units') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    if (role === 'member' && units.length === 0) throw new UsageError('A member needs --units (the units they may change).', tokenCommand);
    if (!units.every(isPrintableId)) throw new UsageError('--units must be unit ids: printable text, without control or bidirectional formatting characters.', tokenCommand);
    const keyResults = (stringFlag(invocation, 'key-results') ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    if (role === 'service' && keyResults.length === 0) throw new UsageError('A service needs --key-results (the key results it measures).', tokenCommand);
    if (role !== 'service' && keyResults.length > 0) throw new UsageError('--key-results is for services (--role service) only.', tokenCommand);
    if (!keyResults.every(isPrintableId)) throw new UsageError('--key-results must be key result ids: printable text, without control or bidirectional formatting characters.', tokenCommand);
    const maxLifetime = config.jwtMaxLifetimeSeconds;
    const rawTtl = stringFlag(invocation, 'ttl');
    const ttl = rawTtl === null ? Math.min(DEFAULT_TTL_SECONDS, maxLifetime) : ttlSeconds(rawTtl);
    if (ttl === null || ttl <= 0) throw new UsageError('--ttl must be a number above 0 followed by s, m, h or d, e.g. 8h.', tokenCommand);
    if (ttl > maxLifetime) {
      throw new UsageError(`--ttl ${rawTtl} is longer than OKR_JWT_MAX_LIFETIME (${maxLifetime} seconds): the server would refuse the token.`, tokenCommand);
    }
    // exp is counted from the same clock as iat, so the token's lifetime is exactly --ttl.
    const issuedAt = Math.floor(invocation.now().getTime() / 1000);
    let jwt = new SignJWT(role === 'service' ? { org, role, keyResults } : { org, role, units })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttl);
    if (config.jwtIssuer) jwt = jwt.setIssuer(config.jwtIssuer);
    if (config.jwtAudience) jwt = jwt.setAudience(config.jwtAudience);
    invocation.io.out(`${await jwt.sign(new TextEncoder().encode(config.jwtSecret))}\n`);
    return 0;
  },
};

// ---- help ----------------------------------------------------------------------------------------

const helpCommand: CliCommand = {
  words: ['help'],
  summary: 'Show the commands, or one command\'s flags.',
  flags: [],
  positionals: '[command]',
  async run(invocation) {
    if (invocation.positionals.length === 0) {
      invocation.io.out(overview());
      return EXIT_OK;
    }
    const { command, rest } = resolve(invocation.positionals);
    if (command === null || rest.length > 0) throw new UsageError(`Unknown command "${invocation.positionals.join(' ')}".`);
    invocation.io.out(usageOf(command));
    return EXIT_OK;
  },
};

/** Every command; `resolve` picks the longest whose words start the command line. */
export const COMMANDS: readonly CliCommand[] = [
  seedCommand,
  rebuildCommand,
  exportCommand,
  ...AUDIT_COMMANDS,
  tokenCommand,
  helpCommand,
];

function flagUsage(flag: FlagSpec): string {
  return flag.kind === 'string' ? `--${flag.name} <${flag.placeholder ?? 'value'}>` : `--${flag.name}`;
}

function usageOf(command: CliCommand): string {
  const flags = command.flags.map((f) => (f.required ? ` ${flagUsage(f)}` : ` [${flagUsage(f)}]`)).join('');
  const lines = [`Usage: npm run okr -- ${command.words.join(' ')}${flags}${command.positionals ? ` ${command.positionals}` : ''}`, '', command.summary];
  if (command.details) lines.push(...command.details);
  if (command.flags.length > 0) {
    lines.push('', 'Flags:');
    const width = Math.max(...command.flags.map((f) => flagUsage(f).length));
    for (const f of command.flags) lines.push(`  ${flagUsage(f).padEnd(width)}  ${f.description}`);
  }
  lines.push('', 'Configuration as for npm start: DATABASE_URL, or the embedded PostgreSQL in OKR_DATA_DIR (default .okr-data).', '');
  return lines.join('\n');
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  return [
    'Usage: npm run okr -- <command> [flags]      (npm run seed is a shortcut for `okr seed`)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Run `npm run okr -- help <command>` (or add --help) for a command\'s flags.',
    'Exit codes: 0 done, 1 refused or failed, 2 wrong command line or environment.',
    '',
  ].join('\n');
}

function resolve(words: readonly string[]): { command: CliCommand | null; rest: readonly string[] } {
  let best: CliCommand | null = null;
  for (const command of COMMANDS) {
    const matches = command.words.every((w, i) => words[i] === w);
    if (matches && (best === null || command.words.length > best.words.length)) best = command;
  }
  return { command: best, rest: best === null ? words : words.slice(best.words.length) };
}

// ---- parsing and running -------------------------------------------------------------------------

interface Parsed {
  command: CliCommand;
  flags: Map<string, string | true>;
  positionals: string[];
  help: boolean;
}

/** Splits argv into the command, its flags and positionals; throws UsageError on anything unknown. */
export function parseArgs(argv: readonly string[]): Parsed {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && !(argv[i] ?? '').startsWith('-')) leading.push(argv[i++] ?? '');
  if (leading.length === 0) {
    if (argv.length === 0) throw new UsageError('No command given.');
    if (argv[0] === '--help' || argv[0] === '-h') return { command: helpCommand, flags: new Map(), positionals: [], help: false };
    throw new UsageError(`Expected a command before "${argv[0]}".`);
  }
  const { command, rest } = resolve(leading);
  if (command === null) throw new UsageError(`Unknown command "${leading.join(' ')}".`);
  const positionals = [...rest];
  const flags = new Map<string, string | true>();
  let help = false;
  let onlyPositionals = false;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`Unknown flag "${arg}".`, command);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = command.flags.find((f) => f.name === name);
    if (!spec) throw new UsageError(`Unknown flag "--${name}" for "${command.words.join(' ')}".`, command);
    if (flags.has(name)) throw new UsageError(`Flag "--${name}" is given twice.`, command);
    if (spec.kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`Flag "--${name}" takes no value.`, command);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`Flag "--${name}" needs a value: ${flagUsage(spec)}.`, command);
      i += 1;
    }
    if (value.trim() === '') throw new UsageError(`Flag "--${name}" needs a non-empty value.`, command);
    flags.set(name, value);
  }
  if (!help && positionals.length > 0 && !command.positionals) {
    throw new UsageError(`Unexpected argument "${positionals[0]}" for "${command.words.join(' ')}".`, command);
  }
  return { command, flags, positionals, help };
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdout: process.stdout,
};

/** Runs one command line and returns its exit code; never exits the process itself. */
export async function runCli(
  argv: readonly string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): Promise<number> {
  let command: CliCommand | null = null;
  try {
    const parsed = parseArgs(argv);
    command = parsed.command;
    if (parsed.help) {
      io.out(usageOf(parsed.command));
      return EXIT_OK;
    }
    return await parsed.command.run({ flags: parsed.flags, positionals: parsed.positionals, env, io, now });
  } catch (error) {
    if (error instanceof UsageError) {
      const about = error.command ?? command;
      io.err(`${error.message}\n\n${about && about !== helpCommand ? usageOf(about) : overview()}`);
      return EXIT_USAGE;
    }
    io.err(`Failed: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof Error && error.cause) io.err(`  cause: ${String(error.cause)}\n`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
