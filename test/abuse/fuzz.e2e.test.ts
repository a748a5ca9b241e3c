import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server';
import { Okr } from '../support/okr';
import { clip, postText, raw, responseProblems, toJsonText, type RawResponse } from '../support/abuse';

/**
 * Property-based fuzzing of every mutation over real HTTP, against a real PostgreSQL.
 *
 * Each mutation gets a few hundred generated requests: coherent commands on a small real organisation
 * (so some are accepted), the same commands with one field spoiled, inputs built field by field from
 * good and hostile values, and whole variables of the wrong shape. Hostile values are wrong types,
 * huge and non-finite numbers written as raw JSON text (1e400 parses to Infinity, -0, "NaN"), unicode
 * (emoji, RTL overrides, zero-width, NUL, lone surrogates escaped in the JSON text), empty and 100k-char
 * strings, unknown ids and ids of the wrong kind of object.
 *
 * For every response: no 5xx, no INTERNAL_SERVER_ERROR, every error code from the stable set, no stack
 * trace or SQL, and the log grew only when the mutation answered data without errors. Violations are
 * collected (not thrown) so one run reports every distinct problem; each mutation's test fails with a
 * summary when it found any. FUZZ_RUNS (default 200) sets the runs per mutation, FUZZ_SEED the seed
 * (a number, or `random`).
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Fixed by default so a run is repeatable; FUZZ_SEED=random explores. */
const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() % 2_147_483_647 : Number(process.env.FUZZ_SEED ?? 20_270_101);
const MAX_BODY = 1024 * 1024;
/** Where fuzzed webhooks point: nothing listens there, so whatever the worker sends goes nowhere. */
const WEBHOOK_URL = 'http://127.0.0.1:9/okr-hook';

let t: TestServer;

/** Ids of real objects; accepted commands add theirs, so later mutations aim at them too. */
const pool = { units: [] as string[], quarters: [] as string[], objectives: [] as string[], keyResults: [] as string[], webhooks: [] as string[] };
/** Objectives of the ended quarter kept out of the pool (no other fuzz retires them), for carryOverObjective to carry. */
const carryable: string[] = [];

interface Stats {
  runs: number;
  accepted: number;
  /** Accepted and appended (an accepted no-op or idempotent replay appends nothing). */
  appended: number;
  rejected: Record<string, number>;
  problems: Map<string, { count: number; example: string }>;
}
const stats = new Map<string, Stats>();

beforeAll(async () => {
  t = await startTestServer('abusefuzz', '2026-06-01T09:00:00Z');
  const okr = new Okr(t);
  const org = await okr.org(['Payments', 'Search']);
  const [payments, search] = org.teams;
  if (!payments || !search) throw new Error('the organisation has no teams');
  pool.units.push(org.company, org.fn, ...org.teams);
  // A quarter that has ended by the time the fuzz runs (closeQuarter can be accepted), and a live one.
  await okr.quarter('2026-Q3', '2026-07-01T00:00:00Z', '2026-10-01T00:00:00Z');
  await okr.quarter('2027-Q1', '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  pool.quarters.push('2026-Q3', '2027-Q1');
  okr.at('2026-06-20T09:00:00Z');
  const old = await okr.objective(payments, '2026-Q3', 'Make refunds boring');
  pool.objectives.push(old);
  pool.keyResults.push(await okr.keyResult(old, { title: 'Cut refund time from 5 days to 1', metric: 'refund days', baseline: 5, target: 1 }));
  for (const title of ['Payouts on time', 'Disputes resolved in a day']) {
    const objective = await okr.objective(payments, '2026-Q3', title);
    await okr.keyResult(objective, { title: `${title}: from 80% to 95%`, metric: 'share', unit: '%', baseline: 80, target: 95 });
    carryable.push(objective);
  }

  okr.at('2027-01-10T09:00:00Z');
  const company = await okr.objective(org.company, '2027-Q1', 'Customers trust our payments');
  const fn = await okr.objective(org.fn, '2027-Q1', 'Improve the reliability of payments', { parentId: company });
  const a = await okr.objective(payments, '2027-Q1', 'Make payment failures rare', { parentId: fn });
  const b = await okr.objective(search, '2027-Q1', 'Help people find things');
  const c = await okr.objective(search, '2027-Q1', 'Search feels instant', { aspirational: false });
  await okr.commit(a);
  pool.objectives.push(company, fn, a, b, c);
  const kr1 = await okr.keyResult(a, { title: 'Reduce 5xx rate from 0.8% to 0.2%', metric: '5xx rate', unit: '%', baseline: 0.8, target: 0.2 });
  const kr2 = await okr.keyResult(a, { title: 'Raise availability from 99.5% to 99.9%', metric: 'availability', baseline: 99.5, target: 99.9 });
  const kr3 = await okr.keyResult(b, { title: 'Raise search success from 60% to 75%', metric: 'success', baseline: 60, target: 75 });
  const kr4 = await okr.keyResult(c, { title: 'Cut p95 latency from 800 ms to 300 ms', metric: 'p95', unit: 'ms', baseline: 800, target: 300 });
  await okr.checkIn(kr1, 60, { value: 0.6 });
  await okr.score(kr4, 0.5);
  pool.keyResults.push(kr1, kr2, kr3, kr4);
  // The fuzz runs in the live quarter; 2026-Q3 is over (SCORING), so it may be closed.
  okr.at('2027-01-20T09:00:00Z');
  // Webhooks to pause, resume and remove; their receiver is a closed port on loopback (local development mode allows it).
  for (const unitId of [org.company, payments, search]) {
    const added = await t.gql(`mutation($i: AddWebhookInput!) { addWebhook(input: $i) { webhook { id } } }`, { i: { unitId, url: WEBHOOK_URL, kind: 'SIGNED_JSON' } });
    pool.webhooks.push(added.data?.addWebhook.webhook.id);
  }
});

afterAll(async () => {
  const lines = [...stats.entries()].map(([name, s]) => {
    const rejected = Object.entries(s.rejected)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `${name.padEnd(20)} runs=${s.runs} accepted=${s.accepted} appended=${s.appended} problems=${[...s.problems.values()].reduce((n, p) => n + p.count, 0)} | ${rejected}`;
  });
  const total = [...stats.values()].reduce((n, s) => ({ runs: n.runs + s.runs, accepted: n.accepted + s.accepted }), { runs: 0, accepted: 0 });
  console.log(`fuzz seed=${SEED} runs/mutation=${RUNS}: ${total.runs} inputs, ${total.accepted} accepted\n${lines.join('\n')}`);
  await t?.close();
});

// ---------------------------------------------------------------------------------------------
// Values

const HUGE = 'x'.repeat(100_000);
const HUGE_EMOJI = '😀'.repeat(30_000);

/** Strings no field should choke on (every one of them goes over the wire as valid JSON text). */
const NASTY_STRINGS: unknown[] = [
  '',
  ' ',
  '   \t\n ',
  HUGE,
  HUGE_EMOJI,
  'x'.repeat(101),
  'x'.repeat(121),
  'x'.repeat(201),
  'x'.repeat(301),
  'x'.repeat(1001),
  'x'.repeat(4001),
  'x'.repeat(20_001),
  '😀',
  '👨‍👩‍👧‍👦 family',
  '🏳️‍🌈',
  'e\u0301\u0301\u0301',
  'Z̷̢̛a̸l̵g̶o̴',
  '\u202Egnp.exe',
  'مرحبا بالعالم',
  'שלום עולם',
  '\u200B',
  '\u200B\u200C\u200D\u2060',
  '\uFEFF',
  '\u2028\u2029',
  '\u0085',
  'a\u0000b',
  '\u0000',
  '\u0007\u001b[31mred',
  '\u007f',
  '\ud800',
  'x\udc00y',
  '\ud83d',
  '\udfff\ud800',
  raw('"\\ud800"'),
  raw('"lone \\udc00 low"'),
  raw('"\\u0000"'),
  raw('"\\uDBFF\\uDBFF"'),
  'ＡＢＣ',
  'İı ß ﬁ',
  "'; DROP TABLE units; --",
  "1' OR '1'='1",
  '<script>alert(1)</script>',
  '{{7*7}}',
  '${jndi:ldap://example.invalid/a}',
  '%s%s%s%n',
  '../../etc/passwd',
  '\\',
  '"',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  'toString',
  ' padded ',
];

/** Numbers as JSON text, including what JSON.stringify cannot write. */
const NASTY_NUMBERS: unknown[] = [
  raw('1e308'),
  raw('-1e308'),
  raw('1e400'),
  raw('-1e400'),
  raw('-0'),
  raw('-0.0'),
  raw('1e-400'),
  raw('5e-324'),
  raw('1.7976931348623157e308'),
  raw('2147483647'),
  raw('2147483648'),
  raw('-2147483648'),
  raw('-2147483649'),
  raw('9007199254740993'),
  raw('123456789012345678901234567890'),
  raw('1000000000000001'),
  raw('0.30000000000000004'),
  raw('1E2'),
  raw('100.0'),
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '0x10',
  '42',
  -1,
  0,
  0.5,
  1,
  1.0000001,
  100,
  101,
  1e15,
  -1e15,
  1e16,
];

const NASTY_DATES: unknown[] = [
  '',
  'next tuesday',
  '2027-02-30T00:00:00Z',
  '2027-13-01T00:00:00Z',
  '2027-01-01T24:00:00Z',
  '2027-01-01T23:59:60Z',
  '2027-01-01',
  '2027-01-01T00:00:00',
  '2027-01-01T00:00:00+14:00',
  '2027-01-01T00:00:00.123456789Z',
  '2027-01-15T09:00:00-12:00',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  1735689600000,
  '1735689600',
  raw('1e400'),
];

/** Values of the wrong JSON type for any field. */
const WRONG_TYPES: unknown[] = [
  42,
  -1,
  3.14,
  true,
  false,
  [],
  ['a'],
  [1, 2],
  [null],
  {},
  { a: 1 },
  { id: 'x' },
  'a string',
  raw('{"__proto__":{"polluted":true}}'),
  raw('{"constructor":{"prototype":{"polluted":true}}}'),
  raw(`${'['.repeat(2000)}${']'.repeat(2000)}`),
  raw(`${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`),
];

const loneSurrogates = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 8 });
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  loneSurrogates,
);
const nastyString = fc.oneof({ arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 3 }, { arbitrary: anyString, weight: 2 });

/** Non-finite, huge, tiny and negative numbers; fast-check's doubles include the infinities and NaN. */
const nastyNumber = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_NUMBERS), weight: 3 },
  { arbitrary: fc.double(), weight: 2 },
  { arbitrary: fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }), weight: 1 },
  { arbitrary: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => raw(n.toString())), weight: 1 },
);

const realisticText = fc.constantFrom(
  'Make payment failures rare',
  'Reduce churn from 5% to 3%',
  'Improve onboarding',
  'Vendor outage budget agreed',
  'Retries were the cheap win',
  'Leistung verbessern – schneller 🚀',
  'تحسين الأداء',
  'Quarterly note',
);
const goodText = fc.oneof({ arbitrary: realisticText, weight: 3 }, { arbitrary: fc.string({ minLength: 1, maxLength: 60 }), weight: 2 });

// ---------------------------------------------------------------------------------------------
// Fields

type Kind =
  | { t: 'id'; pool: keyof typeof pool }
  | { t: 'text' }
  | { t: 'int'; min: number; max: number }
  | { t: 'float'; min: number; max: number }
  | { t: 'enum'; values: string[] }
  | { t: 'bool' }
  | { t: 'date' }
  | { t: 'key' }
  | { t: 'quarterKey' }
  | { t: 'calibrations' }
  | { t: 'ids'; pool: keyof typeof pool };

interface Field {
  name: string;
  kind: Kind;
  required: boolean;
}

const f = (name: string, kind: Kind, required = false): Field => ({ name, kind, required });
const id = (p: keyof typeof pool) => ({ t: 'id', pool: p }) as const;
const TEXT = { t: 'text' } as const;
const KEY = f('idempotencyKey', { t: 'key' });
const VERSION = f('expectedVersion', { t: 'int', min: 0, max: 6 });

const pick = <T>(values: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...values);
const iso = (from: string, to: string) =>
  fc.date({ min: new Date(from), max: new Date(to), noInvalidDate: true }).map((d) => d.toISOString());

function goodValue(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind.t) {
    case 'id':
      return pick(pool[kind.pool]);
    case 'text':
      return goodText;
    case 'int':
      return fc.integer({ min: kind.min, max: kind.max });
    case 'float':
      return fc.oneof(fc.double({ min: kind.min, max: kind.max, noNaN: true, noDefaultInfinity: true }), fc.integer({ min: Math.ceil(kind.min), max: Math.floor(kind.max) }));
    case 'enum':
      return pick(kind.values);
    case 'bool':
      return fc.boolean();
    case 'date':
      return iso('2026-01-01T00:00:00Z', '2027-12-31T00:00:00Z');
    case 'key':
      return fc.oneof(pick(['fuzz-key-1', 'fuzz-key-2', 'fuzz-key-3']), fc.uuid());
    case 'quarterKey':
      return fc.oneof(pick(['2027-Q1', '2026-Q3']), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/));
    case 'ids':
      return fc.array(pick(pool[kind.pool]), { maxLength: 3 });
    case 'calibrations':
      return fc.array(
        fc.record(
          {
            keyResultId: pick(pool.keyResults),
            calibration: pick(['RIGHT', 'TOO_EASY', 'TOO_HARD']),
            note: fc.option(goodText, { nil: undefined }),
          },
          { requiredKeys: ['keyResultId', 'calibration'] },
        ),
        { maxLength: 3 },
      );
  }
}

function hostileValue(kind: Kind): fc.Arbitrary<unknown> {
  const other = pick([...pool.units, ...pool.quarters, ...pool.objectives, ...pool.keyResults]);
  switch (kind.t) {
    case 'id':
      return fc.oneof(
        pick(['no-such-id', '00000000-0000-0000-0000-000000000000', 'unit-1', 'objective:1', '*', '%', '..']),
        fc.uuid(),
        other,
        pick(pool[kind.pool]).map((v) => ` ${v} `),
        pick(pool[kind.pool]).map((v) => v.toUpperCase()),
        nastyString,
        fc.integer().map((n) => n),
      );
    case 'text':
    case 'key':
    case 'quarterKey':
      return nastyString;
    case 'int':
    case 'float':
      return nastyNumber;
    case 'enum':
      return fc.oneof(pick([...kind.values.map((v) => v.toLowerCase()), 'SQUAD', '', `${kind.values[0]} `, 'null', 0, 1]), nastyString);
    case 'bool':
      return pick(['true', 'false', 1, 0, 'yes', '', []]);
    case 'date':
      return fc.oneof(pick(NASTY_DATES), nastyString, fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
    case 'ids':
      return fc.oneof(
        fc.array(hostileValue({ t: 'id', pool: kind.pool }), { maxLength: 4 }),
        pick(pool[kind.pool]).map((k) => Array.from({ length: 101 }, () => k)),
        pick([[null], [[]], [{}], 'not-a-list', [''], ['x'.repeat(101)]]),
      );
    case 'calibrations': {
      const item = fc.record({ keyResultId: fc.oneof(pick(pool.keyResults), hostileValue({ t: 'id', pool: 'keyResults' })), calibration: fc.oneof(pick(['RIGHT', 'TOO_EASY']), hostileValue({ t: 'enum', values: ['RIGHT'] })), note: fc.option(nastyString, { nil: undefined }) });
      return fc.oneof(
        fc.array(item, { maxLength: 4 }),
        pick(pool.keyResults).map((kr) => Array.from({ length: 101 }, () => ({ keyResultId: kr, calibration: 'RIGHT' }))),
        pick(pool.keyResults).map((kr) => [{ keyResultId: kr, calibration: 'RIGHT' }, { keyResultId: kr, calibration: 'TOO_HARD' }]),
        pick([[null], [{}], [[]], ['RIGHT'], { keyResultId: 'x', calibration: 'RIGHT' }, [{ keyResultId: 'x', calibration: 'RIGHT', extra: 1 }]]),
      );
    }
  }
}

/** Any value for a field: mostly good, often hostile, sometimes the wrong type, null or absent. */
function fieldValue(field: Field): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: goodValue(field.kind), weight: 7 },
    { arbitrary: hostileValue(field.kind), weight: 4 },
    { arbitrary: pick(WRONG_TYPES), weight: 2 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

function spoiled(field: Field): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: hostileValue(field.kind), weight: 4 },
    { arbitrary: pick(WRONG_TYPES), weight: 2 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

// ---------------------------------------------------------------------------------------------
// Mutations

interface Mutation {
  name: string;
  /** The operation; its one variable is $i (the input object), or $id for closeQuarter. */
  query: string;
  variable: string;
  fields: Field[];
  /** A command that makes sense against the organisation (it may still be refused by the state). */
  coherent: () => fc.Arbitrary<Record<string, unknown>>;
  /** Where an accepted command's new id goes. */
  collect?: keyof typeof pool;
}

const op = (name: string, input: string, selection: string) =>
  `mutation Fuzz($i: ${input}!) { ${name}(input: $i) { ${selection} } }`;

const LEVELS = ['COMPANY', 'FUNCTION', 'TEAM'];
const ACTIVITIES = ['SETTING', 'CHECK_IN', 'SCORING', 'RETROSPECTIVE'];
const baselineTarget = fc
  .tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 500 }), fc.boolean())
  .map(([b, d, up]) => ({ baseline: b / 10, target: (up ? b + d : b - d) / 10 }));

const MUTATIONS: Mutation[] = [
  {
    name: 'registerUnit',
    query: op('registerUnit', 'RegisterUnitInput', 'id'),
    variable: 'i',
    collect: 'units',
    fields: [f('name', TEXT, true), f('level', { t: 'enum', values: LEVELS }, true), f('parentId', id('units')), KEY],
    coherent: () =>
      fc.oneof(
        fc.record({ name: goodText, level: fc.constant('TEAM'), parentId: fc.constant(pool.units[1]) }),
        fc.record({ name: goodText, level: fc.constant('FUNCTION'), parentId: fc.constant(pool.units[0]) }),
        fc.record({ name: goodText, level: fc.constant('COMPANY') }),
      ),
  },
  {
    name: 'setCheckInCadence',
    query: op('setCheckInCadence', 'SetCheckInCadenceInput', 'id checkInCadence'),
    variable: 'i',
    fields: [f('unitId', id('units'), true), f('cadence', { t: 'enum', values: ['BIWEEKLY', 'MONTHLY'] }, true), KEY],
    coherent: () => fc.record({ unitId: pick(pool.units), cadence: pick(['BIWEEKLY', 'MONTHLY']) }),
  },
  {
    name: 'planQuarter',
    query: op('planQuarter', 'PlanQuarterInput', 'id phase'),
    variable: 'i',
    collect: 'quarters',
    fields: [f('id', { t: 'quarterKey' }, true), f('startsOn', { t: 'date' }, true), f('endsOn', { t: 'date' }, true), f('settingOpensOn', { t: 'date' }), KEY],
    coherent: () =>
      fc
        .tuple(fc.stringMatching(/^fz-[a-z0-9]{1,12}$/), fc.date({ min: new Date('2025-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 1, max: 366 }))
        .map(([key, start, days]) => ({
          id: key,
          startsOn: start.toISOString(),
          endsOn: new Date(start.getTime() + days * 86_400_000).toISOString(),
        })),
  },
  {
    name: 'closeQuarter',
    query: `mutation Fuzz($id: ID!) { closeQuarter(id: $id) { id phase } }`,
    variable: 'id',
    fields: [f('id', id('quarters'), true)],
    coherent: () => fc.record({ id: pick(pool.quarters) }),
  },
  {
    name: 'draftObjective',
    query: op('draftObjective', 'DraftObjectiveInput', 'id'),
    variable: 'i',
    collect: 'objectives',
    fields: [
      f('unitId', id('units'), true),
      f('quarterId', id('quarters'), true),
      f('title', TEXT, true),
      f('description', TEXT),
      f('aspirational', { t: 'bool' }),
      f('parentId', id('objectives')),
      KEY,
    ],
    coherent: () =>
      fc.record(
        { unitId: pick(pool.units.slice(2)), quarterId: fc.constant('2027-Q1'), title: goodText, description: fc.option(goodText, { nil: undefined }), aspirational: fc.option(fc.boolean(), { nil: undefined }) },
        { requiredKeys: ['unitId', 'quarterId', 'title'] },
      ),
  },
  {
    name: 'refineObjective',
    query: op('refineObjective', 'RefineObjectiveInput', 'id version'),
    variable: 'i',
    fields: [f('id', id('objectives'), true), f('title', TEXT), f('description', TEXT), VERSION, KEY],
    coherent: () => fc.record({ id: pick(pool.objectives), title: goodText, description: fc.option(goodText, { nil: null }) }),
  },
  {
    name: 'alignObjective',
    query: op('alignObjective', 'AlignObjectiveInput', 'id version'),
    variable: 'i',
    fields: [f('id', id('objectives'), true), f('parentId', id('objectives')), VERSION, KEY],
    coherent: () => fc.record({ id: pick(pool.objectives), parentId: fc.option(pick(pool.objectives), { nil: null }) }),
  },
  {
    name: 'commitObjective',
    query: op('commitObjective', 'CommitObjectiveInput', 'id status'),
    variable: 'i',
    fields: [f('id', id('objectives'), true), VERSION, KEY],
    coherent: () => fc.record({ id: pick(pool.objectives) }),
  },
  {
    name: 'defineKeyResult',
    query: op('defineKeyResult', 'DefineKeyResultInput', 'id direction'),
    variable: 'i',
    collect: 'keyResults',
    fields: [
      f('objectiveId', id('objectives'), true),
      f('title', TEXT, true),
      f('metric', TEXT, true),
      f('unit', TEXT),
      f('baseline', { t: 'float', min: -1000, max: 1000 }, true),
      f('target', { t: 'float', min: -1000, max: 1000 }, true),
      f('direction', { t: 'enum', values: ['INCREASE', 'DECREASE'] }),
      f('kind', { t: 'enum', values: ['OUTCOME', 'OUTPUT'] }),
      KEY,
    ],
    coherent: () =>
      fc
        .tuple(pick(pool.objectives), goodText, goodText, baselineTarget)
        .map(([objectiveId, title, metric, bt]) => ({ objectiveId, title, metric, ...bt })),
  },
  {
    name: 'reviseKeyResult',
    query: op('reviseKeyResult', 'ReviseKeyResultInput', 'id version'),
    variable: 'i',
    fields: [
      f('id', id('keyResults'), true),
      f('reason', TEXT, true),
      f('title', TEXT),
      f('metric', TEXT),
      f('unit', TEXT),
      f('baseline', { t: 'float', min: -1000, max: 1000 }),
      f('target', { t: 'float', min: -1000, max: 1000 }),
      f('kind', { t: 'enum', values: ['OUTCOME', 'OUTPUT'] }),
      VERSION,
      KEY,
    ],
    coherent: () =>
      fc.record(
        { id: pick(pool.keyResults), reason: goodText, title: fc.option(goodText, { nil: undefined }), unit: fc.option(goodText, { nil: undefined }), kind: fc.option(pick(['OUTCOME', 'OUTPUT']), { nil: undefined }) },
        { requiredKeys: ['id', 'reason'] },
      ),
  },
  {
    name: 'recordCheckIn',
    query: op('recordCheckIn', 'RecordCheckInInput', 'id version'),
    variable: 'i',
    fields: [
      f('keyResultId', id('keyResults'), true),
      f('confidence', { t: 'int', min: 0, max: 100 }, true),
      f('value', { t: 'float', min: -1000, max: 1000 }),
      f('whatChanged', TEXT),
      f('blockers', TEXT),
      f('asOf', { t: 'date' }),
      VERSION,
      KEY,
    ],
    coherent: () =>
      fc.record(
        {
          keyResultId: pick(pool.keyResults),
          confidence: fc.integer({ min: 0, max: 100 }),
          value: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null }),
          whatChanged: fc.option(goodText, { nil: undefined }),
          asOf: fc.option(iso('2027-01-01T00:00:00Z', '2027-01-20T00:00:00Z'), { nil: undefined }),
        },
        { requiredKeys: ['keyResultId', 'confidence'] },
      ),
  },
  {
    name: 'scoreKeyResult',
    query: op('scoreKeyResult', 'ScoreKeyResultInput', 'id score'),
    variable: 'i',
    fields: [f('keyResultId', id('keyResults'), true), f('score', { t: 'float', min: 0, max: 1 }, true), f('note', TEXT), VERSION, KEY],
    coherent: () =>
      fc.record({ keyResultId: pick(pool.keyResults), score: fc.double({ min: 0, max: 1, noNaN: true }), note: fc.option(goodText, { nil: undefined }) }, { requiredKeys: ['keyResultId', 'score'] }),
  },
  {
    name: 'recordRetrospective',
    query: op('recordRetrospective', 'RecordRetrospectiveInput', 'recordedAt'),
    variable: 'i',
    fields: [
      f('unitId', id('units'), true),
      f('quarterId', id('quarters'), true),
      f('learnings', TEXT, true),
      f('calibrations', { t: 'calibrations' }),
      KEY,
    ],
    coherent: () =>
      fc.record({ unitId: pick(pool.units), quarterId: pick(pool.quarters), learnings: goodText, calibrations: fc.constant([]) }),
  },
  {
    name: 'logProcessEffort',
    query: op('logProcessEffort', 'LogProcessEffortInput', 'personDays overBudget'),
    variable: 'i',
    fields: [
      f('unitId', id('units'), true),
      f('quarterId', id('quarters'), true),
      f('activity', { t: 'enum', values: ACTIVITIES }, true),
      f('personDays', { t: 'float', min: 0, max: 10 }, true),
      f('note', TEXT),
      f('occurredOn', { t: 'date' }),
      KEY,
    ],
    coherent: () =>
      fc.record(
        {
          unitId: pick(pool.units),
          quarterId: pick(pool.quarters),
          activity: pick(ACTIVITIES),
          personDays: fc.double({ min: 0.05, max: 3, noNaN: true }),
          note: fc.option(goodText, { nil: undefined }),
        },
        { requiredKeys: ['unitId', 'quarterId', 'activity', 'personDays'] },
      ),
  },
  {
    name: 'retireObjective',
    query: op('retireObjective', 'RetireObjectiveInput', 'id status'),
    variable: 'i',
    fields: [f('id', id('objectives'), true), f('reason', TEXT, true), VERSION, KEY],
    coherent: () => fc.record({ id: pick(pool.objectives), reason: goodText }),
  },
  {
    name: 'addWebhook',
    query: op('addWebhook', 'AddWebhookInput', 'secret webhook { id state }'),
    variable: 'i',
    fields: [f('unitId', id('units'), true), f('url', TEXT, true), f('kind', { t: 'enum', values: ['SLACK', 'SIGNED_JSON'] }, true), f('secret', TEXT)],
    coherent: () =>
      fc.record(
        {
          unitId: pick(pool.units),
          url: pick([WEBHOOK_URL, `${WEBHOOK_URL}?team=a&b=%20`, 'http://[::1]:9/okr-hook']),
          kind: pick(['SLACK', 'SIGNED_JSON']),
          causes: fc.subarray(['QUARTER_PHASE', 'FORGOTTEN_CHECK_IN', 'HEALTH_PROBLEM'], { minLength: 1 }),
        },
        { requiredKeys: ['unitId', 'url', 'kind'] },
      ),
  },
  {
    name: 'pauseWebhook',
    query: `mutation Fuzz($id: ID!) { pauseWebhook(id: $id) { id state } }`,
    variable: 'id',
    fields: [f('id', id('webhooks'), true)],
    coherent: () => fc.record({ id: pick(pool.webhooks) }),
  },
  {
    name: 'resumeWebhook',
    query: `mutation Fuzz($id: ID!) { resumeWebhook(id: $id) { id state } }`,
    variable: 'id',
    fields: [f('id', id('webhooks'), true)],
    coherent: () => fc.record({ id: pick(pool.webhooks) }),
  },
  {
    name: 'removeWebhook',
    query: `mutation Fuzz($id: ID!) { removeWebhook(id: $id) { id state } }`,
    variable: 'id',
    fields: [f('id', id('webhooks'), true)],
    coherent: () => fc.record({ id: pick(pool.webhooks) }),
  },
  {
    name: 'recordMeasurement',
    query: op('recordMeasurement', 'RecordMeasurementInput', 'id current currentSource version'),
    variable: 'i',
    fields: [
      f('keyResultId', id('keyResults'), true),
      f('value', { t: 'float', min: -1000, max: 1000 }, true),
      f('at', { t: 'date' }),
      f('source', TEXT, true),
      KEY,
    ],
    coherent: () =>
      fc.record(
        {
          keyResultId: pick(pool.keyResults),
          value: fc.integer({ min: -1000, max: 1000 }),
          source: goodText,
          at: fc.option(iso('2027-01-01T00:00:00Z', '2027-01-20T00:00:00Z'), { nil: undefined }),
        },
        { requiredKeys: ['keyResultId', 'value', 'source'] },
      ),
  },
  {
    name: 'carryOverObjective',
    query: op('carryOverObjective', 'CarryOverObjectiveInput', 'id status carriedFrom { id }'),
    variable: 'i',
    collect: 'objectives',
    fields: [f('objectiveId', id('objectives'), true), f('toQuarterId', id('quarters'), true), f('keyResultIds', { t: 'ids', pool: 'keyResults' }), VERSION, KEY],
    coherent: () =>
      fc.oneof(
        fc.record({ objectiveId: pick(carryable), toQuarterId: fc.constant('2027-Q1') }),
        fc.record({ objectiveId: pick(pool.objectives), toQuarterId: pick(pool.quarters) }),
      ),
  },
];

/** The value of the operation's variable: a whole input, or something else entirely. */
function inputArbitrary(m: Mutation): fc.Arbitrary<unknown> {
  const fieldwise = fc.record(Object.fromEntries(m.fields.map((field) => [field.name, fieldValue(field)])) as Record<string, fc.Arbitrary<unknown>>);
  const oneSpoiled = m.coherent().chain((good) =>
    pick(m.fields).chain((field) => spoiled(field).map((bad) => ({ ...good, [field.name]: bad }))),
  );
  const withExtra = m.coherent().chain((good) =>
    pick(['unknownField', 'organisationId', 'actor', '__typename', '__proto__']).map((k) => ({ ...good, [k]: 'x' })),
  );
  const shape: fc.Arbitrary<unknown> = fc.oneof(
    { arbitrary: m.coherent(), weight: 4 },
    { arbitrary: oneSpoiled, weight: 5 },
    { arbitrary: fieldwise, weight: 5 },
    { arbitrary: withExtra, weight: 1 },
    { arbitrary: fc.oneof(pick(WRONG_TYPES), nastyString, fc.constant(null), m.coherent().map((good) => [good])), weight: 1 },
  );
  if (m.variable === 'id') {
    // closeQuarter and the webhook switches take the id itself, not an input object.
    const [idField] = m.fields;
    if (!idField) throw new Error(`${m.name} has no id field`);
    return fc.oneof({ arbitrary: m.coherent().map((c) => c.id), weight: 4 }, { arbitrary: fieldValue(idField), weight: 6 });
  }
  return shape;
}

/** The request body: usually {query, variables}, sometimes variables of the wrong shape. */
function bodyArbitrary(m: Mutation): fc.Arbitrary<string> {
  const normal = inputArbitrary(m).map((value) => `{"query":${JSON.stringify(m.query)},"variables":{${JSON.stringify(m.variable)}:${toJsonText(value)}}}`);
  const odd = pick([
    `{"query":${JSON.stringify(m.query)}}`,
    `{"query":${JSON.stringify(m.query)},"variables":null}`,
    `{"query":${JSON.stringify(m.query)},"variables":[]}`,
    `{"query":${JSON.stringify(m.query)},"variables":"i"}`,
    `{"query":${JSON.stringify(m.query)},"variables":{"other":1}}`,
    `{"query":${JSON.stringify(m.query)},"variables":{"${m.variable}":{},"${m.variable}":null}}`,
  ]);
  return fc.oneof({ arbitrary: normal, weight: 30 }, { arbitrary: odd, weight: 1 });
}

// ---------------------------------------------------------------------------------------------
// The property

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What in a request most likely triggered a problem: strings PostgreSQL cannot store, or nothing special. */
function trigger(body: string): string {
  const found = new Set<string>();
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (value.includes('\u0000')) found.add(`NUL in ${path}`);
      if (LONE_SURROGATE.test(value)) found.add(`lone surrogate in ${path}`);
    } else if (Array.isArray(value)) value.forEach((v) => walk(v, `${path}[]`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
  };
  try {
    walk(JSON.parse(body)?.variables, '');
  } catch {
    return 'unparsable body';
  }
  return found.size > 0 ? [...found].sort().join(', ') : 'no NUL or lone surrogate';
}

function record(s: Stats, kind: string, body: string, res: RawResponse, detail: string): void {
  const key = `${kind} [${trigger(body)}] | ${clip(detail, 160)}`;
  const seen = s.problems.get(key);
  if (seen) {
    seen.count += 1;
    return;
  }
  s.problems.set(key, { count: 1, example: `request: ${clip(body, 400)}\n      response (HTTP ${res.status}): ${clip(res.text, 400)}` });
}

/** A signature of a rejection for the statistics: the first error's code and reason, or the HTTP status. */
function outcome(res: RawResponse): string {
  const error = res.json?.errors?.[0];
  if (!error) return `HTTP ${res.status}`;
  return [error.extensions?.code, error.extensions?.reason].filter(Boolean).join('/') || `HTTP ${res.status}`;
}

/**
 * What the fuzz finds, pinned down without randomness (and run before the fuzz changes the state):
 * PostgreSQL cannot store NUL (U+0000) in text or jsonb, nor an unpaired UTF-16 surrogate in jsonb,
 * yet JSON lets a client send both. Such input must be refused as input (BAD_USER_INPUT, or NOT_FOUND for an id), never answered
 * INTERNAL_SERVER_ERROR or SERVICE_UNAVAILABLE ("retry shortly": a retry can never succeed), and
 * must append nothing.
 */
describe('strings PostgreSQL cannot store', () => {
  const cases: [string, string, (bad: string) => Record<string, unknown>, string[]][] = [
    ['registerUnit name', op('registerUnit', 'RegisterUnitInput', 'id'), (bad) => ({ name: `Acme${bad}`, level: 'COMPANY' }), ['BAD_USER_INPUT']],
    ['registerUnit idempotencyKey', op('registerUnit', 'RegisterUnitInput', 'id'), (bad) => ({ name: 'Acme', level: 'COMPANY', idempotencyKey: `key${bad}` }), ['BAD_USER_INPUT']],
    ['draftObjective title', op('draftObjective', 'DraftObjectiveInput', 'id'), (bad) => ({ unitId: pool.units[2], quarterId: '2027-Q1', title: `Fast${bad}` }), ['BAD_USER_INPUT']],
    ['recordCheckIn whatChanged', op('recordCheckIn', 'RecordCheckInInput', 'id'), (bad) => ({ keyResultId: pool.keyResults[1], confidence: 50, whatChanged: `x${bad}` }), ['BAD_USER_INPUT']],
    ['setCheckInCadence unitId', op('setCheckInCadence', 'SetCheckInCadenceInput', 'id'), (bad) => ({ unitId: `${pool.units[2]}${bad}`, cadence: 'MONTHLY' }), ['BAD_USER_INPUT', 'NOT_FOUND']],
  ];
  const BAD: [string, string][] = [
    ['NUL', '\u0000'],
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', '\udc00'],
  ];

  // Inputs are built inside each test: the ids exist only once beforeAll has run.
  it.each(cases.map(([label, query, input]) => [label, query, input] as const))('%s with a plain string is accepted (control)', async (_label, query, input) => {
    const res = await postText(t.url, JSON.stringify({ query, variables: { i: input('') } }));
    expect(res.json?.errors).toBeUndefined();
  });

  it.each(cases.flatMap(([label, query, input, codes]) => BAD.map(([what, bad]) => [`${label} with ${what}`, query, () => input(bad), codes] as const)))(
    '%s is refused as input and appends nothing',
    async (_label, query, input, codes) => {
      const before = await t.eventCount();
      const res = await postText(t.url, JSON.stringify({ query, variables: { i: input() } }));
      expect(res.status).toBeLessThan(500);
      const code = res.json?.errors?.[0]?.extensions?.code;
      if (!codes.includes(code)) throw new Error(`expected ${codes.join(' or ')}, got ${String(code)}: ${clip(res.text, 300)}`);
      expect(await t.eventCount()).toBe(before);
    },
  );

  it.each([
    ['unit(id:)', `query($s: ID!) { unit(id: $s) { id } }`],
    ['objective(id:)', `query($s: ID!) { objective(id: $s) { id } }`],
    ['events(streamId:)', `query($s: String) { events(streamId: $s) { edges { cursor } } }`],
  ])('a query argument %s with NUL is answered, not SERVICE_UNAVAILABLE', async (_label, query) => {
    const res = await postText(t.url, JSON.stringify({ query, variables: { s: 'a\u0000b' } }));
    expect(res.status).toBeLessThan(500);
    expect(responseProblems(res, MAX_BODY, 0)).toEqual([]);
    const code = res.json?.errors?.[0]?.extensions?.code;
    if (code === 'SERVICE_UNAVAILABLE') throw new Error(`answered SERVICE_UNAVAILABLE while the database is up: ${clip(res.text, 300)}`);
  });
});

describe('fuzzing every mutation over HTTP', () => {
  it('covers every mutation of the schema', async () => {
    const res = await t.gql(`{ __schema { mutationType { fields { name } } } }`);
    const names = (res.data?.__schema.mutationType.fields as { name: string }[]).map((x) => x.name).sort();
    // recordCheckpoint has no input to fuzz; test/audit*.test.ts and the auth tests cover it.
    expect(names).toEqual([...MUTATIONS.map((m) => m.name), 'recordCheckpoint'].sort());
  });

  it.each(MUTATIONS.map((m, index) => [m.name, m, index] as const))('%s: no 5xx, stable codes, no leaks, a rejected command appends nothing', async (_name, m, index) => {
    const s: Stats = { runs: 0, accepted: 0, appended: 0, rejected: {}, problems: new Map() };
    stats.set(m.name, s);
    await fc.assert(
      fc.asyncProperty(bodyArbitrary(m), async (body) => {
        s.runs += 1;
        const before = await t.eventCount();
        let res: RawResponse;
        try {
          res = await postText(t.url, body);
        } catch (error) {
          const none: RawResponse = { status: 0, contentType: '', text: String(error), json: undefined };
          record(s, 'request failed', body, none, String((error as Error)?.cause ?? error));
          return;
        }
        const after = await t.eventCount();
        // The database stays up throughout, so SERVICE_UNAVAILABLE can only be a misread input error.
        for (const error of Array.isArray(res.json?.errors) ? res.json.errors : []) {
          if (error?.extensions?.code === 'SERVICE_UNAVAILABLE') record(s, 'SERVICE_UNAVAILABLE while the database is up', body, res, JSON.stringify(error));
        }
        const bytes = Buffer.byteLength(body);
        for (const p of responseProblems(res, MAX_BODY, bytes)) record(s, p.kind, body, res, p.detail);
        const value = res.json?.data?.[m.name];
        const hasErrors = Array.isArray(res.json?.errors) && res.json.errors.length > 0;
        const accepted = res.status === 200 && !hasErrors && value != null;
        if (accepted) {
          s.accepted += 1;
          if (after > before) s.appended += 1;
          if (m.collect && typeof value.id === 'string' && !pool[m.collect].includes(value.id)) pool[m.collect].push(value.id);
        } else {
          const key = outcome(res);
          s.rejected[key] = (s.rejected[key] ?? 0) + 1;
        }
        if (!accepted && after !== before) {
          record(s, 'rejected command appended', body, res, `log ${before} -> ${after}; ${outcome(res)}`);
        }
        if (after < before) record(s, 'log shrank', body, res, `${before} -> ${after}`);
      }),
      { numRuns: RUNS, seed: SEED + index, endOnFailure: true },
    );
    if (s.problems.size > 0) {
      const lines = [...s.problems.entries()].map(([key, p]) => `  [${p.count}x] ${key}\n      ${p.example}`);
      throw new Error(`${m.name}: ${s.problems.size} distinct problem(s) in ${s.runs} runs (seed ${SEED + index}):\n${lines.join('\n')}`);
    }
    expect(s.runs).toBe(RUNS);
  }, 60_000);

  it('accepted some commands of every kind (the inputs reach the domain, not just the edge)', () => {
    expect([...stats.keys()].sort()).toEqual(MUTATIONS.map((m) => m.name).sort());
    for (const [name, s] of stats) expect({ name, accepted: s.accepted > 0 }).toEqual({ name, accepted: true });
  });

  it('leaves a log whose length matches its head, whose hash chain verifies, and which reads back', async () => {
    const rows = await t.db.sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events');
    expect(Number(rows[0]?.n)).toBe(await t.eventCount());
    const audit = await t.gql(`{ verifyAuditLog { ok eventsChecked firstBrokenPosition reason } }`);
    expect(audit.errors).toBeUndefined();
    expect(audit.data?.verifyAuditLog.ok).toBe(true);
    // What the fuzz stored (unicode, long texts) must read back without errors.
    const reads = [
      `{ units { id name level checkInCadence parent { id } children { id } } }`,
      `{ quarters { id startsOn endsOn settingOpensOn phase } }`,
      `{ objectives(quarterId: "2027-Q1") { id title description status score version parent { id } contributors { id } keyResults { id title metric unit baseline target current confidence score revisions { reason changes { field from to } } checkIns { asOf confidence value whatChanged blockers } } } }`,
      `{ retrospectives(quarterId: "2027-Q1") { learnings calibrations { calibration note keyResult { id } } } }`,
      `{ effortAudit(quarterId: "2027-Q1") { personDays overBudget byActivity { activity personDays } } }`,
      `{ health(quarterId: "2027-Q1") { rule severity message subjectId } }`,
      `{ confidenceTrends(quarterId: "2027-Q1") { points { at confidence value } } }`,
      `{ events(first: 500) { edges { node { position type data } } pageInfo { hasNextPage } } }`,
    ];
    for (const query of reads) {
      const res = await postText(t.url, JSON.stringify({ query }));
      expect({ query, problems: responseProblems(res, MAX_BODY, 0) }).toEqual({ query, problems: [] });
      expect({ query, errors: res.json?.errors }).toEqual({ query, errors: undefined });
    }
  }, 60_000);
});

