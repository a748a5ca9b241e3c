import { SignJWT } from 'jose';
import { verifyConsistency, verifyInclusion } from '../../events/merkle';
import { openNote, parseCheckpoint, verifierFromKey } from '../../events/note';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The verifiable log over GraphQL, as an auditor of each organisation uses it: the public key, signed
 * checkpoints (at a quarter close and on request), inclusion and consistency proofs that verify against
 * them, who may sign and run the full recheck, stable codes for proofs asked out of range, and two
 * organisations whose logs, trees and checkpoints show nothing of each other.
 */
const SECRET = 'test-secret-that-is-at-least-32-characters-long';
let t: TestServer;
const tokens = {} as Record<'adminA' | 'auditorA' | 'analystA' | 'adminB', string>;
const mint = (org: string, role: string, sub: string) =>
  new SignJWT({ org, role }).setSubject(sub).setIssuedAt().setExpirationTime('1h').setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

async function ok(token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await t.gql(query, variables, token);
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}
async function refused(token: string, query: string): Promise<{ code?: string; reason?: string }> {
  const res = await t.gql(query, undefined, token);
  return { code: res.errors?.[0]?.extensions?.code, reason: res.errors?.[0]?.extensions?.reason as string | undefined };
}
const b64 = (text: string): Buffer => Buffer.from(text, 'base64');

async function fill(token: string, units: number): Promise<void> {
  const reg = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  const company = (await ok(token, reg, { i: { name: 'Company', level: 'COMPANY' } })).registerUnit.id;
  for (let i = 0; i < units; i += 1) await ok(token, reg, { i: { name: `Function ${i}`, level: 'FUNCTION', parentId: company } });
}

beforeAll(async () => {
  t = await startTestServer('auditapi', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  tokens.adminA = await mint('org-a', 'admin', 'ada');
  tokens.auditorA = await mint('org-a', 'auditor', 'aud');
  tokens.analystA = await mint('org-a', 'analyst', 'ann');
  tokens.adminB = await mint('org-b', 'admin', 'bob');
  // Interleaved: each organisation's log must still be 1..n.
  await fill(tokens.adminA, 3);
  await fill(tokens.adminB, 5);
  await fill(tokens.adminA, 4);
});
afterAll(() => t.close());

describe('checkpoints', () => {
  it('are null before the first, signed on request by admins and auditors, refused to analysts', async () => {
    expect((await ok(tokens.adminA, '{ checkpoint { treeSize } }')).checkpoint).toBeNull();
    expect(await refused(tokens.analystA, 'mutation { recordCheckpoint { treeSize } }')).toEqual({ code: 'FORBIDDEN', reason: 'AUDITORS_ONLY' });
    const signed = (await ok(tokens.auditorA, 'mutation { recordCheckpoint { origin treeSize rootHash note keyName } }')).recordCheckpoint;
    expect(signed.treeSize).toBe(9); // a company and 3 + 4 functions
    expect((await ok(tokens.analystA, '{ checkpoint { treeSize note } }')).checkpoint).toEqual({ treeSize: 9, note: signed.note });
    // Again at the same size: the same checkpoint, not a second signature.
    expect((await ok(tokens.adminA, 'mutation { recordCheckpoint { note } }')).recordCheckpoint.note).toBe(signed.note);
  });

  it('open with the published key, and name the deployment and the organisation', async () => {
    const { checkpointPublicKey: key, checkpointOrigin: origin, checkpoint } = await ok(tokens.analystA, '{ checkpointPublicKey checkpointOrigin checkpoint { note rootHash treeSize } }');
    expect(key).toMatch(/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    expect(origin).toMatch(/\/org-a$/);
    const body = parseCheckpoint(openNote(checkpoint.note, [verifierFromKey(key)]).text);
    expect({ origin: body.origin, size: body.size, root: body.root.toString('base64') }).toEqual({ origin, size: checkpoint.treeSize, root: checkpoint.rootHash });
    // Another organisation's origin differs, so its checkpoints can never be mistaken for these.
    expect((await ok(tokens.adminB, '{ checkpointOrigin }')).checkpointOrigin).toMatch(/\/org-b$/);
  });

  it('are signed in the same transaction as a quarter close', async () => {
    // The server's clock stands at 2027-01-10, after this quarter's end.
    await ok(tokens.adminB, `mutation { planQuarter(input: { id: "2026-Q4", startsOn: "2026-10-01T00:00:00Z", endsOn: "2027-01-01T00:00:00Z" }) { id } }`);
    expect((await ok(tokens.adminB, '{ checkpoint { treeSize } }')).checkpoint).toBeNull();
    await ok(tokens.adminB, 'mutation { closeQuarter(id: "2026-Q4") { id } }');
    const { checkpoint, events } = await ok(tokens.adminB, '{ checkpoint { treeSize } events(last: 1) { edges { node { position type } } } }');
    const [last] = events.edges;
    expect(last.node.type).toBe('QuarterClosed');
    expect(checkpoint.treeSize).toBe(Number(last.node.position));
  });
});

describe('proofs', () => {
  it('prove every event of the organisation in the signed tree, and nothing against another organisation\'s root', async () => {
    const { checkpoint } = await ok(tokens.auditorA, '{ checkpoint { treeSize rootHash } }');
    const rootB = (await ok(tokens.adminB, 'mutation { recordCheckpoint { rootHash } }')).recordCheckpoint.rootHash;
    for (let position = 1; position <= checkpoint.treeSize; position += 1) {
      const proof = (await ok(tokens.analystA, `query($p: Int!, $n: Int) { inclusionProof(position: $p, treeSize: $n) { position treeSize leafHash hashes } }`, { p: position, n: checkpoint.treeSize })).inclusionProof;
      expect(proof).toMatchObject({ position, treeSize: checkpoint.treeSize });
      expect(verifyInclusion(position - 1, checkpoint.treeSize, b64(proof.leafHash), proof.hashes.map(b64), b64(checkpoint.rootHash))).toBe(true);
      expect(verifyInclusion(position - 1, checkpoint.treeSize, b64(proof.leafHash), proof.hashes.map(b64), b64(rootB))).toBe(false);
    }
  });

  it('show a later checkpoint extends an earlier one', async () => {
    const older = (await ok(tokens.auditorA, '{ checkpoint { treeSize rootHash } }')).checkpoint;
    await fill(tokens.adminA, 2);
    const newer = (await ok(tokens.auditorA, 'mutation { recordCheckpoint { treeSize rootHash } }')).recordCheckpoint;
    expect(newer.treeSize).toBe(older.treeSize + 3);
    const proof = (await ok(tokens.analystA, `query($m: Int!) { consistencyProof(from: $m) { from to hashes } }`, { m: older.treeSize })).consistencyProof;
    expect(proof).toMatchObject({ from: older.treeSize, to: newer.treeSize });
    expect(verifyConsistency(older.treeSize, newer.treeSize, proof.hashes.map(b64), b64(older.rootHash), b64(newer.rootHash))).toBe(true);
  });

  it.each([
    ['a position past the log', '{ inclusionProof(position: 99999) { position } }', 'POSITION_OUT_OF_RANGE'],
    ['position 0', '{ inclusionProof(position: 0) { position } }', 'POSITION_OUT_OF_RANGE'],
    ['a tree larger than the log', '{ inclusionProof(position: 1, treeSize: 99999) { position } }', 'TREE_SIZE_OUT_OF_RANGE'],
    ['a position past the tree size', '{ inclusionProof(position: 5, treeSize: 4) { position } }', 'POSITION_OUT_OF_RANGE'],
    ['sizes in the wrong order', '{ consistencyProof(from: 5, to: 4) { from } }', 'TREE_SIZES_OUT_OF_ORDER'],
    ['a consistency proof to a size past the log', '{ consistencyProof(from: 1, to: 99999) { from } }', 'TREE_SIZE_OUT_OF_RANGE'],
  ])('refuse %s with a stable code, appending nothing', async (_label, query, reason) => {
    const before = await t.eventCount();
    expect(await refused(tokens.analystA, query)).toEqual({ code: 'BAD_USER_INPUT', reason });
    expect(await t.eventCount()).toBe(before);
  });
});

describe('verifyAuditLog', () => {
  it('checks the organisation\'s own log, then only what was appended since; the full recheck is for admins and auditors', async () => {
    const first = (await ok(tokens.auditorA, '{ verifyAuditLog { ok full checkedFrom treeSize eventsChecked rootHash } }')).verifyAuditLog;
    expect(first.ok).toBe(true);
    await fill(tokens.adminA, 1);
    // An analyst's check leaves no record: the next check still begins where the auditor's ended.
    const analysts = (await ok(tokens.analystA, '{ verifyAuditLog { ok checkedFrom treeSize eventsChecked } }')).verifyAuditLog;
    expect(analysts).toEqual({ ok: true, checkedFrom: first.treeSize, treeSize: first.treeSize + 2, eventsChecked: 2 });
    const second = (await ok(tokens.auditorA, '{ verifyAuditLog { ok full checkedFrom treeSize eventsChecked } }')).verifyAuditLog;
    expect(second).toEqual({ ok: true, full: false, checkedFrom: first.treeSize, treeSize: first.treeSize + 2, eventsChecked: 2 });
    expect((await ok(tokens.auditorA, '{ verifyAuditLog { checkedFrom eventsChecked } }')).verifyAuditLog).toEqual({ checkedFrom: second.treeSize, eventsChecked: 0 });
    expect(await refused(tokens.analystA, '{ verifyAuditLog(full: true) { ok } }')).toEqual({ code: 'FORBIDDEN', reason: 'AUDITORS_ONLY' });
    const full = (await ok(tokens.auditorA, '{ verifyAuditLog(full: true) { ok full checkedFrom eventsChecked treeSize } }')).verifyAuditLog;
    expect(full).toEqual({ ok: true, full: true, checkedFrom: 0, eventsChecked: second.treeSize, treeSize: second.treeSize });
    // Each verification that matched signed a checkpoint where it ended.
    expect((await ok(tokens.analystA, '{ checkpoint { treeSize } }')).checkpoint.treeSize).toBe(second.treeSize);
  });
});
