import { idBag, Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/**
 * events as a Relay connection, both ways: first/after forwards, last/before backwards, with the
 * same cursors; pageInfo's four fields on every page; the filters apply the same in both directions.
 */

const Q = '2027-Q1';
let t: TestServer;
let okr: Okr;
const id = idBag();

const EVENTS = `query($first: Int, $after: String, $last: Int, $before: String, $streamId: String, $quarterId: ID, $types: [String!], $until: DateTime) {
  events(first: $first, after: $after, last: $last, before: $before, streamId: $streamId, quarterId: $quarterId, types: $types, until: $until) {
    edges { cursor node { id position type } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }`;

interface Page {
  edges: { cursor: string; node: { id: string; position: string; type: string } }[];
  pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean; startCursor: string | null; endCursor: string | null };
}
const page = async (vars: Record<string, unknown>): Promise<Page> => (await okr.ok(EVENTS, vars)).events;

/** Every edge of the filtered log, from one page as large as allowed (the log here is smaller). */
let all: Page['edges'] = [];

beforeAll(async () => {
  t = await startTestServer('eventpaging', '2026-12-01T09:00:00Z');
  okr = new Okr(t);
  const org = await okr.org(['Payments']);
  id.team = org.teams[0];
  await okr.quarter(Q, '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  okr.at('2026-12-15T10:00:00Z');
  const objective = await okr.objective(id.team, Q, 'Make payment failures rare');
  id.kr = await okr.keyResult(objective, { title: 'Reduce failures from 5 to 1', baseline: 5, target: 1 });
  for (let i = 0; i < 20; i += 1) {
    okr.at(new Date(Date.parse('2027-01-04T09:00:00Z') + i * 86_400_000).toISOString());
    await okr.checkIn(id.kr, 50 + i);
  }
  all = (await page({ first: 500 })).edges;
});
afterAll(() => t.close());

/** Pages backwards from the end with `last`, checking every page's invariants; returns the edges in log order. */
async function walkBackwards(last: number, filter: Record<string, unknown> = {}): Promise<Page['edges']> {
  const pages: Page['edges'][] = [];
  let before: string | null = null;
  for (let guard = 0; guard < 1000; guard += 1) {
    const p: Page = await page({ ...filter, last, before });
    expect(p.edges.length).toBeLessThanOrEqual(last);
    expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
    expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
    expect(p.pageInfo.hasNextPage).toBe(before !== null);
    pages.unshift(p.edges);
    if (!p.pageInfo.hasPreviousPage) return pages.flat();
    expect(p.edges).toHaveLength(last);
    before = p.pageInfo.startCursor;
  }
  throw new Error('paging did not end');
}

/** Pages forwards with `first`, checking every page's invariants; returns the edges. */
async function walkForwards(first: number, filter: Record<string, unknown> = {}): Promise<Page['edges']> {
  const edges: Page['edges'] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 1000; guard += 1) {
    const p: Page = await page({ ...filter, first, after });
    expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
    expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
    expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
    edges.push(...p.edges);
    if (!p.pageInfo.hasNextPage) return edges;
    after = p.pageInfo.endCursor;
  }
  throw new Error('paging did not end');
}

it('walks the whole log backwards with last/before: the same edges and cursors as forwards, in log order', async () => {
  expect(all.length).toBeGreaterThan(20);
  expect(all.map((e) => Number(e.node.position))).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
  for (const size of [1, 4, 7, all.length - 1, all.length]) {
    expect({ size, backwards: await walkBackwards(size) }).toEqual({ size, backwards: all });
    expect({ size, forwards: await walkForwards(size) }).toEqual({ size, forwards: all });
  }
});

it('says truthfully on every page whether events lie before and after it', async () => {
  const n = all.length;
  const cursor = (position: number) => all[position - 1]?.cursor;
  const info = async (vars: Record<string, unknown>) => {
    const p = await page(vars);
    return { positions: p.edges.map((e) => Number(e.node.position)), ...p.pageInfo };
  };
  expect(await info({ first: 3 })).toMatchObject({ positions: [1, 2, 3], hasPreviousPage: false, hasNextPage: true });
  expect(await info({ first: 3, after: cursor(5) })).toMatchObject({ positions: [6, 7, 8], hasPreviousPage: true, hasNextPage: true });
  expect(await info({ first: 3, after: cursor(n - 3) })).toMatchObject({ positions: [n - 2, n - 1, n], hasPreviousPage: true, hasNextPage: false });
  expect(await info({ last: 3 })).toMatchObject({ positions: [n - 2, n - 1, n], hasPreviousPage: true, hasNextPage: false });
  expect(await info({ last: 3, before: cursor(9) })).toMatchObject({ positions: [6, 7, 8], hasPreviousPage: true, hasNextPage: true });
  expect(await info({ last: 3, before: cursor(4) })).toMatchObject({ positions: [1, 2, 3], hasPreviousPage: false, hasNextPage: true });
  // Between two cursors: first from the start of the window, last from its end; the log goes on beyond both.
  expect(await info({ first: 3, after: cursor(5), before: cursor(20) })).toMatchObject({ positions: [6, 7, 8], hasPreviousPage: true, hasNextPage: true });
  expect(await info({ last: 3, after: cursor(5), before: cursor(20) })).toMatchObject({ positions: [17, 18, 19], hasPreviousPage: true, hasNextPage: true });
  expect(await info({ first: 50, after: cursor(5), before: cursor(8) })).toMatchObject({ positions: [6, 7], hasPreviousPage: true, hasNextPage: true });
  // before alone pages backwards with the default size.
  expect((await info({ before: cursor(n) })).positions).toEqual(Array.from({ length: Math.min(50, n - 1) }, (_, i) => n - Math.min(50, n - 1) + i));
  // Empty pages at either end.
  expect(await info({ last: 5, before: cursor(1) })).toEqual({ positions: [], hasPreviousPage: false, hasNextPage: true, startCursor: null, endCursor: null });
  expect(await info({ first: 5, after: cursor(n) })).toEqual({ positions: [], hasPreviousPage: true, hasNextPage: false, startCursor: null, endCursor: null });
});

it('applies the filters the same way backwards', async () => {
  const filters: Record<string, unknown>[] = [
    { types: ['CheckInRecorded'] },
    { streamId: `keyResult-${id.kr}` },
    { quarterId: Q },
    { until: '2027-01-10T09:00:00Z' },
    { quarterId: Q, types: ['CheckInRecorded'], until: '2027-01-15T09:00:00Z' },
  ];
  for (const filter of filters) {
    const forwards = await walkForwards(3, filter);
    expect({ filter, some: forwards.length > 0 }).toEqual({ filter, some: true });
    expect({ filter, backwards: await walkBackwards(3, filter) }).toEqual({ filter, backwards: forwards });
  }
  const checkIns = await page({ last: 2, types: ['CheckInRecorded'] });
  expect(checkIns.edges.map((e) => e.node.type)).toEqual(['CheckInRecorded', 'CheckInRecorded']);
  expect(checkIns.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
});

it('gives every event a stable id of its stream and version, fetched again by node(id:)', async () => {
  const ids = all.map((e) => e.node.id);
  expect(new Set(ids).size).toBe(all.length);
  const last = all.at(-1) as Page['edges'][number];
  expect(last.node.id).toBe(`Event:keyResult-${id.kr}/21`);
  const { node } = await okr.ok(`query($id: ID!) { node(id: $id) { ... on Event { id position type } } }`, { id: last.node.id });
  expect(node).toEqual(last.node);
});

it('refuses first with last, a page size outside 1-500 and a cursor it never gave out', async () => {
  expect(await okr.fails(EVENTS, { first: 2, last: 2 })).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAGE_DIRECTION_AMBIGUOUS' });
  for (const last of [0, 501, -1]) {
    expect({ last, ...(await okr.fails(EVENTS, { last })) }).toMatchObject({ last, code: 'BAD_USER_INPUT', reason: 'PAGE_SIZE_INVALID' });
  }
  for (const before of ['', 'not-a-cursor', Buffer.from('okr:x').toString('base64url')]) {
    expect({ before, ...(await okr.fails(EVENTS, { last: 2, before })) }).toMatchObject({ before, code: 'BAD_USER_INPUT', reason: 'CURSOR_INVALID' });
  }
});
