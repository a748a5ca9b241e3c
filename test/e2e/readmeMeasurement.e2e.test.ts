import { spawn } from 'node:child_process';
import { SignJWT, decodeJwt } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { runOkr } from '../support/cli';
import { blocks } from '../support/readmeExamples';
import { startTestServer, type TestServer } from '../support/server';

/**
 * README's CI example works as written: a service token minted with `npm run okr -- token --role service`,
 * and the shell that posts a measurement with curl (the same lines the GitHub Actions workflow runs), run
 * by bash against the real server. Why: a README command that no longer works is a bug.
 */

const SECRET = 'readme-measurement-secret-at-least-32-chars';
const ORG = 'org-ci';
const LONG = 120_000;
let t: TestServer;
let keyResult: string;
let otherKeyResult: string;
let token: string;

/** README's shell block that posts a measurement. */
const post = blocks('sh').find((b) => b.includes('recordMeasurement'));
const workflow = blocks('yaml').find((b) => b.includes('recordMeasurement'));

/** Runs the block with bash, the job's environment set. */
function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdin from /dev/null: on a socket (node's pipes) bash would take itself for a remote shell and read ~/.bashrc.
    const child = spawn('bash', ['-e', '-c', post ?? 'exit 99'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  t = await startTestServer('readmeci', '2027-01-20T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  const admin = await new SignJWT({ org: ORG, role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('ada').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
  const ok = async (query: string, variables?: Record<string, unknown>) => {
    const res = await t.gql(query, variables, admin);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data as any;
  };
  const company = (await ok(`mutation { registerUnit(input: { name: "Acme", level: COMPANY }) { id } }`)).registerUnit.id;
  await ok(`mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  const objective = (await ok(`mutation($u: ID!) { draftObjective(input: { unitId: $u, quarterId: "2027-Q1", title: "Engineers ship without waiting" }) { id } }`, { u: company })).draftObjective.id;
  const define = `mutation($o: ID!, $t: String!) { defineKeyResult(input: { objectiveId: $o, title: $t, metric: "p95 CI duration", unit: "min", baseline: 42, target: 15 }) { id } }`;
  keyResult = (await ok(define, { o: objective, t: 'Reduce p95 CI pipeline duration from 42 minutes to under 15 minutes' })).defineKeyResult.id;
  otherKeyResult = (await ok(define, { o: objective, t: 'Reduce p95 integration test duration from 42 to 15 minutes' })).defineKeyResult.id;
  // As README mints it.
  const minted = await runOkr(['token', '--sub', 'ci-pipeline', '--role', 'service', '--key-results', keyResult, '--ttl', '24h'], { OKR_JWT_SECRET: SECRET, OKR_ORGANISATION: ORG });
  expect(minted).toMatchObject({ code: 0, stderr: '' });
  token = minted.stdout.trim();
  expect(decodeJwt(token)).toMatchObject({ sub: 'ci-pipeline', org: ORG, role: 'service', keyResults: [keyResult] });
}, LONG);
afterAll(() => t.close());

it('README has the shell that posts a measurement, and the workflow runs the same lines', () => {
  expect(post).toBeDefined();
  expect(workflow).toBeDefined();
  const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);
  const inWorkflow = new Set(lines(workflow ?? ''));
  expect(lines(post ?? '').filter((l) => !inWorkflow.has(l))).toEqual([]);
});

it('posts the measurement with the service token: printed, recorded once per CI run', async () => {
  const env = { OKR_URL: t.url, OKR_TOKEN: token, KEY_RESULT: keyResult, VALUE: '31.5', GITHUB_RUN_ID: '1041' };
  const first = await run(env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toEqual({ data: { recordMeasurement: { current: 31.5, currentAt: '2027-01-20T09:00:00.000Z' } }, extensions: expect.anything() });
  const events = await t.eventCount();
  expect((await run(env)).code).toBe(0); // the job retried: the same run id, nothing new
  expect(await t.eventCount()).toBe(events);
  const [row] = await t.db.sql.query<{ actor: string; source: string }>(
    "SELECT metadata->>'actor' AS actor, data->>'source' AS source FROM okr_events WHERE type = 'KeyResultMeasured' AND organisation_id = ?", [ORG]);
  expect(row).toEqual({ actor: 'ci-pipeline', source: 'github-actions/ci.yml' });
}, LONG);

it('fails the job when the ledger refuses the measurement', async () => {
  const before = await t.eventCount();
  const other = await run({ OKR_URL: t.url, OKR_TOKEN: token, KEY_RESULT: otherKeyResult, VALUE: '30', GITHUB_RUN_ID: '1042' });
  expect(other.code).toBe(1);
  expect(other.stdout).toContain('NOT_YOUR_KEY_RESULT');
  const unauthenticated = await run({ OKR_URL: t.url, OKR_TOKEN: 'not-a-token', KEY_RESULT: keyResult, VALUE: '30', GITHUB_RUN_ID: '1043' });
  expect(unauthenticated.code).toBe(1);
  expect(unauthenticated.stdout).toContain('UNAUTHENTICATED');
  expect(await t.eventCount()).toBe(before);
}, LONG);
