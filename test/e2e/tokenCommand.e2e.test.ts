import { decodeJwt } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { runOkr } from '../support/cli';
import { startTestServer, type TestServer } from '../support/server';

/**
 * `npm run okr -- token` mints tokens the server accepts: with iat and exp, living at most
 * OKR_JWT_MAX_LIFETIME, with claims the server's checks let through. It refuses (exit 2) to mint
 * anything the server would refuse.
 */
const SECRET = 'token-command-secret-at-least-32-characters';
const LONG = 120_000;
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer('tokencmd', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
});
afterAll(() => t.close());

const mint = (args: string[], env: Record<string, string> = {}) => runOkr(['token', ...args], { OKR_JWT_SECRET: SECRET, ...env });

it('mints a token with iat and an 8-hour exp that the server accepts', async () => {
  const run = await mint(['--sub', 'ada', '--role', 'admin', '--org', ' org-t ']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const token = run.stdout.trim();
  const claims = decodeJwt(token);
  expect(claims).toMatchObject({ sub: 'ada', org: 'org-t', role: 'admin', units: [] });
  expect((claims.exp as number) - (claims.iat as number)).toBe(8 * 3600);
  expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(600);
  const res = await t.gql('{ units { id } }', {}, token);
  expect(res).toMatchObject({ status: 200, data: { units: [] } });
  expect(res.errors).toBeUndefined();
}, LONG);

it('keeps to OKR_JWT_MAX_LIFETIME: the default lifetime shrinks to it, a longer --ttl is refused', async () => {
  const short = await mint(['--sub', 'ada', '--role', 'analyst'], { OKR_JWT_MAX_LIFETIME: '3600' });
  expect(short.code).toBe(0);
  const claims = decodeJwt(short.stdout.trim());
  expect((claims.exp as number) - (claims.iat as number)).toBe(3600);

  const tooLong = await mint(['--sub', 'ada', '--role', 'analyst', '--ttl', '2h'], { OKR_JWT_MAX_LIFETIME: '3600' });
  expect(tooLong.code).toBe(2);
  expect(tooLong.stderr).toContain('--ttl 2h is longer than OKR_JWT_MAX_LIFETIME (3600 seconds)');
  expect(tooLong.stdout).toBe('');
}, LONG);

it.each([
  ['a lifetime over the 24-hour default limit', ['--sub', 'ada', '--role', 'admin', '--ttl', '25h'], 'longer than OKR_JWT_MAX_LIFETIME'],
  ['a lifetime of zero', ['--sub', 'ada', '--role', 'admin', '--ttl', '0s'], '--ttl must be a number above 0'],
  ['a subject with a right-to-left override', ['--sub', 'ada\u202Etxt', '--role', 'admin'], '--sub must be 1-200 characters of printable text'],
  ['an organisation id with a space', ['--sub', 'ada', '--role', 'admin', '--org', 'acme corp'], '--org must be'],
  ['a unit id with a bidirectional isolate', ['--sub', 'mia', '--role', 'member', '--units', 'u1,u\u20662'], '--units must be unit ids'],
  ['a service without key results', ['--sub', 'ci', '--role', 'service'], 'A service needs --key-results'],
  ['key results for a role that is not a service', ['--sub', 'mia', '--role', 'member', '--units', 'u1', '--key-results', 'k1'], '--key-results is for services'],
  ['a key result id with a control character', ['--sub', 'ci', '--role', 'service', '--key-results', 'k1,k\t2'], '--key-results must be key result ids'],
])('refuses (exit 2) to mint a token with %s', async (_label, args, message) => {
  const run = await mint(args);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(message);
  expect(run.stdout).toBe('');
}, LONG);
