import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Client } from 'pg';
import { verifyLog, type LogVerification } from '../events/audit';
import type { StoredCheckpoint } from '../events/checkpoints';
import { AuditRangeError, TreeInconsistentError } from '../events/errors';
import { eventLeafHash } from '../events/leaf';
import { appendLeaves, frontierRefs, rootOf, verifyConsistency, verifyInclusion, type Hash } from '../events/merkle';
import { NoteVerificationError, generateSignerKey, openNote, parseCheckpoint, signNote, signerFromKey, verifierFromKey } from '../events/note';
import { EventStore } from '../events/store';
import { b64 } from '../events/tree';
import { AuditService } from '../src/audit';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { Commands } from '../src/commands';
import { inSnapshot } from '../src/database';
import { Ledger } from '../src/ledger';
import { createTestDatabase, type TestDatabase } from './support/database';

/**
 * The tamper-evident logs, one RFC 6962 Merkle tree per organisation, against real PostgreSQL. Two
 * organisations append interleaved; a superuser then switches off the append-only triggers and edits
 * B's history (content, metadata, quarter tag, removals, stored hashes, the head's frontier): a full
 * verification names the first position that no longer matches while A stays clean, and restoring the
 * row makes B verify again. Also: incremental verification and its trade-off, checkpoints signed with
 * quarter closes and refused over an inconsistent tree, proofs checked against naively recomputed roots,
 * and the per-organisation quarter digest.
 */
const [A, B] = ['org-a', 'org-b'];
const keys = ephemeralCheckpointKeys();
const store = new EventStore();
let db: TestDatabase;
let su: Client;
let audit: AuditService;
let now = new Date('2027-01-10T09:00:00Z');
const clock = (): Date => now;
const commands = new Map<string, Commands>();
const keyResults = new Map<string, string>();
const cmd = (org: string): Commands => commands.get(org) as Commands;
const BOUNDS = ['2026-07-01', '2026-10-01', '2027-01-01', '2027-04-01', '2027-07-01'];
const QUARTERS = ['2026-Q3', '2026-Q4', '2027-Q1', '2027-Q2'].map((quarterId, i) => ({ quarterId, startsOn: `${BOUNDS[i]}T00:00:00Z`, endsOn: `${BOUNDS[i + 1]}T00:00:00Z` }));

async function checkIn(org: string, i: number): Promise<void> {
  now = new Date(now.getTime() + 3_600_000);
  await cmd(org).recordCheckIn({ keyResultId: keyResults.get(org) as string, confidence: 40 + (i % 50), value: 2 - (i % 10) * 0.1, whatChanged: `${org} #${i}, "quoted", ünïcødé` });
}

beforeAll(async () => {
  db = await createTestDatabase('audit');
  su = await db.client();
  audit = new AuditService(db.orm, keys, clock);
  const ledger = new Ledger(db.orm, clock, undefined, undefined, keys.signing);
  for (const org of [A, B]) commands.set(org, new Commands(ledger, { organisationId: org, actor: `${org}-admin`, correlationId: `c-${org}` }));
  const units = new Map<string, string>();
  for (const org of [A, B]) units.set(org, (await cmd(org).registerUnit({ name: `Acme ${org}`, level: 'COMPANY', parentId: null })).result.unitId);
  for (const quarter of QUARTERS) for (const org of [A, B]) await cmd(org).planQuarter(quarter);
  for (const org of [A, B]) {
    const unitId = units.get(org) as string;
    const { result: objective } = await cmd(org).draftObjective({ unitId, quarterId: '2027-Q1', title: `${org} customers trust us` });
    const { result: kr } = await cmd(org).defineKeyResult({ objectiveId: objective.objectiveId, title: 'Failed payments 2% to 1%', metric: '%', baseline: 2, target: 1 });
    keyResults.set(org, kr.keyResultId);
    await cmd(org).draftObjective({ unitId, quarterId: '2027-Q2', title: `${org} next quarter` });
  }
  for (let i = 0; i < 6; i += 1) for (const org of [A, B]) await checkIn(org, i);
});
afterAll(() => db.drop());

const head = (org: string): Promise<number> => store.headPosition(db.sql, org);
const fullVerify = (org: string): Promise<LogVerification> => inSnapshot(db.orm, (sql) => verifyLog(sql, org, { full: true, signing: keys.signing }));

/** org's events (of one quarter, of one type) in log order: positions and stored leaf hashes. */
async function eventsOf(org: string, filter: { quarterId?: string; type?: string } = {}): Promise<{ leaf: Hash; position: number }[]> {
  const rows = await db.sql.query<{ leaf_hash: Buffer; position: string }>(
    `SELECT leaf_hash, position FROM okr_events WHERE organisation_id = ? AND quarter_id IS NOT DISTINCT FROM coalesce(?, quarter_id)
        AND type = coalesce(?, type) ORDER BY position`, [org, filter.quarterId ?? null, filter.type ?? null]);
  return rows.map((r) => ({ leaf: Buffer.from(r.leaf_hash), position: Number(r.position) }));
}
const leavesOf = async (org: string, quarterId?: string): Promise<Hash[]> => (await eventsOf(org, { quarterId })).map((e) => e.leaf);
const positionOf = async (org: string, type: string, nth = 0, quarterId?: string): Promise<number> =>
  (await eventsOf(org, { type, quarterId })).at(nth)?.position ?? Promise.reject(new Error(`${org} has no ${type} #${nth}`));

/** Runs `work` as a superuser would: in one transaction, with the append-only triggers of `tables` off. */
async function asSuperuser(work: (c: Client) => Promise<unknown>, tables = ['okr_events']): Promise<void> {
  await su.query('BEGIN');
  try {
    for (const t of tables) await su.query(`ALTER TABLE ${t} DISABLE TRIGGER ${t}_append_only`);
    await work(su);
    for (const t of tables) await su.query(`ALTER TABLE ${t} ENABLE TRIGGER ${t}_append_only`);
    await su.query('COMMIT');
  } catch (error) {
    await su.query('ROLLBACK');
    throw error;
  }
}

/** Makes a change, runs `look` on the changed database, and always undoes the change. */
const during = <T>(change: () => Promise<unknown>, undo: () => Promise<unknown>, look: () => Promise<T>): Promise<T> => change().then(() => look().finally(undo));

/** Recomputes org's interior nodes and head frontier from the leaf hashes stored now: the tree made to fit. */
async function refitTree(c: Client, org: string): Promise<void> {
  const { rows } = await c.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM okr_events WHERE organisation_id = $1 ORDER BY position', [org]);
  const grown = appendLeaves([], 0, rows.map((r) => r.leaf_hash));
  for (const n of grown.nodes.filter((node) => node.level > 0)) {
    await c.query('UPDATE okr_tree_nodes SET hash = $4 WHERE organisation_id = $1 AND level = $2 AND idx = $3', [org, n.level, n.index, n.hash]);
  }
  await c.query('UPDATE okr_log_heads SET frontier = $2::jsonb WHERE organisation_id = $1', [org, JSON.stringify(grown.frontier.map(b64))]);
}

/**
 * Edits one event behind the trigger (`statement` gets $1 organisation, $2 position, then `params`), runs
 * `look`, then puts the row back exactly as it was. With `refit`, the tree and head are made to fit each time.
 */
async function whileEdited<T>(org: string, position: number, statement: string, look: () => Promise<T>, options: { params?: unknown[]; refit?: boolean } = {}): Promise<T> {
  const tables = options.refit ? ['okr_events', 'okr_tree_nodes'] : ['okr_events'];
  const key = [org, position];
  await su.query('CREATE TEMP TABLE IF NOT EXISTS saved_events AS TABLE okr_events WITH NO DATA');
  await su.query('INSERT INTO saved_events SELECT * FROM okr_events WHERE organisation_id = $1 AND position = $2', key);
  const edit = async (c: Client) => {
    await c.query(statement, [...key, ...(options.params ?? [])]);
    if (options.refit) await refitTree(c, org);
  };
  const restore = async (c: Client) => {
    await c.query('DELETE FROM okr_events WHERE organisation_id = $1 AND position = $2', key);
    await c.query('INSERT INTO okr_events SELECT * FROM saved_events WHERE organisation_id = $1 AND position = $2', key);
    await c.query('DELETE FROM saved_events');
    if (options.refit) await refitTree(c, org);
  };
  return during(() => asSuperuser(edit, tables), () => asSuperuser(restore, tables), look);
}

const WHERE = 'WHERE organisation_id = $1 AND position = $2';
const SET_CONFIDENCE = `UPDATE okr_events SET data = jsonb_set(data, '{confidence}', '99') ${WHERE}`;
const SET_DATA_AND_LEAF = `UPDATE okr_events SET data = jsonb_set(data, '{confidence}', '99'), leaf_hash = $3 ${WHERE}`;

/** The leaf hash the check-in at `position` has once SET_CONFIDENCE edited it. */
async function editedLeaf(org: string, position: number): Promise<Hash> {
  const [event] = await store.readLeaves(db.sql, { organisationId: org, after: position - 1, limit: 1 });
  if (event === undefined) throw new Error(`${org} has no event ${position}`);
  return eventLeafHash({ ...event, data: { ...(event.data as Record<string, unknown>), confidence: 99 } });
}

/** B, edited at `position`, fails there (or at `at`) with `reason` while A verifies clean; restored, B verifies again. */
async function drill(position: number, statement: string, reason: RegExp, options: { params?: unknown[]; refit?: boolean; at?: number } = {}): Promise<LogVerification> {
  const aside = async () => expect(await fullVerify(A)).toMatchObject({ ok: true, eventsChecked: await head(A), firstBrokenPosition: null });
  const broken = await whileEdited(B, position, statement, () => fullVerify(B).then((b) => aside().then(() => b)), options);
  expect(broken).toMatchObject({ ok: false, rootHash: null, firstBrokenPosition: options.at ?? position });
  expect(broken.reason).toMatch(reason);
  expect(await fullVerify(B)).toMatchObject({ ok: true, eventsChecked: await head(B), firstBrokenPosition: null });
  return broken;
}

describe('untouched logs', () => {
  it('number each organisation\'s events 1..n without gaps, and verify in full and incrementally, every event checked', async () => {
    for (const org of [A, B]) {
      const n = await head(org);
      expect((await eventsOf(org)).map((e) => e.position)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(n).toBeGreaterThan(10);
      const expected = { ok: true, organisationId: org, full: true, checkedFrom: 0, treeSize: n, eventsChecked: n, firstBrokenPosition: null, reason: null, rootHash: b64(rootOf(await leavesOf(org))) };
      expect(await fullVerify(org)).toMatchObject(expected);
      expect(await inSnapshot(db.orm, (sql) => verifyLog(sql, org, { signing: keys.signing }))).toMatchObject(expected);
    }
  });
});

describe('the tamper drill on B, behind the trigger', () => {
  it.each([
    ['edited data', 'CheckInRecorded', 2, SET_CONFIDENCE, () => /^event \d+ \(CheckInRecorded on .+\) does not match its leaf hash: its content was changed$/],
    ['an edited actor', 'KeyResultDefined', 0, `UPDATE okr_events SET metadata = jsonb_set(metadata, '{actor}', '"mallory"') ${WHERE}`, () => /does not match its leaf hash/],
    ['a recorded time moved by a microsecond', 'CheckInRecorded', 3, `UPDATE okr_events SET recorded_at = recorded_at + interval '1 microsecond' ${WHERE}`, () => /has a recorded time finer than the millisecond/],
    ['another quarter tag than its data names', 'CheckInRecorded', 3, `UPDATE okr_events SET quarter_id = 'elsewhere' ${WHERE}`, () => /is filed under another quarter or unit than its data names/],
    ['a removed event (a gap)', 'CheckInRecorded', 1, `DELETE FROM okr_events ${WHERE}`, (p: number) => new RegExp(`^event ${p} is missing from the log$`)],
    ['a removed tail (the head says more)', 'CheckInRecorded', -1, `DELETE FROM okr_events ${WHERE}`, (p: number) => new RegExp(`^the log ends at ${p - 1} but its head says ${p}`)],
  ])('finds %s at its own position', async (_what, type, nth, statement, reason) => {
    const target = await positionOf(B, type, nth);
    expect(await drill(target, statement, reason(target))).toMatchObject({ eventsChecked: statement.startsWith('DELETE') ? target - 1 : target });
  });

  it('catches an event edited together with its leaf hash: by the stored interior node above it', async () => {
    const target = await positionOf(B, 'CheckInRecorded', 1);
    const pair = target - ((target - 1) % 2); // the level-1 node over the target and its sibling
    await drill(target, SET_DATA_AND_LEAF, new RegExp(`^the stored tree node over positions ${pair} to ${pair + 1} does not match those events$`), { params: [await editedLeaf(B, target)], at: pair });
  });

  it('catches an event, its leaf, the tree and the head all rewritten to fit: by the signed checkpoint', async () => {
    const signed = (await audit.record(B)) as StoredCheckpoint;
    const target = await positionOf(B, 'CheckInRecorded', 4);
    const reason = new RegExp(`^the log up to ${signed.treeSize} no longer gives the root signed in its checkpoint`);
    await drill(target, SET_DATA_AND_LEAF, reason, { params: [await editedLeaf(B, target)], refit: true, at: signed.treeSize });
  });

  it('reports a deleted interior node at its first position, rather than throwing', async () => {
    const [node] = await db.sql.query<{ idx: string; hash: Buffer }>('SELECT idx, hash FROM okr_tree_nodes WHERE organisation_id = ? AND level = 1 ORDER BY idx OFFSET 1 LIMIT 1', [B]);
    const remove = () => asSuperuser((c) => c.query('DELETE FROM okr_tree_nodes WHERE organisation_id = $1 AND level = 1 AND idx = $2', [B, node?.idx]), ['okr_tree_nodes']);
    const restore = () => su.query('INSERT INTO okr_tree_nodes (organisation_id, level, idx, hash) VALUES ($1, 1, $2, $3)', [B, node?.idx, node?.hash]);
    const broken = await during(remove, restore, () => fullVerify(B).catch((error: unknown) => ({ threw: String(error) })));
    expect(broken).toMatchObject({ ok: false, firstBrokenPosition: Number(node?.idx) * 2 + 1 });
    expect((await fullVerify(B)).ok).toBe(true);
  });

  it('reports an event inserted past the head (no trigger stops an INSERT) at head + 1', async () => {
    const last = await head(B);
    const [event] = await store.readLeaves(db.sql, { organisationId: B, after: last - 1, limit: 1 });
    const leaf = eventLeafHash({ ...(event as NonNullable<typeof event>), position: last + 1, version: (event?.version ?? 0) + 1 }); // its own leaf, right
    const insert = () => su.query(`INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, leaf_hash)
      SELECT position + 1, organisation_id, stream_id, stream_version + 1, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, $3 FROM okr_events ${WHERE}`, [B, last, leaf]);
    const remove = () => asSuperuser((c) => c.query(`DELETE FROM okr_events ${WHERE}`, [B, last + 1]));
    expect(await during(insert, remove, () => fullVerify(B))).toMatchObject({ ok: false, firstBrokenPosition: last + 1 });
    expect((await fullVerify(B)).ok).toBe(true);
  });

  it('catches a rewritten head frontier', async () => {
    const frontier = (await db.sql.query<{ frontier: string[] }>('SELECT frontier FROM okr_log_heads WHERE organisation_id = ?', [B]))[0]?.frontier ?? [];
    const setFrontier = (f: string[]) => su.query('UPDATE okr_log_heads SET frontier = $2::jsonb WHERE organisation_id = $1', [B, JSON.stringify(f)]);
    const broken = await during(() => setFrontier([...frontier.slice(0, -1), b64(Buffer.alloc(32, 7))]), () => setFrontier(frontier), () => Promise.all([fullVerify(B), fullVerify(A)]));
    expect(broken[1].ok).toBe(true);
    expect(broken[0]).toMatchObject({ ok: false, firstBrokenPosition: await head(B), reason: expect.stringMatching(/^the head's record of the tree does not match/) });
    expect((await fullVerify(B)).ok).toBe(true);
  });
});

/** The superuser rewrites the note and key name of org's checkpoint at `size`, its trigger off. */
const setCheckpointNote = (org: string, size: number, note: string, keyName: string): Promise<void> =>
  asSuperuser((c) => c.query('UPDATE okr_checkpoints SET note = $3, key_name = $4 WHERE organisation_id = $1 AND tree_size = $2', [org, size, note, keyName]), ['okr_checkpoints']);
const signedBy = (text: string, keyName: string): string => signNote(text, [signerFromKey(generateSignerKey(keyName).signerKey)]);

describe('incremental verification', () => {
  let verified = 0;
  let original: StoredCheckpoint;

  it('begins where the last one ended and checks only what was appended since', async () => {
    const first = await audit.verify(B);
    expect(first).toMatchObject({ ok: true, full: true, checkedFrom: 0, treeSize: await head(B), eventsChecked: await head(B) });
    for (let i = 0; i < 3; i += 1) for (const org of [B, A]) await checkIn(org, 20 + i);
    const second = await audit.verify(B);
    expect(second).toMatchObject({ ok: true, full: false, checkedFrom: first.treeSize, treeSize: first.treeSize + 3, eventsChecked: 3 });
    expect(await audit.verify(B)).toMatchObject({ ok: true, checkedFrom: second.treeSize, treeSize: second.treeSize, eventsChecked: 0 });
    verified = second.treeSize;
    original = (await audit.latest(B)) as StoredCheckpoint;
  });

  it('does not see an edit before checkedFrom (the documented trade-off); `full: true` does', async () => {
    const target = await positionOf(B, 'CheckInRecorded', 0);
    await whileEdited(B, target, SET_CONFIDENCE, async () => {
      expect(await audit.verify(B)).toMatchObject({ ok: true, checkedFrom: verified, eventsChecked: 0 });
      expect(await audit.verify(B, { full: true })).toMatchObject({ ok: false, full: true, checkedFrom: 0, firstBrokenPosition: target });
    });
    expect(await audit.verify(B, { full: true })).toMatchObject({ ok: true, eventsChecked: verified });
  });

  it('begins at 0 unless the record of the last verification carries the service\'s signature over what its row says', async () => {
    const [{ root_hash: root, note }] = (await db.sql.query<{ root_hash: Buffer; note: string }>('SELECT root_hash, note FROM okr_audit_verifications WHERE organisation_id = ?', [B])) as [{ root_hash: Buffer; note: string }];
    const setRecord = (...row: [number, Buffer, string]) => su.query('UPDATE okr_audit_verifications SET tree_size = $2, root_hash = $3, note = $4 WHERE organisation_id = $1', [B, ...row]);
    const forgeries: [number, Buffer, string][] = [
      [verified, root, signedBy(openNote(note, keys.signing.verifiers).text, keys.signing.signer.name)], // another key of the same name
      [verified - 1, rootOf((await leavesOf(B)).slice(0, verified - 1)), note], // the row moved to a true root, its signed text not
    ];
    for (const forged of forgeries) {
      const result = await during(() => setRecord(...forged), () => setRecord(verified, root, note), () => audit.verify(B, { record: false }));
      expect(result).toMatchObject({ ok: true, full: true, checkedFrom: 0, eventsChecked: verified });
    }
    expect(await audit.verify(B)).toMatchObject({ ok: true, checkedFrom: verified });
  });

  it('reports, in full, a checkpoint not validly signed by an accepted key', async () => {
    const [text, line] = original.note.split('\n\n') as [string, string];
    const signature = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
    signature.writeUInt8(signature.readUInt8(20) ^ 1, 20); // past the 4-byte key id: the service's key, a bad signature
    const forgeries: [note: string, keyName: string, reason: RegExp][] = [
      [signedBy(`${text}\n`, original.keyName), original.keyName, /its signature does not verify with the accepted keys/], // another key of that name
      [signedBy(`${text}\n`, 'someone-else'), 'someone-else', /it names key "someone-else", which this deployment does not accept/],
      [`${text}\n\n${line.slice(0, line.lastIndexOf(' ') + 1)}${signature.toString('base64')}\n`, original.keyName, /its signature does not verify/],
    ];
    const restore = () => setCheckpointNote(B, verified, original.note, original.keyName);
    for (const [note, keyName, reason] of forgeries) {
      const result = await during(() => setCheckpointNote(B, verified, note, keyName), restore, () => fullVerify(B));
      expect(result).toMatchObject({ ok: false, firstBrokenPosition: verified, reason: expect.stringMatching(`the checkpoint signed at size ${verified}: `) });
      expect(result.reason).toMatch(reason);
    }
    expect((await fullVerify(B)).ok).toBe(true);
  });
});

describe('checkpoints', () => {
  const rowsOf = async (org: string): Promise<number> =>
    Number((await db.sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_checkpoints WHERE organisation_id = ?', [org]))[0]?.n);

  it('are signed with a quarter close, in its transaction, at the head right after it; not again at an unchanged head; open with the public key', async () => {
    const ofA = await rowsOf(A);
    const { events } = await cmd(B).closeQuarter('2026-Q4');
    const close = events.find((e) => e.type === 'QuarterClosed');
    const signed = await audit.latest(B);
    expect(signed).toMatchObject({ organisationId: B, treeSize: await head(B), signedAt: close?.recordedAt, rootHash: rootOf(await leavesOf(B)) });
    expect(signed?.treeSize).toBe(close?.position);
    expect(await rowsOf(A)).toBe(ofA);
    const rows = await rowsOf(B);
    expect([await audit.record(B), await audit.record(B)]).toEqual([signed, signed]);
    expect(await rowsOf(B)).toBe(rows);
    expect(await audit.record('org-empty')).toBeNull();
    // The note opens with the public key (and no other) and names the organisation in its origin.
    const { text, signatures } = openNote(signed?.note ?? '', [verifierFromKey(audit.publicKey)]);
    expect(signatures.map((sig) => sig.name)).toEqual([keys.signing.signer.name]);
    expect(parseCheckpoint(text)).toEqual({ origin: audit.originOf(B), size: signed?.treeSize, root: signed?.rootHash, extensions: [] });
    expect(parseCheckpoint(text).origin.endsWith(`/${B}`)).toBe(true);
    expect(() => openNote(signed?.note ?? '', [ephemeralCheckpointKeys().verifier])).toThrow(NoteVerificationError);
  });

  it('are refused (and so is a quarter close) when the stored tree no longer gives the last checkpoint\'s root', async () => {
    const signed = (await audit.latest(B)) as StoredCheckpoint;
    // An interior node under the signed root but not under the head's: editing it leaves the head's root intact.
    const detached = (size: number) => frontierRefs(signed.treeSize).find((r) => r.level > 0 && !frontierRefs(size).some((h) => h.level === r.level && h.index === r.index));
    for (let i = 0; detached(await head(B)) === undefined; i += 1) await checkIn(B, 40 + i);
    const node = detached(await head(B));
    const where = [B, node?.level, node?.index];
    const [stored] = await db.sql.query<{ hash: Buffer }>('SELECT hash FROM okr_tree_nodes WHERE organisation_id = ? AND level = ? AND idx = ?', where);
    const setNode = (hash: Buffer) => asSuperuser((c) => c.query('UPDATE okr_tree_nodes SET hash = $4 WHERE organisation_id = $1 AND level = $2 AND idx = $3', [...where, hash]), ['okr_tree_nodes']);
    const size = await head(B);
    const refusal = new RegExp(`no longer gives the root signed at size ${signed.treeSize}; no checkpoint was signed`);
    await during(() => setNode(Buffer.alloc(32, 9)), () => setNode(Buffer.from(stored?.hash ?? [])), async () => {
      const recorded = await audit.record(B).catch((error: unknown) => error);
      expect(recorded).toBeInstanceOf(TreeInconsistentError);
      expect((recorded as Error).message).toMatch(refusal);
      await expect(cmd(B).closeQuarter('2026-Q3')).rejects.toThrow(refusal);
      expect(await head(B)).toBe(size); // the close was rolled back with its checkpoint
    });
    await cmd(B).closeQuarter('2026-Q3');
    expect(await audit.latest(B)).toMatchObject({ treeSize: size + 1 });
    expect((await fullVerify(B)).ok).toBe(true);
  });
});

describe('proofs', () => {
  it('verify against the root recomputed naively, and not against another organisation\'s', async () => {
    const leaves = new Map([[A, await leavesOf(A)], [B, await leavesOf(B)]]);
    const unhash = (hashes: string[]): Hash[] => hashes.map((h) => Buffer.from(h, 'base64'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(A, B), fc.nat(), fc.nat(), async (org, x, y) => {
        const [own, other] = [leaves.get(org) as Hash[], leaves.get(org === A ? B : A) as Hash[]];
        const size = 1 + (x % own.length);
        const position = 1 + (y % size);
        const leaf = own[position - 1] as Hash;
        const [root, oldRoot, otherRoot] = [rootOf(own.slice(0, size)), rootOf(own.slice(0, position)), rootOf(other.slice(0, size))];
        const inclusion = await audit.inclusion(org, position, size);
        expect(inclusion).toMatchObject({ position, treeSize: size, leafHash: b64(leaf) });
        expect(verifyInclusion(position - 1, size, leaf, unhash(inclusion.hashes), root)).toBe(true);
        expect(verifyInclusion(position - 1, size, leaf, unhash(inclusion.hashes), otherRoot)).toBe(false);
        const consistency = await audit.consistency(org, position, size);
        expect(consistency).toMatchObject({ from: position, to: size });
        expect(verifyConsistency(position, size, unhash(consistency.hashes), oldRoot, root)).toBe(true);
        expect(verifyConsistency(position, size, unhash(consistency.hashes), oldRoot, otherRoot)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('out of range raise AuditRangeError with its reason', async () => {
    const n = await head(B);
    const cases: [() => Promise<unknown>, AuditRangeError['reason']][] = [
      [() => audit.inclusion(B, 0), 'POSITION_OUT_OF_RANGE'], [() => audit.inclusion(B, n + 1), 'POSITION_OUT_OF_RANGE'], [() => audit.inclusion(B, 3, 2), 'POSITION_OUT_OF_RANGE'],
      [() => audit.inclusion(B, 1.5), 'POSITION_OUT_OF_RANGE'], [() => audit.inclusion(B, 1, n + 1), 'TREE_SIZE_OUT_OF_RANGE'], [() => audit.inclusion(B, 1, 0), 'TREE_SIZE_OUT_OF_RANGE'],
      [() => audit.inclusion('org-empty', 1), 'TREE_SIZE_OUT_OF_RANGE'], [() => audit.consistency(B, 1, n + 1), 'TREE_SIZE_OUT_OF_RANGE'],
      [() => audit.consistency(B, 0, n), 'TREE_SIZES_OUT_OF_ORDER'], [() => audit.consistency(B, 3, 2), 'TREE_SIZES_OUT_OF_ORDER'],
    ];
    for (const [ask, reason] of cases) expect(await ask().catch((e: unknown) => e)).toEqual(expect.objectContaining({ name: 'AuditRangeError', reason }));
    expect(await audit.inclusion(B, 0).catch((e: unknown) => e)).toBeInstanceOf(AuditRangeError);
    await expect(audit.inclusion('org-empty', 1)).rejects.toThrow(/log is empty/);
    await expect(audit.inclusion(B, 1, n + 1)).rejects.toThrow(new RegExp(`from 1 to ${n}`));
  });
});

describe('the quarter digest', () => {
  const Q = '2027-Q1';
  it('is per organisation, equals sha256 over the quarter\'s leaf hashes, and changes when one of its events is edited, only then', async () => {
    const [a, b] = [await audit.digest(A, Q), await audit.digest(B, Q)];
    for (const [org, digest] of [[A, a], [B, b]] as const) {
      const events = await eventsOf(org, { quarterId: Q });
      expect(digest).toMatchObject({ organisationId: org, quarterId: Q, events: events.length, firstPosition: events[0]?.position, lastPosition: events.at(-1)?.position });
      expect(digest.digest).toBe(createHash('sha256').update(Buffer.concat(events.map((e) => e.leaf))).digest('hex'));
    }
    expect(a.digest).not.toBe(b.digest);
    const digests = async () => [(await audit.digest(A, Q)).digest, (await audit.digest(B, Q)).digest];
    const retitle = `UPDATE okr_events SET data = jsonb_set(data, '{title}', '"edited"') ${WHERE}`;
    expect(await whileEdited(B, await positionOf(B, 'ObjectiveDrafted', 0, '2027-Q2'), retitle, digests)).toEqual([a.digest, b.digest]); // another quarter
    const [editedA, sameB] = await whileEdited(A, await positionOf(A, 'CheckInRecorded', 1), SET_CONFIDENCE, digests);
    expect([editedA === a.digest, sameB]).toEqual([false, b.digest]);
    const [sameA, editedB] = await whileEdited(B, await positionOf(B, 'CheckInRecorded', 1), SET_CONFIDENCE, digests);
    expect([sameA, editedB === b.digest]).toEqual([a.digest, false]);
    expect([await audit.digest(A, Q), await audit.digest(B, Q)]).toEqual([a, b]);
  });
});
