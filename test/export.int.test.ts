import { Writable } from 'node:stream';
import { leafText, type LeafEvent } from '../events/leaf';
import { leafHash } from '../events/merkle';
import { EventStore } from '../events/store';
import { Commands } from '../src/commands';
import {
  CSV_COLUMNS,
  ExportFlagError,
  csvField,
  exportQuarter,
  parseExportFlags,
  runExport,
  type ExportIo,
  type ExportOptions,
} from '../src/export';
import { Ledger } from '../src/ledger';
import { runOkr } from './support/cli';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * `npm run okr -- export`: one quarter's events, in log order, as NDJSON or CSV, against real
 * PostgreSQL. Most cases call the command's own functions (parseExportFlags, runExport) in-process;
 * a few run the real command line in a child process (exit codes, stdout closed early by `| head`).
 */

const HOUR = 3_600_000;
const LONG = 120_000;
const ORG = 'org-x';
const OTHER = 'org-y';
const AWKWARD_ACTOR = 'O\'Brien, Pat "PJ"';
const NEWLINE_ACTOR = 'Night\nShift, "Ops"';

class SimClock {
  private t: number;
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** An NDJSON line: exactly the event's leaf (events/leaf.ts). */
interface JsonRecord {
  organisationId: string;
  position: number;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  recordedAt: string;
  data: Record<string, unknown>;
  metadata: { actor: string } & Record<string, unknown>;
}

/** A strict RFC 4180 reader (CRLF records), so the test does not trust the writer's own helpers. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
        if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a closing quote at ${i}`);
      } else {
        field += c;
        i += 1;
      }
    } else if (c === '"') {
      if (field !== '') throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      i += 1;
    } else if (c === ',') {
      record.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`bare line break outside quotes at ${i}`);
    } else {
      field += c;
      i += 1;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || record.length > 0) throw new Error('last record does not end with CRLF');
  return records;
}

function collectingIo(stdout?: NodeJS.WritableStream): ExportIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (t) => void out_.push(t), err: (t) => void err_.push(t), stdout };
}

const okr = runOkr;

let db: TestDatabase;
const store = new EventStore();
let clock: SimClock;
let ledger: Ledger;
let cutAt: string; // the recorded time of one Q1 event in the middle of the history
let q1KeyResult: string;

const ndjsonOf = (text: string): JsonRecord[] =>
  text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as JsonRecord);

async function positionsInLog(organisationId: string, quarterId: string, until?: string): Promise<number[]> {
  const rows = await db.sql.query<{ position: string }>(
    `SELECT position FROM okr_events WHERE organisation_id = ? AND quarter_id = ?
       AND (?::timestamptz IS NULL OR recorded_at <= ?::timestamptz) ORDER BY position`,
    [organisationId, quarterId, until ?? null, until ?? null],
  );
  return rows.map((r) => Number(r.position));
}

async function exportText(options: Partial<ExportOptions> & { format: ExportOptions['format'] }): Promise<string> {
  const io = collectingIo();
  const code = await runExport(db.orm, { organisationId: ORG, quarterId: '2027-Q1', ...options }, io);
  expect(io.err_.join('')).toMatch(/^Exported \d+ events of /);
  expect(code).toBe(0);
  return io.out_.join('');
}

beforeAll(async () => {
  db = await createTestDatabase('export');
  clock = new SimClock('2026-12-14T09:00:00.000Z');
  ledger = new Ledger(db.orm, clock.now);
  const as = (organisationId: string, actor: string) =>
    new Commands(ledger, { organisationId, actor, correlationId: `corr-${actor.length}` });
  const admin = as(ORG, AWKWARD_ACTOR);
  const night = as(ORG, NEWLINE_ACTOR);

  const company = await admin.registerUnit({ name: 'X, "the company"', level: 'COMPANY', parentId: null });
  const fn = await admin.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company.result.unitId });
  const team = await admin.registerUnit({ name: 'Payments', level: 'TEAM', parentId: fn.result.unitId });
  const unitId = team.result.unitId;
  // 2027-Q2's setting window opens early, so its key result below can be checked in on in December.
  for (const [id, startsOn, endsOn, settingOpensOn] of [
    ['2027-Q1', '2027-01-01', '2027-04-01', null],
    ['2027-Q2', '2027-04-01', '2027-07-01', '2026-12-01T00:00:00Z'],
  ] as const) {
    await admin.planQuarter({ quarterId: id, startsOn: `${startsOn}T00:00:00Z`, endsOn: `${endsOn}T00:00:00Z`, settingOpensOn });
    clock.advance(HOUR);
  }
  const objective = await admin.draftObjective({
    unitId,
    quarterId: '2027-Q1',
    title: 'Payments, "reliably"',
    description: 'Line one\nline two, with "quotes" and a \\ backslash',
  });
  const kr = await admin.defineKeyResult({ objectiveId: objective.result.objectiveId, title: 'Cut 5xx, "fast"', metric: 'error rate', unit: '%', baseline: 0.8, target: 0.2 });
  q1KeyResult = kr.result.keyResultId;
  await admin.commitObjective({ objectiveId: objective.result.objectiveId });
  for (let i = 0; i < 6; i += 1) {
    clock.advance(HOUR);
    await (i % 2 === 0 ? admin : night).recordCheckIn({
      keyResultId: q1KeyResult,
      confidence: 50 + i,
      value: 0.8 - i / 20,
      whatChanged: `Week ${i}: retries, "circuit breakers"\nand a comma, too`,
      blockers: i === 3 ? 'Vendor\r\nSDK' : null,
    });
    if (i === 2) cutAt = clock.now().toISOString();
  }
  await night.logProcessEffort({ unitId, quarterId: '2027-Q1', activity: 'CHECK_IN', personDays: 0.5, note: 'a, b; "c"' });
  await admin.recordRetrospective({ unitId, quarterId: '2027-Q1', learnings: 'Retries were the cheap win,\n"obviously"', calibrations: [{ keyResultId: q1KeyResult, calibration: 'RIGHT', note: null }] });

  // Another quarter of the same organisation, and the same quarter key in another organisation.
  const q2 = await admin.draftObjective({ unitId, quarterId: '2027-Q2', title: 'Next quarter' });
  const q2kr = await admin.defineKeyResult({ objectiveId: q2.result.objectiveId, title: 'Grow', metric: 'm', baseline: 1, target: 2 });
  await admin.recordCheckIn({ keyResultId: q2kr.result.keyResultId, confidence: 70 });
  const other = as(OTHER, 'someone else');
  const otherCompany = await other.registerUnit({ name: 'Y', level: 'COMPANY', parentId: null });
  await other.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
  const otherObjective = await other.draftObjective({ unitId: otherCompany.result.unitId, quarterId: '2027-Q1', title: 'Theirs' });
  await other.defineKeyResult({ objectiveId: otherObjective.result.objectiveId, title: 'T', metric: 'm', baseline: 0, target: 1 });

  // Enough Q1 check-ins that the export is far larger than a pipe's buffer (64 KiB).
  clock.advance(HOUR);
  await Promise.all(
    Array.from({ length: 6 }, async (_, w) => {
      // One key result per writer: concurrent check-ins on one stream would conflict (and retry) a lot.
      const { result } = await admin.defineKeyResult({ objectiveId: objective.result.objectiveId, title: `Bulk ${w}`, metric: 'm', baseline: 0, target: 100 });
      for (let i = 0; i < 60; i += 1) {
        await admin.recordCheckIn({ keyResultId: result.keyResultId, confidence: (w * 60 + i) % 101, value: i, whatChanged: `bulk ${w}/${i}, "steady"` });
      }
    }),
  );
}, LONG);
afterAll(() => db.drop());

describe('export --format ndjson', () => {
  let records: JsonRecord[];
  beforeAll(async () => {
    records = ndjsonOf(await exportText({ format: 'ndjson' }));
  });

  it('writes one JSON object per line, in position order, exactly the quarter\'s events of the organisation', async () => {
    expect(records.length).toBeGreaterThan(360);
    expect(records.map((r) => r.position)).toEqual(await positionsInLog(ORG, '2027-Q1'));
    for (let i = 1; i < records.length; i += 1) expect(records[i]?.position).toBeGreaterThan(records[i - 1]?.position ?? Infinity);
    for (const r of records) {
      expect(r.data.quarterId).toBe('2027-Q1');
      expect(r.organisationId).toBe(ORG);
    }
    expect(records.some((r) => r.type === 'UnitRegistered')).toBe(false); // untagged events are left out
    expect(new Set(records.map((r) => r.type))).toEqual(
      new Set(['QuarterPlanned', 'ObjectiveDrafted', 'KeyResultDefined', 'ObjectiveCommitted', 'CheckInRecorded', 'ProcessEffortLogged', 'RetrospectiveRecorded']),
    );
  });

  it('writes each event as its leaf: organisation, position, stream, version, type, schema version, data, metadata, recorded time', async () => {
    const [first] = await store.readAll(db.sql, { organisationId: ORG, quarterId: '2027-Q1', limit: 1 });
    const record = records[0];
    // RFC 8785 orders the keys.
    expect(Object.keys(record ?? {})).toEqual(['data', 'metadata', 'organisationId', 'position', 'recordedAt', 'schemaVersion', 'streamId', 'type', 'version']);
    const { organisationId: _org, ...storedMetadata } = first?.metadata ?? { organisationId: '' };
    expect(record).toEqual({
      organisationId: ORG,
      position: first?.position,
      streamId: 'quarter-2027-Q1',
      version: 1,
      type: 'QuarterPlanned',
      schemaVersion: 1,
      recordedAt: first?.recordedAt.toISOString(),
      data: JSON.parse(JSON.stringify(first?.data)),
      metadata: JSON.parse(JSON.stringify(storedMetadata)),
    });
    expect(record?.metadata.actor).toBe(AWKWARD_ACTOR);
    expect(records.find((r) => r.type === 'CheckInRecorded' && r.metadata.actor === NEWLINE_ACTOR)?.data.whatChanged).toBe(
      'Week 1: retries, "circuit breakers"\nand a comma, too',
    );
  });

  it('gives, line by line, the leaf hashes the log stores: anyone can recompute them from the export', async () => {
    const lines = (await exportText({ format: 'ndjson' })).split('\n').filter((l) => l !== '');
    const stored = await db.sql.query<{ position: string; leaf_hash: Buffer }>(
      "SELECT position, leaf_hash FROM okr_events WHERE organisation_id = ? AND quarter_id = '2027-Q1' ORDER BY position",
      [ORG],
    );
    expect(lines).toHaveLength(stored.length);
    lines.forEach((line, i) => {
      expect(leafHash(line).equals(Buffer.from(stored[i]?.leaf_hash ?? []))).toBe(true);
      expect(line).toBe(leafText(JSON.parse(line) as LeafEvent)); // already canonical
    });
  });

  it('--as-of cuts at the recorded time, inclusively', async () => {
    const cut = ndjsonOf(await exportText({ format: 'ndjson', until: new Date(cutAt) }));
    expect(cut.map((r) => r.position)).toEqual(await positionsInLog(ORG, '2027-Q1', cutAt));
    expect(cut.length).toBeGreaterThan(3);
    expect(cut.length).toBeLessThan(records.length);
    for (const r of cut) expect(Date.parse(r.recordedAt)).toBeLessThanOrEqual(Date.parse(cutAt));
    expect(cut.at(-1)?.recordedAt).toBe(cutAt); // the event recorded exactly at the cut is included
    expect(cut).toEqual(records.slice(0, cut.length)); // a prefix of the full export
  });

  it('exports another organisation\'s quarter of the same name separately', async () => {
    const theirs = ndjsonOf(await exportText({ format: 'ndjson', organisationId: OTHER }));
    expect(theirs.map((r) => r.type)).toEqual(['QuarterPlanned', 'ObjectiveDrafted', 'KeyResultDefined']);
    for (const r of theirs) expect(r.organisationId).toBe(OTHER);
    const q2 = ndjsonOf(await exportText({ format: 'ndjson', quarterId: '2027-Q2' }));
    expect(q2.map((r) => r.type)).toEqual(['QuarterPlanned', 'ObjectiveDrafted', 'KeyResultDefined', 'CheckInRecorded']);
  });

  it('reads page by page: tiny pages give the same output, one write per page', async () => {
    const chunks: string[] = [];
    const summary = await exportQuarter(db.orm, { organisationId: ORG, quarterId: '2027-Q1', format: 'ndjson', pageSize: 7 }, { write: (c) => void chunks.push(c) });
    expect(summary.events).toBe(records.length);
    expect(chunks.length).toBe(Math.ceil(records.length / 7));
    expect(ndjsonOf(chunks.join(''))).toEqual(records);
  });

  it('stops at the log head it saw when it started, even while commands keep appending', async () => {
    const cmd = new Commands(ledger, { organisationId: ORG, actor: 'late', correlationId: 'late' });
    const chunks: string[] = [];
    let appended = false;
    const summary = await exportQuarter(db.orm, { organisationId: ORG, quarterId: '2027-Q1', format: 'ndjson', pageSize: 50 }, {
      async write(chunk) {
        chunks.push(chunk);
        if (!appended) {
          appended = true;
          clock.advance(HOUR);
          await cmd.recordCheckIn({ keyResultId: q1KeyResult, confidence: 1, whatChanged: 'appended during the export' });
        }
      },
    });
    expect(summary.events).toBe(records.length);
    expect(ndjsonOf(chunks.join(''))).toEqual(records);
    records = ndjsonOf(await exportText({ format: 'ndjson' })); // the next export has it
    expect(records.at(-1)?.data.whatChanged).toBe('appended during the export');
  });
});

describe('export --format csv', () => {
  let text: string;
  let rows: string[][];
  let records: JsonRecord[];
  beforeAll(async () => {
    records = ndjsonOf(await exportText({ format: 'ndjson' }));
    text = await exportText({ format: 'csv' });
    rows = parseCsv(text);
  });

  it('starts with the header row and has one record per event, CRLF-terminated', () => {
    expect(text.startsWith('position,recordedAt,streamId,version,type,actor,data\r\n')).toBe(true);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.length - 1).toBe(records.length);
    for (const row of rows) expect(row).toHaveLength(7);
  });

  it('round-trips every field, data as JSON text, through RFC 4180 quoting', () => {
    rows.slice(1).forEach((row, i) => {
      const r = records[i];
      expect(row.slice(0, 6)).toEqual([String(r?.position), r?.recordedAt, r?.streamId, String(r?.version), r?.type, r?.metadata.actor]);
      expect(JSON.parse(row[6] ?? '')).toEqual(r?.data);
    });
  });

  it('quotes fields with commas, quotes and line breaks, doubling the quotes, and nothing else', () => {
    expect(text).toContain(`,"O'Brien, Pat ""PJ""",`); // comma and quotes in the actor
    expect(text).toContain(',"Night\nShift, ""Ops""",'); // a raw line break inside a quoted field
    expect(text).toContain('""whatChanged"":""Week 0: retries, \\""circuit breakers\\""\\nand a comma, too""'); // JSON with escaped quotes
    expect(text).toMatch(/\r\n\d+,\d{4}-\d\d-\d\dT[\d:.]+Z,quarter-2027-Q1,1,QuarterPlanned,/); // plain fields stay bare
    expect(csvField('plain')).toBe('plain');
    expect(csvField(42)).toBe('42');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('x\ny')).toBe('"x\ny"');
    expect(csvField('x\ry')).toBe('"x\ry"');
    expect(csvField('')).toBe('');
  });

  it('--as-of gives the same cut as NDJSON', async () => {
    const cut = parseCsv(await exportText({ format: 'csv', until: new Date(cutAt) }));
    expect(cut.slice(1).map((r) => Number(r[0]))).toEqual(await positionsInLog(ORG, '2027-Q1', cutAt));
  });
});

describe('export flags and failures', () => {
  const parse = (flags: Partial<Parameters<typeof parseExportFlags>[0]>) =>
    parseExportFlags({ quarter: '2027-Q1', format: 'ndjson', asOf: null, organisation: null, ...flags }, 'default-org');

  it('defaults the organisation to the configured one and parses --as-of strictly', () => {
    expect(parse({})).toEqual({ organisationId: 'default-org', quarterId: '2027-Q1', format: 'ndjson', until: null });
    expect(parse({ organisation: ' org-x ', format: 'CSV' })).toMatchObject({ organisationId: 'org-x', format: 'csv' });
    expect(parse({ asOf: '2027-02-01' }).until?.toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(parse({ asOf: '2027-02-01T10:30:00+01:00' }).until?.toISOString()).toBe('2027-02-01T09:30:00.000Z');
    expect(parse({ asOf: '2027-02-01T10:30:00.123Z' }).until?.toISOString()).toBe('2027-02-01T10:30:00.123Z');
  });

  it('takes an --as-of in any year from 0001 to 9999 as given (Date.UTC once read 0050 as 1950 and refused it)', async () => {
    expect(parse({ asOf: '0050-01-01' }).until?.toISOString()).toBe('0050-01-01T00:00:00.000Z');
    expect(parse({ asOf: '0001-01-01T00:00:00Z' }).until?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(parse({ asOf: '0004-02-29' }).until?.toISOString()).toBe('0004-02-29T00:00:00.000Z');
    expect(parse({ asOf: '9999-12-31T23:59:59.999Z' }).until?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    // Nothing was recorded by year 50: the export is empty, and succeeds.
    const io = collectingIo();
    expect(await runExport(db.orm, { ...parse({ asOf: '0050-01-01' }), organisationId: ORG }, io)).toBe(0);
    expect(io.out_.join('')).toBe('');
    expect(io.err_.join('')).toBe('Exported 0 events of 2027-Q1 (organisation "org-x") recorded at or before 0050-01-01T00:00:00.000Z as ndjson.\n');
  });

  it.each([
    [{ quarter: null }, '--quarter is required'],
    [{ quarter: '  ' }, '--quarter is required'],
    [{ format: null }, '--format is required: ndjson or csv'],
    [{ format: 'xml' }, '--format must be ndjson or csv (got "xml")'],
    [{ asOf: 'yesterday' }, '--as-of must be an ISO-8601 instant'],
    [{ asOf: '2027-02-30' }, '--as-of must be an ISO-8601 instant'],
    [{ asOf: '2027-02-01T10:30' }, '--as-of must be an ISO-8601 instant'], // a local time: ambiguous
    [{ asOf: '0100-02-29' }, '--as-of must be an ISO-8601 instant'], // 100 is not a leap year
    [{ asOf: '0000-06-01' }, 'in the years 0001-9999'],
    [{ asOf: '0001-01-01T00:30:00+01:00' }, 'in the years 0001-9999'], // 0000-12-31T23:30Z
  ])('refuses %j', (flags, message) => {
    expect(() => parse(flags)).toThrow(ExportFlagError);
    expect(() => parse(flags)).toThrow(message);
  });

  it('fails (exit 1) for a quarter the organisation does not have, writing nothing to stdout', async () => {
    const io = collectingIo();
    expect(await runExport(db.orm, { organisationId: OTHER, quarterId: '2027-Q2', format: 'csv' }, io)).toBe(1);
    expect(io.out_).toEqual([]);
    expect(io.err_.join('')).toBe('Organisation "org-y" has no quarter "2027-Q2"; nothing was exported.\n');
  });

  it('stops quietly (exit 0) when stdout is closed under it (EPIPE)', async () => {
    let writes = 0;
    const closed = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        writes += 1;
        if (writes === 1) callback();
        else callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const io = collectingIo(closed);
    expect(await runExport(db.orm, { organisationId: ORG, quarterId: '2027-Q1', format: 'csv', pageSize: 10 }, io)).toBe(0);
    expect(writes).toBe(2); // the header, then the first page failed; nothing more was read or written
    expect(io.err_).toEqual([]);
  });
});

describe('npm run okr -- export (child process)', () => {
  it('streams the export to stdout, for the configured organisation by default', async () => {
    const expected = await exportText({ format: 'ndjson' });
    const run = await okr(['export', '--quarter', '2027-Q1', '--format', 'ndjson'], { DATABASE_URL: db.url, OKR_ORGANISATION: ORG });
    expect(run.stderr).toMatch(/Exported \d+ events of 2027-Q1 \(organisation "org-x"\) as ndjson\./);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(expected);
  }, LONG);

  it('exits 2 with the usage on a bad flag', async () => {
    const run = await okr(['export', '--quarter', '2027-Q1', '--format', 'xml'], { DATABASE_URL: db.url });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--format must be ndjson or csv (got "xml").');
    expect(run.stderr).toContain('Usage: npm run okr -- export');
    expect(run.stdout).toBe('');
  }, LONG);

  it('ends cleanly (exit 0, no stack trace) when the reader goes away early, as with | head', async () => {
    let closed = false;
    const run = await okr(['export', '--quarter', '2027-Q1', '--format', 'csv'], { DATABASE_URL: db.url, OKR_ORGANISATION: ORG }, (_chunk, child) => {
      if (!closed) {
        closed = true;
        child.stdout?.destroy();
      }
    });
    expect(closed).toBe(true);
    expect(run.stderr).not.toMatch(/Error|EPIPE|at /);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBeLessThan(Buffer.byteLength(await exportText({ format: 'csv' })));
  }, LONG);
});
