import type { MikroORM } from '@mikro-orm/postgresql';
import { streamId } from '../events/catalogue';
import { leafText, type LeafEvent } from '../events/leaf';
import { EventStore } from '../events/store';
import { isAcceptedTime, utcDate } from '../domain/calendar';
import { organisationOption } from './config';
import { sqlOf } from './database';

/*
 * `npm run okr -- export --quarter <id> --format ndjson|csv`: one quarter's events, as recorded, in
 * delivery (position) order, streamed page by page so an export of any size runs in constant memory.
 * An NDJSON line is exactly the event's leaf in the organisation's Merkle tree (events/leaf.ts), so
 * with an inclusion proof and a checkpoint anyone can check it without the database.
 */

export type ExportFormat = 'ndjson' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['ndjson', 'csv'];

/** Where the command line writes: text to stdout and stderr, and the stdout stream when there is one. */
export interface ExportIo {
  out(text: string): void;
  err(text: string): void;
  /** Used, when present, for backpressure and to notice a reader that has gone (EPIPE). */
  stdout?: NodeJS.WritableStream;
}

export interface ExportOptions {
  organisationId: string;
  quarterId: string;
  format: ExportFormat;
  /** Only events recorded at or before this instant. */
  until?: Date | null;
  /** Events read per query (default 1000). */
  pageSize?: number;
}

/** Where the export goes. `write` resolves once the chunk may be followed by another (backpressure). */
export interface ExportSink {
  write(chunk: string): void | Promise<void>;
}

export interface ExportSummary {
  events: number;
  /** The organisation's log head when the export started: nothing appended later is included. */
  headPosition: number;
}

/** Column order of the CSV export. */
export const CSV_COLUMNS = ['position', 'recordedAt', 'streamId', 'version', 'type', 'actor', 'data'] as const;

/** One event as one JSON object (the NDJSON line, without its newline): its leaf bytes, as recorded. */
export const toJsonRecord = (event: LeafEvent): string => leafText(event);

const actorOf = (event: LeafEvent): string => {
  const actor = (event.metadata as { actor?: unknown } | null)?.actor;
  return typeof actor === 'string' ? actor : '';
};

/** RFC 4180: a field with a comma, a double quote, CR or LF is quoted, and its quotes doubled. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 records end with CRLF. */
const CSV_EOL = '\r\n';

export const csvHeader = (): string => CSV_COLUMNS.join(',') + CSV_EOL;

export function toCsvRecord(event: LeafEvent): string {
  return [
    event.position,
    event.recordedAt,
    event.streamId,
    event.version,
    event.type,
    actorOf(event),
    JSON.stringify(event.data),
  ].map(csvField).join(',') + CSV_EOL;
}

/** Whether the organisation has planned this quarter (its stream exists). */
export async function quarterExists(orm: MikroORM, organisationId: string, quarterId: string): Promise<boolean> {
  const rows = await sqlOf(orm.em.fork()).query(
    'SELECT 1 FROM okr_streams WHERE organisation_id = ? AND stream_id = ?',
    [organisationId, streamId.quarter(quarterId)],
  );
  return rows.length > 0;
}

/**
 * Writes the quarter's events (only those tagged with it: its plan and close, its objectives, key
 * results, check-ins, retrospectives and effort; not unit registrations) to `sink`, one page at a time.
 * The export stops at the log head it saw when it started, so it is a consistent prefix of the log
 * even while commands keep appending (positions are gap-free and commit-ordered).
 */
export async function exportQuarter(orm: MikroORM, options: ExportOptions, sink: ExportSink): Promise<ExportSummary> {
  const store = new EventStore();
  const sql = sqlOf(orm.em.fork());
  const headPosition = await store.headPosition(sql, options.organisationId);
  const format = options.format === 'csv' ? toCsvRecord : (e: LeafEvent) => `${toJsonRecord(e)}\n`;
  if (options.format === 'csv') await sink.write(csvHeader());
  let events = 0;
  const filter = {
    organisationId: options.organisationId,
    quarterId: options.quarterId,
    withUntagged: false,
    until: options.until ?? undefined,
  };
  pages: for await (const page of store.streamLeaves(sql, filter, options.pageSize ?? 1000)) {
    let chunk = '';
    for (const event of page) {
      if (event.position > headPosition) {
        if (chunk !== '') await sink.write(chunk);
        break pages;
      }
      chunk += format(event);
      events += 1;
    }
    // One write per page: few syscalls, and memory bounded by a page.
    if (chunk !== '') await sink.write(chunk);
  }
  return { events, headPosition };
}

/** The error a write to a pipe whose reader has gone away (`| head`) ends with. */
export const isBrokenPipe = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EPIPE';

/**
 * A sink over a Node writable (process.stdout) that honours backpressure and turns a write error
 * (EPIPE when the reader has gone) into a rejected write instead of an uncaught 'error' event.
 */
export function streamSink(stream: NodeJS.WritableStream): ExportSink {
  let failure: Error | null = null;
  // Stays attached: an error may arrive after the last write, and must not crash the process.
  stream.on('error', (error: Error) => {
    failure ??= error;
  });
  return {
    async write(chunk) {
      if (failure) throw failure;
      if (stream.write(chunk)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          stream.off('drain', onDrain);
          stream.off('error', onError);
          if (error) reject(error);
          else resolve();
        };
        const onDrain = () => done();
        const onError = (error: Error) => done(error);
        stream.on('drain', onDrain);
        stream.on('error', onError);
      });
      if (failure) throw failure;
    },
  };
}

// ---- the command line's part (src/cli.ts maps ExportFlagError to a usage error, exit 2) ---------------

export class ExportFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportFlagError';
  }
}

/** The flags as given (null when absent). */
export interface ExportFlags {
  quarter: string | null;
  format: string | null;
  asOf: string | null;
  organisation: string | null;
}

/** An ISO-8601 date (UTC midnight) or date-time with Z or an offset; never a local time. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * Parses an instant strictly: no local times, no rolled-over dates such as February 30, nothing outside
 * the instants the ledger accepts (years 0001-9999).
 */
export function parseInstant(raw: string): Date | null {
  const text = raw.trim();
  const match = ISO_INSTANT.exec(text);
  if (match === null) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // utcDate, not Date.UTC: Date.UTC would read years 0-99 as 1900-1999 and refuse 0050-01-01.
  const calendar = utcDate(year, month - 1, day);
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return null;
  const instant = new Date(text);
  return isAcceptedTime(instant.getTime()) ? instant : null;
}

/** Validates the flags; throws ExportFlagError saying what is wrong. */
export function parseExportFlags(flags: ExportFlags, defaultOrganisation: string): ExportOptions {
  const quarterId = flags.quarter?.trim() ?? '';
  if (quarterId === '') throw new ExportFlagError('--quarter is required, e.g. --quarter 2027-Q1.');
  if (flags.format === null) throw new ExportFlagError(`--format is required: ${EXPORT_FORMATS.join(' or ')}.`);
  const format = flags.format.trim().toLowerCase() as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new ExportFlagError(`--format must be ${EXPORT_FORMATS.join(' or ')} (got "${flags.format}").`);
  }
  let until: Date | null = null;
  if (flags.asOf !== null) {
    until = parseInstant(flags.asOf);
    if (until === null) {
      throw new ExportFlagError(
        `--as-of must be an ISO-8601 instant such as 2027-02-01T00:00:00Z, or a date such as 2027-02-01, in the years 0001-9999 (got "${flags.asOf}").`,
      );
    }
  }
  const organisationId = organisationOption(flags.organisation, defaultOrganisation);
  return { organisationId, quarterId, format, until };
}

/**
 * Runs an export for the command line: exit 0 when written (also when the reader went away early, as
 * with `| head`: it has all it wanted), 1 when the organisation has no such quarter.
 */
export async function runExport(orm: MikroORM, options: ExportOptions, io: ExportIo): Promise<number> {
  const { organisationId, quarterId } = options;
  if (!(await quarterExists(orm, organisationId, quarterId))) {
    io.err(`Organisation "${organisationId}" has no quarter "${quarterId}"; nothing was exported.\n`);
    return 1;
  }
  const sink: ExportSink = io.stdout ? streamSink(io.stdout) : { write: (chunk) => io.out(chunk) };
  try {
    const summary = await exportQuarter(orm, options, sink);
    const cut = options.until ? ` recorded at or before ${options.until.toISOString()}` : '';
    io.err(`Exported ${summary.events} events of ${quarterId} (organisation "${organisationId}")${cut} as ${options.format}.\n`);
    return 0;
  } catch (error) {
    if (isBrokenPipe(error)) return 0;
    throw error;
  }
}
