import type { GraphQLResponse, TestServer } from './server';

/**
 * A thin driver over the GraphQL API for end-to-end scenarios: every command goes over HTTP to the
 * real server, and any unexpected error fails the test with the server's answer. The clock is the
 * server's TestClock: `at(iso)` moves it, and every command is recorded at that instant.
 */

export const REGISTER = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
export const PLAN = `mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`;
export const DRAFT = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
export const ALIGN = `mutation($i: AlignObjectiveInput!) { alignObjective(input: $i) { id } }`;
export const COMMIT = `mutation($i: CommitObjectiveInput!) { commitObjective(input: $i) { id } }`;
export const RETIRE = `mutation($i: RetireObjectiveInput!) { retireObjective(input: $i) { id } }`;
export const REFINE = `mutation($i: RefineObjectiveInput!) { refineObjective(input: $i) { id } }`;
export const DEFINE = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;
export const REVISE = `mutation($i: ReviseKeyResultInput!) { reviseKeyResult(input: $i) { id } }`;
export const CHECK_IN = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id } }`;
export const SCORE = `mutation($i: ScoreKeyResultInput!) { scoreKeyResult(input: $i) { id } }`;
export const RETRO = `mutation($i: RecordRetrospectiveInput!) { recordRetrospective(input: $i) { recordedAt } }`;
export const EFFORT = `mutation($i: LogProcessEffortInput!) { logProcessEffort(input: $i) { personDays } }`;
export const CADENCE = `mutation($i: SetCheckInCadenceInput!) { setCheckInCadence(input: $i) { id checkInCadence } }`;
export const CLOSE = `mutation($id: ID!) { closeQuarter(id: $id) { id phase } }`;

export type Level = 'COMPANY' | 'FUNCTION' | 'TEAM';
export type Activity = 'SETTING' | 'CHECK_IN' | 'SCORING' | 'RETROSPECTIVE';

export interface KeyResultSpec {
  title: string;
  metric?: string;
  baseline: number;
  target: number;
  unit?: string;
  kind?: 'OUTCOME' | 'OUTPUT';
  direction?: 'INCREASE' | 'DECREASE';
}

export interface CheckInSpec {
  value?: number | null;
  asOf?: string;
  whatChanged?: string;
  blockers?: string;
}

export class Okr {
  constructor(readonly t: TestServer) {}

  /** Moves the server's clock to `iso`. */
  at(iso: string): this {
    this.t.clock.set(iso);
    return this;
  }

  now(): string {
    return this.t.clock.now().toISOString();
  }

  /** Runs a request that must succeed and returns its data. */
  async ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await this.t.gql<T>(query, variables);
    if (res.errors?.length) throw new Error(`unexpected errors for ${query.slice(0, 80)}: ${JSON.stringify(res.errors)}`);
    if (res.data == null) throw new Error(`no data for ${query.slice(0, 80)}`);
    return res.data;
  }

  /** Runs a request that must fail, and returns the first error's code and reason (and the data). */
  async fails(query: string, variables?: Record<string, unknown>): Promise<{ code?: string; reason?: string; data: unknown }> {
    const res: GraphQLResponse = await this.t.gql(query, variables);
    if (!res.errors?.length) throw new Error(`expected an error for ${query.slice(0, 80)}, got ${JSON.stringify(res.data)}`);
    const ext = res.errors[0]?.extensions ?? {};
    return { code: ext.code, reason: ext.reason, data: res.data };
  }

  async unit(name: string, level: Level, parentId?: string): Promise<string> {
    return (await this.ok(REGISTER, { i: { name, level, parentId } })).registerUnit.id;
  }

  /** A company, one function under it and the named teams under the function. */
  async org(teams: string[] = ['Payments'], functionName = 'Engineering'): Promise<{ company: string; fn: string; teams: string[] }> {
    const company = await this.unit('Acme', 'COMPANY');
    const fn = await this.unit(functionName, 'FUNCTION', company);
    const ids: string[] = [];
    for (const team of teams) ids.push(await this.unit(team, 'TEAM', fn));
    return { company, fn, teams: ids };
  }

  async quarter(id: string, startsOn: string, endsOn: string, settingOpensOn?: string): Promise<string> {
    return (await this.ok(PLAN, { i: { id, startsOn, endsOn, settingOpensOn } })).planQuarter.id;
  }

  async objective(
    unitId: string,
    quarterId: string,
    title: string,
    opts: { parentId?: string; aspirational?: boolean; description?: string } = {},
  ): Promise<string> {
    return (await this.ok(DRAFT, { i: { unitId, quarterId, title, ...opts } })).draftObjective.id;
  }

  async align(id: string, parentId: string | null): Promise<void> {
    await this.ok(ALIGN, { i: { id, parentId } });
  }

  async commit(id: string): Promise<void> {
    await this.ok(COMMIT, { i: { id } });
  }

  async retire(id: string, reason = 'No longer a priority'): Promise<void> {
    await this.ok(RETIRE, { i: { id, reason } });
  }

  async refine(id: string, changes: { title?: string; description?: string | null }): Promise<void> {
    await this.ok(REFINE, { i: { id, ...changes } });
  }

  async keyResult(objectiveId: string, spec: KeyResultSpec): Promise<string> {
    return (await this.ok(DEFINE, { i: { objectiveId, metric: spec.metric ?? 'metric', ...spec } })).defineKeyResult.id;
  }

  async revise(id: string, reason: string, changes: Partial<KeyResultSpec>): Promise<void> {
    await this.ok(REVISE, { i: { id, reason, ...changes } });
  }

  async checkIn(keyResultId: string, confidence: number, spec: CheckInSpec = {}): Promise<void> {
    await this.ok(CHECK_IN, { i: { keyResultId, confidence, ...spec } });
  }

  async score(keyResultId: string, score: number, note?: string): Promise<void> {
    await this.ok(SCORE, { i: { keyResultId, score, note } });
  }

  async retro(
    unitId: string,
    quarterId: string,
    learnings: string,
    calibrations: { keyResultId: string; calibration: 'TOO_EASY' | 'RIGHT' | 'TOO_HARD'; note?: string }[] = [],
  ): Promise<void> {
    await this.ok(RETRO, { i: { unitId, quarterId, learnings, calibrations } });
  }

  async effort(unitId: string, quarterId: string, activity: Activity, personDays: number, occurredOn?: string): Promise<void> {
    await this.ok(EFFORT, { i: { unitId, quarterId, activity, personDays, occurredOn } });
  }

  async cadence(unitId: string, cadence: 'BIWEEKLY' | 'MONTHLY'): Promise<string> {
    return (await this.ok(CADENCE, { i: { unitId, cadence } })).setCheckInCadence.checkInCadence;
  }

  async close(quarterId: string): Promise<void> {
    await this.ok(CLOSE, { id: quarterId });
  }
}

export interface Finding {
  rule: string;
  severity: 'INFO' | 'WARNING' | 'PROBLEM';
  message: string;
  subjectId: string | null;
}

export const HEALTH = `query($q: ID!, $u: ID, $asOf: DateTime) { health(quarterId: $q, unitId: $u, asOf: $asOf) { rule severity message subjectId } }`;

/** The quarter's health findings (of a unit subtree when given), live or as of an instant. */
export async function health(okr: Okr, quarterId: string, unitId?: string, asOf?: string): Promise<Finding[]> {
  return (await okr.ok(HEALTH, { q: quarterId, u: unitId ?? null, asOf: asOf ?? null })).health;
}

/** Findings of one rule as [severity, subjectId] pairs, sorted so the order of rules does not matter. */
export function byRule(findings: readonly Finding[], rule: string): [string, string | null][] {
  return findings
    .filter((f) => f.rule === rule)
    .map((f): [string, string | null] => [f.severity, f.subjectId])
    .sort((a, b) => `${a[1]}${a[0]}`.localeCompare(`${b[1]}${b[0]}`));
}

/** The same pairs, sorted the same way, for the expected side of an assertion. */
export function pairs(...items: [string, string | null][]): [string, string | null][] {
  return [...items].sort((a, b) => `${a[1]}${a[0]}`.localeCompare(`${b[1]}${b[0]}`));
}

/**
 * A bag of ids filled as a scenario runs. Reading an id that was never set throws (a typo in a test
 * must not silently send `undefined` to the server).
 */
export function idBag(): Record<string, any> {
  return new Proxy({} as Record<string, any>, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target)) throw new Error(`id "${key}" was never set`);
      return target[key as string];
    },
  });
}
