import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyLog } from '../events/audit';
import { generateSignerKey, openNote, parseCheckpoint, signNote, signerFromKey, verifierFromKey } from '../events/note';
import { checkpointKeysFrom } from '../src/checkpointKeys';
import { Commands } from '../src/commands';
import { inSnapshot } from '../src/database';
import { Ledger } from '../src/ledger';
import { runOkr, type CliRun } from './support/cli';
import { createTestDatabase, type TestDatabase } from './support/database';

/**
 * What an auditor does with the command line, end to end: make a key (`keys generate`), keep a signed
 * checkpoint (`audit checkpoint`), one exported event line (`export --format ndjson`), its inclusion proof
 * (`audit prove`) and the public key (`audit public-key`); later a newer checkpoint and the consistency
 * proof between the two (`audit consistency`). `audit check-event` and `audit check-consistency` then
 * accept those files with DATABASE_URL pointing at a server that does not exist (they need no database),
 * and refuse (exit 1, with the reason) a tampered line, a proof of another event, a checkpoint signed by
 * another key or of another organisation, swapped checkpoints and a tampered proof. `audit verify` exits 1
 * with the position on stderr after a superuser's edit; usage mistakes exit 2.
 */
const LONG = 180_000;
const [ORG, OTHER] = ['org-x', 'org-y'];
const UNREACHABLE = 'postgres://nobody@127.0.0.1:1/none';
let db: TestDatabase;
let dir: string;
let env: Record<string, string>;
let publicKey = '';
const otherSignerKey = generateSignerKey('okr.test.example').signerKey; // same name, another key
let now = new Date('2027-01-10T09:00:00Z');
const keyResults = new Map<string, string>();
let commands: Map<string, Commands>;

const okr = (args: string[], extra: Record<string, string> = {}): Promise<CliRun> => runOkr(args, { ...env, ...extra });
/** The command line with no database to reach: what runs on an auditor's machine. */
const offline = (args: string[]): Promise<CliRun> => okr(args, { DATABASE_URL: UNREACHABLE });
const save = (name: string, content: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};

function expectExit(run: CliRun, code: number, stderr?: RegExp): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: stderr ? expect.stringMatching(stderr) : expect.any(String) });
}

async function checkIn(org: string, i: number): Promise<void> {
  now = new Date(now.getTime() + 3_600_000);
  await commands.get(org)?.recordCheckIn({ keyResultId: keyResults.get(org) as string, confidence: 40 + i, value: 2 - i / 10, whatChanged: `${org} week ${i}` });
}

beforeAll(async () => {
  db = await createTestDatabase('auditoffline');
  dir = mkdtempSync(path.join(tmpdir(), 'okr-audit-offline-'));
  const ledger = new Ledger(db.orm, () => now);
  commands = new Map([ORG, OTHER].map((org) => [org, new Commands(ledger, { organisationId: org, actor: `${org}-admin`, correlationId: 'c' })]));
  for (const [org, c] of commands) {
    const { result: unit } = await c.registerUnit({ name: `Acme ${org}`, level: 'COMPANY', parentId: null });
    await c.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
    const { result: objective } = await c.draftObjective({ unitId: unit.unitId, quarterId: '2027-Q1', title: 'Customers trust us' });
    const { result: kr } = await c.defineKeyResult({ objectiveId: objective.objectiveId, title: 'Failed payments 2% to 1%', metric: '%', baseline: 2, target: 1 });
    keyResults.set(org, kr.keyResultId);
  }
  for (let i = 0; i < 5; i += 1) for (const org of [ORG, OTHER]) await checkIn(org, i);

  // The key as an operator makes it; the private key goes to the service, the public one to auditors.
  const key = await runOkr(['keys', 'generate', '--name', 'okr.test.example'], {});
  expectExit(key, 0, /^public key: okr\.test\.example\+[0-9a-f]{8}\+/);
  expect(key.stdout).toMatch(/^PRIVATE\+KEY\+okr\.test\.example\+[0-9a-f]{8}\+\S+\n$/);
  publicKey = key.stderr.replace(/^public key: /, '').trim();
  env = { DATABASE_URL: db.url, OKR_CHECKPOINT_KEY: key.stdout.trim(), OKR_CHECKPOINT_KEY_FILE: '', OKR_LOG_ORIGIN: '', OKR_DATA_DIR: dir, OKR_ORGANISATION: ORG };
}, LONG);
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The note's body signed by another key: a forgery that keeps every byte of what it claims. */
const resignedByOther = (note: string): string => signNote(note.slice(0, note.lastIndexOf('\n\n') + 1), [signerFromKey(otherSignerKey)]);
const sizeOf = (note: string): number => parseCheckpoint(openNote(note, [verifierFromKey(publicKey)]).text).size;

let older = { note: '', file: '', size: 0 };

describe('audit check-event', () => {
  it('accepts an exported event with its proof against a kept checkpoint without a database, and refuses anything else', async () => {
    const [checkpoint, otherCheckpoint, exported, key] = await Promise.all([
      okr(['audit', 'checkpoint']),
      okr(['audit', 'checkpoint', '--organisation', OTHER]),
      okr(['export', '--quarter', '2027-Q1', '--format', 'ndjson']),
      offline(['audit', 'public-key']),
    ]);
    for (const run of [checkpoint, otherCheckpoint, exported, key]) expectExit(run, 0);
    expect(key.stdout.trim()).toBe(publicKey);
    expect(key.stderr).toMatch(new RegExp(`origin "okr\\.test\\.example/${ORG}"`));
    const size = sizeOf(checkpoint.stdout);
    older = { note: checkpoint.stdout, file: save('checkpoint.txt', checkpoint.stdout), size };
    const lines = exported.stdout.split('\n').filter((l) => l !== '');
    const line = lines.find((l) => (JSON.parse(l) as { type: string }).type === 'CheckInRecorded') as string;
    const position = (JSON.parse(line) as { position: number }).position;
    const [proof, otherProof] = await Promise.all([
      okr(['audit', 'prove', '--position', String(position), '--tree-size', String(size)]),
      okr(['audit', 'prove', '--position', String(position + 1), '--tree-size', String(size)]),
    ]);
    expectExit(proof, 0);
    expectExit(otherProof, 0);

    const files = { checkpoint: older.file, event: save('event.ndjson', `${line}\n`), proof: save('proof.json', proof.stdout), key: save('key.txt', key.stdout) };
    const check = (f: Partial<typeof files> & { publicKey?: string }) =>
      offline(['audit', 'check-event', '--checkpoint', f.checkpoint ?? files.checkpoint, '--public-key', f.publicKey ?? files.key, '--event', f.event ?? files.event, '--proof', f.proof ?? files.proof]);
    const ok = await check({});
    expectExit(ok, 0, /^$/);
    expect(ok.stdout).toMatch(new RegExp(`^OK: event ${position} of "okr\\.test\\.example/${ORG}" is in the log of ${size} events`));
    expectExit(await check({ publicKey }), 0); // the key itself instead of a file holding it

    const tampered = line.replace(/"confidence":(\d)/, (_m, d: string) => `"confidence":${(Number(d) + 1) % 10}`);
    expect(tampered).not.toBe(line);
    const relabelled = { ...(JSON.parse(otherProof.stdout) as object), position, leafHash: (JSON.parse(proof.stdout) as { leafHash: string }).leafHash };
    const refusals: [Partial<typeof files>, RegExp][] = [
      [{ event: save('tampered.ndjson', `${tampered}\n`) }, /^FAILED: the event line does not give the proof's leaf hash/],
      [{ proof: save('other-proof.json', otherProof.stdout) }, new RegExp(`^FAILED: the proof is for position ${position + 1}, the event is at ${position}`)],
      [{ proof: save('relabelled-proof.json', JSON.stringify(relabelled)) }, /^FAILED: the proof does not lead from this event to the root signed/],
      [{ checkpoint: save('forged-checkpoint.txt', resignedByOther(checkpoint.stdout)) }, /^FAILED: the checkpoint does not verify with this public key/],
      [{ checkpoint: save('other-org-checkpoint.txt', otherCheckpoint.stdout) }, new RegExp(`^FAILED: the checkpoint is of log "okr\\.test\\.example/${OTHER}", not of organisation "${ORG}"`)],
    ];
    const runs = await Promise.all(refusals.map(([f]) => check(f)));
    runs.forEach((run, i) => {
      expectExit(run, 1, refusals[i]?.[1]);
      expect(run.stdout).toBe('');
    });
  }, LONG);
});

describe('audit check-consistency', () => {
  it('accepts a newer checkpoint that extends a kept one without a database; refuses them swapped or with a tampered proof', async () => {
    for (let i = 0; i < 3; i += 1) await checkIn(ORG, 10 + i);
    const newer = await okr(['audit', 'checkpoint']);
    expectExit(newer, 0);
    const size = sizeOf(newer.stdout);
    expect(size).toBe(older.size + 3);
    const proof = await okr(['audit', 'consistency', '--from', String(older.size), '--to', String(size)]);
    expectExit(proof, 0);
    const files = { older: older.file, newer: save('newer.txt', newer.stdout), proof: save('consistency.json', proof.stdout), key: save('key.txt', `${publicKey}\n`) };
    const check = (f: Partial<typeof files>) =>
      offline(['audit', 'check-consistency', '--older', f.older ?? files.older, '--newer', f.newer ?? files.newer, '--public-key', files.key, '--proof', f.proof ?? files.proof]);

    const ok = await check({});
    expectExit(ok, 0, /^$/);
    expect(ok.stdout).toMatch(new RegExp(`^OK: the log of ${size} events extends the log of ${older.size} events`));

    const parsed = JSON.parse(proof.stdout) as { hashes: string[] };
    expect(parsed.hashes.length).toBeGreaterThan(0);
    const tampered = { ...parsed, hashes: [Buffer.alloc(32, 3).toString('base64'), ...parsed.hashes.slice(1)] };
    const refusals: [Partial<typeof files>, RegExp][] = [
      [{ older: files.newer, newer: files.older }, new RegExp(`^FAILED: the older checkpoint \\(${size} events\\) is larger than the newer \\(${older.size}\\)`)],
      [{ proof: save('tampered-consistency.json', JSON.stringify(tampered)) }, new RegExp(`^FAILED: the proof does not show the log of ${size} events extending the log of ${older.size}`)],
      [{ newer: save('tampered-newer.txt', newer.stdout.replace(/^(.*\n.*\n).*\n/, `$1${Buffer.alloc(32, 5).toString('base64')}\n`)) }, /^FAILED: the newer checkpoint does not verify with this public key: invalid signature/],
    ];
    const runs = await Promise.all(refusals.map(([f]) => check(f)));
    runs.forEach((run, i) => expectExit(run, 1, refusals[i]?.[1]));
  }, LONG);
});

describe('audit verify and usage mistakes', () => {
  it('exits 0 on the untouched log and 1, naming the position, after a superuser\'s edit', async () => {
    const clean = await okr(['audit', 'verify']);
    expectExit(clean, 0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, organisationId: ORG, firstBrokenPosition: null });

    const c = await db.client();
    const [{ position, data }] = (await c.query<{ position: string; data: string }>(
      "SELECT position, data::text AS data FROM okr_events WHERE organisation_id = $1 AND type = 'CheckInRecorded' ORDER BY position LIMIT 1", [ORG])).rows as [{ position: string; data: string }];
    const setData = async (statement: string, value: string) => {
      await c.query('BEGIN');
      await c.query('ALTER TABLE okr_events DISABLE TRIGGER okr_events_append_only');
      await c.query(`UPDATE okr_events SET data = ${statement} WHERE organisation_id = $1 AND position = $2`, [ORG, position, value]);
      await c.query('ALTER TABLE okr_events ENABLE TRIGGER okr_events_append_only');
      await c.query('COMMIT');
    };
    await setData("jsonb_set(data, '{confidence}', to_jsonb($3::int))", '99');
    try {
      // --full: the clean run above recorded its verification, and a plain verify begins there.
      const broken = await okr(['audit', 'verify', '--full']);
      expectExit(broken, 1, new RegExp(`The log of ${ORG} does not match at position ${position}: event ${position} \\(CheckInRecorded`));
      expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, firstBrokenPosition: Number(position) });
    } finally {
      await setData('$3::jsonb', data);
    }
    const { signing } = checkpointKeysFrom(env.OKR_CHECKPOINT_KEY as string, { source: 'the test' });
    expect(await inSnapshot(db.orm, (sql) => verifyLog(sql, ORG, { full: true, signing }))).toMatchObject({ ok: true });
  }, LONG);

  it('exit 2 on usage mistakes, before reaching for any database', async () => {
    const runs = await Promise.all([
      offline(['audit', 'prove']),
      offline(['audit', 'prove', '--position', 'abc']),
      offline(['audit', 'check-event', '--checkpoint', path.join(dir, 'missing.txt')]),
    ]);
    expectExit(runs[0] as CliRun, 2, /^--position is required\./);
    expectExit(runs[1] as CliRun, 2, /^--position must be a whole number of at least 1 \(got "abc"\)/);
    expectExit(runs[2] as CliRun, 2, /^--checkpoint .*missing\.txt cannot be read/);
  }, LONG);
});
