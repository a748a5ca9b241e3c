import '../support/apolloDev';
import { ApolloClient, HttpLink, InMemoryCache, gql, type DocumentNode, type ObservableQuery } from '@apollo/client';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev';
import { idBag, Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';
import { versionedId } from '../support/versioned';

/**
 * Caches see the past beside the present: @apollo/client 4 with InMemoryCache at its default settings
 * (normalised by __typename:id) against the real server over HTTP. While queries about the present
 * are watched, the same objects are asked about as of two earlier instants through every way the API
 * offers (each asOf argument, a versioned id as an argument, node(id:) with a versioned id). The
 * watched queries must keep their values, the two instants must stay apart in the cache, and the
 * cache must warn about nothing (its development checks are on).
 */

loadDevMessages();
loadErrorMessages();

const Q = '2027-Q1';
const T1 = '2026-12-20T00:00:00.000Z'; // setting: first title, target 0.2, no check-in, BIWEEKLY
const T2 = '2027-02-05T00:00:00.000Z'; // active: second title, target 0.3, confidence 40, MONTHLY

const KEY_RESULT = gql`
  fragment KeyResultFields on KeyResult {
    id title target current confidence version
    checkIns { id confidence value }
    revisions { at reason }
    objective { id title }
  }
`;
const OBJECTIVE = gql`
  fragment ObjectiveFields on Objective {
    id title status version
    unit { id name checkInCadence }
    quarter { id phase }
    keyResults { ...KeyResultFields }
  }
  ${KEY_RESULT}
`;

const NOW = {
  objectives: gql`query ObjectivesNow($q: ID!) { objectives(quarterId: $q) { ...ObjectiveFields } } ${OBJECTIVE}`,
  objective: gql`query ObjectiveNow($id: ID!) { objective(id: $id) { ...ObjectiveFields } } ${OBJECTIVE}`,
  keyResult: gql`query KeyResultNow($id: ID!) { keyResult(id: $id) { ...KeyResultFields } } ${KEY_RESULT}`,
};

/** Every way of asking about the past, each with the same objects in its answer where it has any. */
const PAST: Record<string, { query: DocumentNode; variables: (at: string) => Record<string, unknown> }> = {
  'objectives(asOf)': {
    query: gql`query ObjectivesThen($q: ID!, $at: DateTime) { objectives(quarterId: $q, asOf: $at) { ...ObjectiveFields } } ${OBJECTIVE}`,
    variables: (at) => ({ q: Q, at }),
  },
  'objective(asOf)': {
    query: gql`query ObjectiveThen($id: ID!, $at: DateTime) { objective(id: $id, asOf: $at) { ...ObjectiveFields } } ${OBJECTIVE}`,
    variables: (at) => ({ id: ids.objective, at }),
  },
  'keyResult(asOf)': {
    query: gql`query KeyResultThen($id: ID!, $at: DateTime) { keyResult(id: $id, asOf: $at) { ...KeyResultFields } } ${KEY_RESULT}`,
    variables: (at) => ({ id: ids.kr1, at }),
  },
  'confidenceTrends(asOf)': {
    query: gql`query TrendsThen($q: ID!, $at: DateTime) {
      confidenceTrends(quarterId: $q, asOf: $at) { keyResult { ...KeyResultFields } points { at confidence } }
    } ${KEY_RESULT}`,
    variables: (at) => ({ q: Q, at }),
  },
  'teamConfidence(asOf)': {
    query: gql`query TeamThen($q: ID!, $u: ID!, $at: DateTime) { teamConfidence(quarterId: $q, unitId: $u, asOf: $at) { weekStarting meanConfidence checkIns } }`,
    variables: (at) => ({ q: Q, u: ids.team, at }),
  },
  'effortAudit(asOf)': {
    query: gql`query EffortThen($q: ID!, $at: DateTime) {
      effortAudit(quarterId: $q, asOf: $at) { unit { id name checkInCadence } quarter { id phase } personDays }
    }`,
    variables: (at) => ({ q: Q, at }),
  },
  'health(asOf)': {
    query: gql`query HealthThen($q: ID!, $at: DateTime) { health(quarterId: $q, asOf: $at) { rule severity subjectId } }`,
    variables: (at) => ({ q: Q, at }),
  },
  'confidenceCalibration(asOf)': {
    query: gql`query CalibrationThen($q: ID!, $at: DateTime) {
      confidenceCalibration(quarterId: $q, asOf: $at) { unit { id name checkInCadence } keyResults { keyResult { id target } } }
    }`,
    variables: (at) => ({ q: Q, at }),
  },
  'objectives(quarterId: versioned)': {
    query: gql`query ObjectivesOfVersionedQuarter($q: ID!) { objectives(quarterId: $q) { ...ObjectiveFields } } ${OBJECTIVE}`,
    variables: (at) => ({ q: versionedId(Q, at) }),
  },
  'keyResult(id: versioned)': {
    query: gql`query VersionedKeyResult($id: ID!) { keyResult(id: $id) { ...KeyResultFields } } ${KEY_RESULT}`,
    variables: (at) => ({ id: versionedId(ids.kr1, at) }),
  },
  'node(id: versioned)': {
    query: gql`query NodeThen($id: ID!) { node(id: $id) { id ... on Objective { ...ObjectiveFields } } } ${OBJECTIVE}`,
    variables: (at) => ({ id: versionedId(ids.objective, at) }),
  },
};

let t: TestServer;
let okr: Okr;
const ids = idBag();

beforeAll(async () => {
  t = await startTestServer('apollocache', '2026-12-01T09:00:00Z');
  okr = new Okr(t);
  const org = await okr.org(['Payments']);
  ids.team = org.teams[0];
  await okr.quarter(Q, '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  okr.at('2026-12-12T09:00:00Z'); // the setting window opens on 2026-12-11
  ids.objective = await okr.objective(ids.team, Q, 'Make payment failures rare');
  ids.kr1 = await okr.keyResult(ids.objective, { title: 'Reduce failed payments from 0.8% to 0.2%', baseline: 0.8, target: 0.2 });
  ids.kr2 = await okr.keyResult(ids.objective, { title: 'Raise availability from 99.5% to 99.9%', baseline: 99.5, target: 99.9 });
  await okr.effort(ids.team, Q, 'SETTING', 1);
  okr.at('2027-01-14T09:00:00Z');
  await okr.commit(ids.objective);
  await okr.checkIn(ids.kr1, 60, { value: 0.7 });
  okr.at('2027-02-01T09:00:00Z');
  await okr.refine(ids.objective, { title: 'Make payment failures very rare' });
  await okr.revise(ids.kr1, 'Vendor outage budget agreed', { target: 0.3 });
  await okr.checkIn(ids.kr1, 40, { value: 0.6 });
  await okr.cadence(ids.team, 'MONTHLY');
  okr.at('2027-03-01T09:00:00Z');
  await okr.refine(ids.objective, { title: 'Payments that never fail' });
  await okr.revise(ids.kr1, 'Retries landed', { target: 0.25 });
  await okr.checkIn(ids.kr1, 75, { value: 0.3 });
  await okr.checkIn(ids.kr2, 80, { value: 99.8 });
  okr.at('2027-03-05T09:00:00Z');
});
afterAll(() => t?.close());

interface Watched {
  name: string;
  observable: ObservableQuery<any>;
  /** Data of every result delivered with loading done. */
  delivered: unknown[];
  unsubscribe(): void;
}

/** Watches a query about the present and waits for its first complete result. */
async function watch(client: ApolloClient, name: keyof typeof NOW, variables: Record<string, unknown>): Promise<Watched> {
  const observable = client.watchQuery({ query: NOW[name], variables });
  const delivered: unknown[] = [];
  let first!: () => void;
  const arrived = new Promise<void>((resolve) => {
    first = resolve;
  });
  const subscription = observable.subscribe({
    next: (result) => {
      if (result.loading) return;
      delivered.push(result.data);
      first();
    },
  });
  await arrived;
  return { name, observable, delivered, unsubscribe: () => subscription.unsubscribe() };
}

interface Session {
  client: ApolloClient;
  watched: Watched[];
  /** What each watched query first delivered. */
  present: Record<string, unknown>;
  close(): void;
}

/** A client with a fresh cache, watching the objectives, the objective and a key result now. */
async function openSession(): Promise<Session> {
  const client = new ApolloClient({ link: new HttpLink({ uri: t.url }), cache: new InMemoryCache() });
  const watched = [
    await watch(client, 'objectives', { q: Q }),
    await watch(client, 'objective', { id: ids.objective }),
    await watch(client, 'keyResult', { id: ids.kr1 }),
  ];
  return {
    client,
    watched,
    present: Object.fromEntries(watched.map((w) => [w.name, w.delivered[0]])),
    close() {
      for (const w of watched) w.unsubscribe();
      client.stop();
    },
  };
}

/** The watched queries still hold, deliver and cache exactly what they first delivered. */
function expectPresentKept(session: Session): void {
  for (const w of session.watched) {
    const present = session.present[w.name];
    expect({ query: w.name, data: w.observable.getCurrentResult().data }).toEqual({ query: w.name, data: present });
    expect({ query: w.name, delivered: w.delivered }).toEqual({ query: w.name, delivered: [present] });
    const cached = session.client.readQuery({ query: NOW[w.name as keyof typeof NOW], variables: w.observable.variables });
    expect({ query: w.name, cached }).toEqual({ query: w.name, cached: present });
  }
}

describe('Apollo Client InMemoryCache (default settings) against the real server', () => {
  const warnings: unknown[][] = [];
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;
  /** Each way's answers at T1 and T2, for the checks that the test is not vacuous. */
  const answers = new Map<string, unknown>();

  beforeAll(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(['warn', ...args]));
    error = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void warnings.push(['error', ...args]));
  });
  afterAll(() => {
    warn?.mockRestore();
    error?.mockRestore();
  });

  it('watches the present (today\'s title, target and confidence)', async () => {
    const session = await openSession();
    try {
      expect(session.present.objective).toMatchObject({
        objective: { id: ids.objective, title: 'Payments that never fail', unit: { id: ids.team, checkInCadence: 'MONTHLY' } },
      });
      expect(session.present.keyResult).toMatchObject({ keyResult: { id: ids.kr1, target: 0.25, confidence: 75 } });
    } finally {
      session.close();
    }
  });

  it.each(Object.keys(PAST))('%s: the watched present keeps its values, and two instants stay apart', async (way) => {
    const { query, variables } = PAST[way] as (typeof PAST)[string];
    const before = warnings.length;
    const session = await openSession();
    try {
      for (const at of [T1, T2]) {
        const { data } = await session.client.query({ query, variables: variables(at), fetchPolicy: 'network-only' });
        answers.set(`${way} ${at}`, data);
        expectPresentKept(session);
      }
      // Asking about T2 overwrote nothing of T1: each reads back from the cache as it was answered.
      for (const at of [T1, T2]) {
        expect({ at, cached: session.client.readQuery({ query, variables: variables(at) }) }).toEqual({
          at,
          cached: answers.get(`${way} ${at}`),
        });
      }
      expect(warnings.slice(before)).toEqual([]);
    } finally {
      session.close();
    }
  });

  it('was asked about a past that differs from the present and between the two instants (the test is not vacuous)', () => {
    expect(answers.get(`objective(asOf) ${T1}`)).toMatchObject({
      objective: {
        id: versionedId(ids.objective, T1),
        title: 'Make payment failures rare',
        quarter: { id: versionedId(Q, T1), phase: 'SETTING' },
        unit: { id: versionedId(ids.team, T1), checkInCadence: 'BIWEEKLY' },
        keyResults: [{ target: 0.2, confidence: null, checkIns: [] }, { target: 99.9 }],
      },
    });
    expect(answers.get(`objective(asOf) ${T2}`)).toMatchObject({
      objective: { title: 'Make payment failures very rare', quarter: { phase: 'ACTIVE' }, keyResults: [{ target: 0.3, confidence: 40 }, {}] },
    });
    expect(answers.get(`keyResult(asOf) ${T2}`)).toMatchObject({
      keyResult: { id: versionedId(ids.kr1, T2), target: 0.3, confidence: 40, objective: { title: 'Make payment failures very rare' } },
    });
    // The other ways answered about the same objects at the same instants.
    expect(answers.get(`node(id: versioned) ${T2}`)).toEqual({ node: (answers.get(`objective(asOf) ${T2}`) as any).objective });
    expect(answers.get(`objectives(quarterId: versioned) ${T1}`)).toEqual(answers.get(`objectives(asOf) ${T1}`));
    expect(answers.get(`keyResult(id: versioned) ${T1}`)).toEqual(answers.get(`keyResult(asOf) ${T1}`));
    expect(answers.get(`confidenceTrends(asOf) ${T2}`)).toMatchObject({
      confidenceTrends: [{ keyResult: (answers.get(`keyResult(asOf) ${T2}`) as any).keyResult }, {}],
    });
    expect(answers.get(`effortAudit(asOf) ${T1}`)).toMatchObject({
      effortAudit: [{ unit: { id: versionedId(ids.team, T1), checkInCadence: 'BIWEEKLY' }, quarter: { phase: 'SETTING' } }],
    });
    const findings = (answers.get(`health(asOf) ${T2}`) as { health: { subjectId: string }[] }).health;
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.filter((f) => !f.subjectId.endsWith(`@${T2}`))).toEqual([]);
    expect(answers.get(`teamConfidence(asOf) ${T2}`)).toMatchObject({ teamConfidence: [{ checkIns: 1 }, { checkIns: 1 }] });
  });

  it('logged no cache warning or error at all', () => {
    expect(warnings).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });
});
