import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { getNamedType, getNullableType, isInputObjectType, isListType, type GraphQLInputType } from 'graphql';
import { jwtAuthenticator } from '../../src/auth';
import { okrSchema } from '../../schema/build';
import { startTestServer, type TestServer } from '../support/server';
import { versionedId } from '../support/versioned';

/**
 * Relay Global Object Identification over HTTP against the real server: every object with an id can
 * be fetched again by it (node, nodes) and is the same object; ids are unique across types and
 * scoped to the caller's organisation; a versioned id (<id>@<instant>) names the object as it was
 * then, everywhere an id is accepted, and is refused where only the present can change.
 */

const SECRET = 'test-secret-that-is-at-least-32-characters-long';
const Q = '2027-Q1';
const T1 = '2027-01-20T00:00:00.000Z';
let t: TestServer;
const tokens: Record<string, string> = {};
const ids: Record<string, any> = {};

const mint = (org: string, sub: string) =>
  new SignJWT({ org, role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

async function ok(query: string, variables?: Record<string, unknown>, token = tokens.a): Promise<any> {
  const res = await t.gql(query, variables, token);
  if (res.errors?.length) throw new Error(`unexpected errors for ${query.slice(0, 80)}: ${JSON.stringify(res.errors)}`);
  return res.data;
}

async function fails(query: string, variables?: Record<string, unknown>, token = tokens.a) {
  const res = await t.gql(query, variables, token);
  if (!res.errors?.length) throw new Error(`expected an error for ${query.slice(0, 80)}, got ${JSON.stringify(res.data)}`);
  return { code: res.errors[0]?.extensions?.code, reason: res.errors[0]?.extensions?.reason, message: res.errors[0]?.message };
}

const at = (iso: string) => t.clock.set(iso);

/** The fields each type is compared on, when fetched through node and through its usual query. */
const FIELDS = {
  Unit: 'id name level checkInCadence parent { id } children { id }',
  Quarter: 'id startsOn endsOn settingOpensOn phase',
  Objective: 'id title description status version unit { id } quarter { id phase } parent { id } keyResults { id }',
  KeyResult: 'id title target current confidence version objective { id } checkIns { id confidence }',
  CheckIn: 'id asOf recordedAt confidence value author',
  Retrospective: 'id learnings recordedAt unit { id } quarter { id } calibrations { calibration keyResult { id } }',
  Event: 'id position streamId version type recordedAt actor data',
} as const;
type NodeType = keyof typeof FIELDS;

/** node(id:) with the fields of `type` (fragments on several types could not ask for both confidences). */
const NODE = (type?: NodeType) => `query($id: ID!) { node(id: $id) { __typename id ${type ? `... on ${type} { ${FIELDS[type]} }` : ''} } }`;
const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`;
const node = async (id: string, type?: NodeType, token = tokens.a) => (await ok(NODE(type), { id }, token)).node;

beforeAll(async () => {
  t = await startTestServer('nodes', '2026-12-01T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  tokens.a = await mint('org-a', 'ada');
  tokens.b = await mint('org-b', 'bob');

  const unit = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  ids.company = (await ok(unit, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  ids.fn = (await ok(unit, { i: { name: 'Engineering', level: 'FUNCTION', parentId: ids.company } })).registerUnit.id;
  ids.team = (await ok(unit, { i: { name: 'Payments', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
  await ok(`mutation { planQuarter(input: { id: "${Q}", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  at('2026-12-15T09:00:00Z');
  const draft = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
  ids.fnObjective = (await ok(draft, { i: { unitId: ids.fn, quarterId: Q, title: 'Reliable core services' } })).draftObjective.id;
  ids.objective = (await ok(draft, { i: { unitId: ids.team, quarterId: Q, title: 'Make payment failures rare', parentId: ids.fnObjective } }))
    .draftObjective.id;
  const define = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;
  ids.kr = (await ok(define, { i: { objectiveId: ids.objective, title: 'Reduce failed payments from 2% to 1%', metric: '%', baseline: 2, target: 1 } }))
    .defineKeyResult.id;
  at('2027-01-14T09:00:00Z');
  await ok(`mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 60, value: 1.8 }) { id } }`, { k: ids.kr });
  at('2027-02-10T09:00:00Z');
  await ok(`mutation($id: ID!) { refineObjective(input: { id: $id, title: "Payments that never fail" }) { id } }`, { id: ids.objective });
  await ok(`mutation($k: ID!) { reviseKeyResult(input: { id: $k, reason: "Measured again", target: 1.2 }) { id } }`, { k: ids.kr });
  await ok(`mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 45, value: 1.5 }) { id } }`, { k: ids.kr });
  await ok(`mutation($u: ID!) { setCheckInCadence(input: { unitId: $u, cadence: MONTHLY }) { id } }`, { u: ids.team });
  at('2027-04-05T09:00:00Z');
  await ok(`mutation($u: ID!, $k: ID!) { recordRetrospective(input: { unitId: $u, quarterId: "${Q}", learnings: "Retries were cheap",
    calibrations: [{ keyResultId: $k, calibration: RIGHT }] }) { id } }`, { u: ids.team, k: ids.kr });
  at('2027-04-10T09:00:00Z');

  // Another organisation, with a quarter of the same human key.
  ids.bUnit = (await ok(unit, { i: { name: 'Beta', level: 'COMPANY' } }, tokens.b)).registerUnit.id;
  await ok(`mutation { planQuarter(input: { id: "${Q}", startsOn: "2027-01-04T00:00:00Z", endsOn: "2027-04-04T00:00:00Z" }) { id } }`, undefined, tokens.b);
});
afterAll(() => t.close());

/** The present ids of one object of each type, and each fetched through its usual query. */
async function present(): Promise<Record<NodeType, { id: string; usual: any }>> {
  const objective = (await ok(`query($id: ID!) { objective(id: $id) { ${FIELDS.Objective} keyResults { ${FIELDS.KeyResult} checkIns { ${FIELDS.CheckIn} } } } }`,
    { id: ids.objective })).objective;
  const keyResult = objective.keyResults[0];
  const retrospective = (await ok(`query($u: ID) { retrospectives(quarterId: "${Q}", unitId: $u) { ${FIELDS.Retrospective} } }`, { u: ids.team }))
    .retrospectives[0];
  const event = (await ok(`{ events(first: 1, streamId: "keyResult-${ids.kr}") { edges { node { ${FIELDS.Event} } } } }`)).events.edges[0].node;
  const unit = (await ok(`query($id: ID!) { unit(id: $id) { ${FIELDS.Unit} } }`, { id: ids.team })).unit;
  const quarter = (await ok(`{ quarter(id: "${Q}") { ${FIELDS.Quarter} } }`)).quarter;
  return {
    Unit: { id: unit.id, usual: unit },
    Quarter: { id: quarter.id, usual: quarter },
    Objective: { id: objective.id, usual: objectiveOnly(objective) },
    KeyResult: { id: keyResult.id, usual: keyResultOnly(keyResult) },
    CheckIn: { id: keyResult.checkIns[0].id, usual: keyResult.checkIns[0] },
    Retrospective: { id: retrospective.id, usual: retrospective },
    Event: { id: event.id, usual: event },
  };
}

/** Of an objective answered with more fields, those of FIELDS.Objective. */
const objectiveOnly = (o: any) => ({
  id: o.id,
  title: o.title,
  description: o.description,
  status: o.status,
  version: o.version,
  unit: { id: o.unit.id },
  quarter: { id: o.quarter.id, phase: o.quarter.phase },
  parent: o.parent && { id: o.parent.id },
  keyResults: o.keyResults.map((k: any) => ({ id: k.id })),
});
/** Of a key result answered with more fields, those of FIELDS.KeyResult. */
const keyResultOnly = (k: any) => ({
  id: k.id,
  title: k.title,
  target: k.target,
  current: k.current,
  confidence: k.confidence,
  version: k.version,
  objective: { id: k.objective.id },
  checkIns: k.checkIns.map((c: any) => ({ id: c.id, confidence: c.confidence })),
});

describe('ids', () => {
  it('are what the README says: UUIDs, the quarter key, and <Type>:<key> for check-ins, events and retrospectives', async () => {
    const p = await present();
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(p.Unit.id).toMatch(uuid);
    expect(p.Objective.id).toMatch(uuid);
    expect(p.KeyResult.id).toMatch(uuid);
    expect(p.Quarter.id).toBe(Q);
    expect(p.CheckIn.id).toBe(`CheckIn:keyResult-${ids.kr}/2`);
    expect(p.Event.id).toBe(`Event:keyResult-${ids.kr}/1`);
    expect(p.Retrospective.id).toBe(`Retrospective:${ids.team}/${Q}`);
  });

  it('are unique across every type, now and at an instant: no id names objects of two types', async () => {
    const everything = await ok(`query($at: DateTime) {
      units { __typename id } quarters { __typename id } retrospectives(quarterId: "${Q}") { __typename id }
      objectives(quarterId: "${Q}") { __typename id keyResults { __typename id checkIns { __typename id } } }
      then: objectives(quarterId: "${Q}", asOf: $at) { __typename id unit { __typename id } quarter { __typename id }
        keyResults { __typename id checkIns { __typename id } } }
      events(first: 500) { edges { node { __typename id } } } }`, { at: T1 });
    const types = new Map<string, Set<string>>();
    JSON.stringify(everything, (_key, value) => {
      if (value && typeof value === 'object' && typeof value.id === 'string') {
        types.set(value.id, (types.get(value.id) ?? new Set()).add(value.__typename));
      }
      return value;
    });
    expect(types.size).toBeGreaterThan(25);
    expect([...types.entries()].filter(([, names]) => names.size > 1)).toEqual([]);
    expect(new Set([...types.values()].map((names) => [...names][0]))).toEqual(
      new Set(['Unit', 'Quarter', 'Retrospective', 'Objective', 'KeyResult', 'CheckIn', 'Event']),
    );
  });
});

describe('node and nodes', () => {
  it.each(Object.keys(FIELDS) as NodeType[])('refetches a %s by its id: the same object its usual query answers', async (type) => {
    const p = (await present())[type];
    expect(await node(p.id, type)).toEqual({ __typename: type, ...p.usual });
  });

  it('refetches the objects of an answer about the past by their versioned ids: the same objects as then', async () => {
    const then = (await ok(`query($id: ID!, $at: DateTime) { objective(id: $id, asOf: $at) {
      ${FIELDS.Objective} unit { ${FIELDS.Unit} } quarter { ${FIELDS.Quarter} }
      keyResults { ${FIELDS.KeyResult} checkIns { ${FIELDS.CheckIn} } } } }`, { id: ids.objective, at: T1 })).objective;
    expect(then).toMatchObject({ id: versionedId(ids.objective, T1), title: 'Make payment failures rare', unit: { checkInCadence: 'BIWEEKLY' } });
    const keyResult = then.keyResults[0];
    expect(keyResult).toMatchObject({ id: versionedId(ids.kr, T1), target: 1, confidence: 60 });
    expect(await node(then.id, 'Objective')).toEqual({ __typename: 'Objective', ...objectiveOnly(then) });
    expect(await node(then.unit.id, 'Unit')).toEqual({ __typename: 'Unit', ...then.unit });
    expect(await node(then.quarter.id, 'Quarter')).toEqual({ __typename: 'Quarter', ...then.quarter });
    expect(await node(keyResult.id, 'KeyResult')).toEqual({ __typename: 'KeyResult', ...keyResultOnly(keyResult) });
    expect(keyResult.checkIns).toHaveLength(1);
    expect(keyResult.checkIns[0].id).toBe(versionedId(`CheckIn:keyResult-${ids.kr}/2`, T1));
    expect(await node(keyResult.checkIns[0].id, 'CheckIn')).toEqual({ __typename: 'CheckIn', ...keyResult.checkIns[0] });
  });

  it('answers an object as it was at any versioned id\'s instant, in any spelling of it, and null before it existed', async () => {
    expect(await node(versionedId(ids.objective, '2027-03-01T00:00:00Z'), 'Objective')).toMatchObject({ title: 'Payments that never fail' });
    const spelled = await node(`${ids.objective}@2027-01-20T01:00:00+01:00`, 'Objective');
    expect(spelled).toMatchObject({ id: versionedId(ids.objective, T1), title: 'Make payment failures rare' });
    expect(await node(versionedId(ids.objective, '2026-12-10T00:00:00Z'))).toBeNull();
    expect(await node(versionedId(`Retrospective:${ids.team}/${Q}`, T1))).toBeNull();
    expect(await node(versionedId(`Retrospective:${ids.team}/${Q}`, '2027-04-06T00:00:00Z'), 'Retrospective')).toMatchObject({ learnings: 'Retries were cheap' });
    // Events never change: no answer carries a versioned event id, and such an id names nothing.
    expect(await node(versionedId(`Event:keyResult-${ids.kr}/1`, T1))).toBeNull();
  });

  it('nodes answers each id in order, null where an id names nothing, and refuses more than 100 ids', async () => {
    const p = await present();
    const wanted = [p.Quarter.id, 'no-such-id', p.CheckIn.id, versionedId(p.Unit.id, T1), p.Event.id, `CheckIn:keyResult-${ids.kr}/99`];
    expect((await ok(NODES, { ids: wanted })).nodes).toEqual([
      { __typename: 'Quarter', id: Q },
      null,
      { __typename: 'CheckIn', id: p.CheckIn.id },
      { __typename: 'Unit', id: versionedId(p.Unit.id, T1) },
      { __typename: 'Event', id: p.Event.id },
      null,
    ]);
    expect((await ok(NODES, { ids: Array(100).fill(Q) })).nodes).toHaveLength(100);
    expect(await fails(NODES, { ids: Array(101).fill(Q) })).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_IDS' });
  });

  it('finds nothing of another organisation, by any id, now or then; a quarter key means the caller\'s own quarter', async () => {
    const p = await present();
    const foreign = [
      ...Object.values(p).map((n) => n.id),
      versionedId(ids.objective, T1),
      versionedId(ids.team, T1),
      versionedId(`CheckIn:keyResult-${ids.kr}/2`, T1),
    ].filter((id) => id !== Q);
    expect((await ok(NODES, { ids: foreign }, tokens.b)).nodes).toEqual(foreign.map(() => null));
    expect(await node(Q, 'Quarter', tokens.b)).toMatchObject({ __typename: 'Quarter', id: Q, startsOn: '2027-01-04T00:00:00.000Z' });
    expect(await node(Q, 'Quarter')).toMatchObject({ startsOn: '2027-01-01T00:00:00.000Z' });
    expect(await node(ids.bUnit)).toBeNull();
  });

  it('refuses a malformed versioned id (ID_INVALID) and one from the future (AS_OF_IN_FUTURE)', async () => {
    for (const id of [`${ids.objective}@yesterday`, `${ids.objective}@`, '@2027-01-20T00:00:00Z', `${ids.objective}@2027-13-01T00:00:00Z`]) {
      expect({ id, ...(await fails(NODE(), { id })) }).toMatchObject({ id, code: 'BAD_USER_INPUT', reason: 'ID_INVALID' });
    }
    expect(await fails(NODE(), { id: versionedId(ids.objective, '2031-01-01T00:00:00Z') })).toMatchObject({ reason: 'AS_OF_IN_FUTURE' });
  });
});

describe('versioned ids as query arguments', () => {
  const OBJECTIVES = `query($q: ID!, $u: ID, $at: DateTime) { objectives(quarterId: $q, unitId: $u, asOf: $at) { ${FIELDS.Objective} } }`;

  it('answer as of their instant, exactly as asOf does', async () => {
    const cases: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      ['objectives', OBJECTIVES, { q: versionedId(Q, T1) }, { q: Q, at: T1 }],
      ['objectives by unit', OBJECTIVES, { q: Q, u: versionedId(ids.team, T1) }, { q: Q, u: ids.team, at: T1 }],
      ['objective', `query($id: ID!, $at: DateTime) { objective(id: $id, asOf: $at) { ${FIELDS.Objective} } }`, { id: versionedId(ids.objective, T1) }, { id: ids.objective, at: T1 }],
      ['keyResult', `query($id: ID!, $at: DateTime) { keyResult(id: $id, asOf: $at) { ${FIELDS.KeyResult} } }`, { id: versionedId(ids.kr, T1) }, { id: ids.kr, at: T1 }],
      ...(['confidenceTrends', 'effortAudit', 'health', 'confidenceCalibration'] as const).map((field): [string, string, Record<string, unknown>, Record<string, unknown>] => [
        field,
        `query($q: ID!, $u: ID, $at: DateTime) { ${field}(quarterId: $q, unitId: $u, asOf: $at) { ${{
          confidenceTrends: 'keyResult { id target } points { at confidence }',
          effortAudit: 'unit { id checkInCadence } quarter { id phase } personDays checkIns',
          health: 'rule severity subjectId',
          confidenceCalibration: 'unit { id } meanGap',
        }[field]} } }`,
        { q: versionedId(Q, T1) },
        { q: Q, at: T1 },
      ]),
      ['teamConfidence', `query($q: ID!, $u: ID!, $at: DateTime) { teamConfidence(quarterId: $q, unitId: $u, asOf: $at) { weekStarting checkIns } }`,
        { q: Q, u: versionedId(ids.fn, T1) }, { q: Q, u: ids.fn, at: T1 }],
    ];
    for (const [name, query, versioned, withAsOf] of cases) {
      const expected = await ok(query, withAsOf);
      expect({ name, answer: await ok(query, versioned) }).toEqual({ name, answer: expected });
      // Given both, the same instant is fine.
      expect({ name, answer: await ok(query, { ...versioned, at: T1 }) }).toEqual({ name, answer: expected });
    }
    const { objectives } = await ok(OBJECTIVES, { q: versionedId(Q, T1) });
    expect(objectives.map((o: any) => [o.title, o.id])).toEqual([
      ['Reliable core services', versionedId(ids.fnObjective, T1)],
      ['Make payment failures rare', versionedId(ids.objective, T1)],
    ]);
  });

  it('unit, quarter and retrospectives take a versioned id too', async () => {
    expect((await ok(`query($id: ID!) { unit(id: $id) { id checkInCadence } }`, { id: versionedId(ids.team, T1) })).unit).toEqual({
      id: versionedId(ids.team, T1),
      checkInCadence: 'BIWEEKLY',
    });
    expect((await ok(`query($id: ID!) { unit(id: $id) { checkInCadence } }`, { id: ids.team })).unit).toEqual({ checkInCadence: 'MONTHLY' });
    expect((await ok(`query($id: ID!) { quarter(id: $id) { id phase } }`, { id: versionedId(Q, '2026-12-20T00:00:00Z') })).quarter).toEqual({
      id: versionedId(Q, '2026-12-20T00:00:00Z'),
      phase: 'SETTING',
    });
    expect((await ok(`query($q: ID!) { retrospectives(quarterId: $q) { id } }`, { q: versionedId(Q, T1) })).retrospectives).toEqual([]);
    expect((await ok(`query($q: ID!) { retrospectives(quarterId: $q) { id learnings } }`, { q: versionedId(Q, '2027-04-06T00:00:00Z') })).retrospectives)
      .toEqual([{ id: versionedId(`Retrospective:${ids.team}/${Q}`, '2027-04-06T00:00:00Z'), learnings: 'Retries were cheap' }]);
  });

  it('refuses two different instants in one question (AS_OF_MISMATCH)', async () => {
    const other = '2027-02-15T00:00:00Z';
    expect(await fails(OBJECTIVES, { q: versionedId(Q, T1), at: other })).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'AS_OF_MISMATCH' });
    expect(await fails(OBJECTIVES, { q: versionedId(Q, T1), u: versionedId(ids.team, other) })).toMatchObject({ reason: 'AS_OF_MISMATCH' });
    const events = `query($q: ID, $until: DateTime) { events(quarterId: $q, until: $until) { edges { node { id } } } }`;
    expect(await fails(events, { q: versionedId(Q, T1), until: other })).toMatchObject({ reason: 'AS_OF_MISMATCH' });
    // A versioned quarter means the events recorded by its instant.
    expect((await ok(events, { q: versionedId(Q, T1) })).events).toEqual((await ok(events, { q: Q, until: T1 })).events);
  });
});

describe('changes are made to the present', () => {
  /** A valid-looking input for every mutation; each of its ID fields is tried in versioned form. */
  const INPUTS: Record<string, () => Record<string, unknown>> = {
    registerUnit: () => ({ input: { name: 'X', level: 'TEAM', parentId: ids.fn } }),
    setCheckInCadence: () => ({ input: { unitId: ids.team, cadence: 'BIWEEKLY' } }),
    planQuarter: () => ({ input: { id: '2027-Q3', startsOn: '2027-07-01T00:00:00Z', endsOn: '2027-10-01T00:00:00Z' } }),
    closeQuarter: () => ({ id: Q }),
    draftObjective: () => ({ input: { unitId: ids.team, quarterId: Q, title: 'X', parentId: ids.fnObjective } }),
    refineObjective: () => ({ input: { id: ids.objective, title: 'X' } }),
    alignObjective: () => ({ input: { id: ids.objective, parentId: ids.fnObjective } }),
    commitObjective: () => ({ input: { id: ids.objective } }),
    retireObjective: () => ({ input: { id: ids.objective, reason: 'X' } }),
    defineKeyResult: () => ({ input: { objectiveId: ids.objective, title: 'X', metric: 'm', baseline: 1, target: 2 } }),
    reviseKeyResult: () => ({ input: { id: ids.kr, reason: 'X', target: 3 } }),
    recordCheckIn: () => ({ input: { keyResultId: ids.kr, confidence: 50 } }),
    scoreKeyResult: () => ({ input: { keyResultId: ids.kr, score: 0.5 } }),
    recordRetrospective: () => ({ input: { unitId: ids.team, quarterId: Q, learnings: 'X', calibrations: [{ keyResultId: ids.kr, calibration: 'RIGHT' }] } }),
    logProcessEffort: () => ({ input: { unitId: ids.team, quarterId: Q, activity: 'SCORING', personDays: 1 } }),
    addWebhook: () => ({ input: { unitId: ids.team, url: 'http://127.0.0.1:9/hook', kind: 'SLACK' } }),
    pauseWebhook: () => ({ id: 'a-webhook' }),
    resumeWebhook: () => ({ id: 'a-webhook' }),
    removeWebhook: () => ({ id: 'a-webhook' }),
    recordMeasurement: () => ({ input: { keyResultId: ids.kr, value: 1, source: 'ci' } }),
    carryOverObjective: () => ({ input: { objectiveId: ids.objective, toQuarterId: Q, keyResultIds: [ids.kr] } }),
  };

  /** Paths of the ID-typed values in `value` (of GraphQL type `type`). */
  function idPaths(value: unknown, type: GraphQLInputType, path: (string | number)[]): (string | number)[][] {
    const nullable = getNullableType(type);
    if (isListType(nullable)) return (value as unknown[]).flatMap((item, i) => idPaths(item, nullable.ofType, [...path, i]));
    if (isInputObjectType(nullable)) {
      return Object.values(nullable.getFields()).flatMap((f) =>
        (value as Record<string, unknown>)[f.name] === undefined ? [] : idPaths((value as Record<string, unknown>)[f.name], f.type, [...path, f.name]),
      );
    }
    return getNamedType(type).name === 'ID' ? [path] : [];
  }

  it('every mutation refuses a versioned id in any of its id fields (HISTORICAL_ID), and appends nothing', async () => {
    const mutation = (await okrSchema()).getMutationType();
    if (!mutation) throw new Error('no Mutation type');
    // recordCheckpoint takes no arguments, so it has no id to give in a versioned form.
    const WITHOUT_IDS = ['recordCheckpoint'];
    expect(Object.keys(mutation.getFields()).sort()).toEqual([...Object.keys(INPUTS), ...WITHOUT_IDS].sort());
    const before = await t.eventCount();
    let tried = 0;
    for (const field of Object.values(mutation.getFields()).filter((f) => !WITHOUT_IDS.includes(f.name))) {
      const variables = (INPUTS[field.name] as () => Record<string, unknown>)();
      const definitions = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const query = `mutation(${definitions}) { ${field.name}(${field.args.map((a) => `${a.name}: $${a.name}`).join(', ')}) { __typename } }`;
      const paths = field.args.flatMap((a) => idPaths(variables[a.name], a.type, [a.name]));
      expect({ mutation: field.name, ids: paths.length }).not.toEqual({ mutation: field.name, ids: 0 });
      for (const path of paths) {
        const changed = structuredClone(variables);
        let holder: any = changed;
        for (const key of path.slice(0, -1)) holder = holder[key];
        const last = path.at(-1) as string | number;
        const plain = holder[last] as string;
        holder[last] = versionedId(plain, T1);
        const res = await fails(query, changed);
        const where = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
        expect({ mutation: field.name, path: path.join('.'), ...res }).toEqual({
          mutation: field.name,
          path: path.join('.'),
          code: 'BAD_USER_INPUT',
          reason: 'HISTORICAL_ID',
          message: expect.stringContaining(`${where} names ${plain} as it was at ${T1}; the past cannot change. Pass "${plain}" to change it`),
        });
        tried += 1;
      }
    }
    expect(tried).toBe(29);
    expect(await t.eventCount()).toBe(before);
  });

  it('the live feed refuses a versioned id too', async () => {
    const client = createClient({
      url: t.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${tokens.a}` },
    });
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: `subscription($q: ID) { eventAppended(quarterId: $q) { id } }`, variables: { q: versionedId(Q, T1) } },
          { next: (m) => resolve(m), error: (e) => resolve(e), complete: () => resolve('complete') },
        );
      });
      expect(JSON.stringify(outcome)).toContain('HISTORICAL_ID');
    } finally {
      await client.dispose();
    }
  });
});
