import { startTestServer, type TestServer } from '../support/server';

/**
 * Regression: lists came back in string order of their creation position ("10" before "3") once an
 * organisation had ten or more units, because PostgreSQL bigints arrive as strings through the query
 * builder. Creation order must hold at any size.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('listorder');
});
afterAll(() => t.close());

it('lists units, objectives and key results in creation order beyond nine of each', async () => {
  const register = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  const company = (await t.gql(register, { i: { name: 'Unit 00', level: 'COMPANY' } })).data?.registerUnit.id;
  const fn = (await t.gql(register, { i: { name: 'Unit 01', level: 'FUNCTION', parentId: company } })).data?.registerUnit.id;
  for (let i = 2; i < 13; i += 1) {
    await t.gql(register, { i: { name: `Unit ${String(i).padStart(2, '0')}`, level: 'TEAM', parentId: fn } });
  }
  const units = (await t.gql(`{ units { name } }`)).data?.units.map((u: { name: string }) => u.name);
  expect(units).toEqual(Array.from({ length: 13 }, (_, i) => `Unit ${String(i).padStart(2, '0')}`));

  await t.gql(`mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  const draft = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
  const objective = (await t.gql(draft, { i: { unitId: fn, quarterId: '2027-Q1', title: 'Objective 00' } })).data?.draftObjective.id;
  for (let i = 0; i < 12; i += 1) {
    await t.gql(`mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`, {
      i: { objectiveId: objective, title: `KR ${String(i).padStart(2, '0')}`, metric: 'm', baseline: 0, target: i + 1 },
    });
  }
  const krs = (await t.gql(`query($id: ID!) { objective(id: $id) { keyResults { title } } }`, { id: objective })).data?.objective.keyResults;
  expect(krs.map((k: { title: string }) => k.title)).toEqual(Array.from({ length: 12 }, (_, i) => `KR ${String(i).padStart(2, '0')}`));
});
