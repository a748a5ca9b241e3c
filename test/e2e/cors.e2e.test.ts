import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Browsers on other origins: CORS by OKR_CORS_ORIGINS (and any loopback origin in local development
 * mode), preflights answered, and Apollo's CSRF prevention still on.
 */
const SECRET = 'cors-test-secret-that-is-at-least-32-characters';
const APP = 'https://okr.example.com';
const query = JSON.stringify({ query: '{ units { id } }' });

const preflight = (url: string, origin: string, requestHeaders = 'content-type, authorization') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
  });

const post = (url: string, origin: string | null, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}), ...headers },
    body: query,
  });

function expectNoCorsHeaders(res: Response): void {
  for (const name of res.headers.keys()) expect(name).not.toMatch(/^access-control-/);
}

describe('CORS with authentication on and OKR_CORS_ORIGINS', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer('corsauth', undefined, undefined, {
      authenticator: jwtAuthenticator({ secret: SECRET }),
      corsOrigins: [APP, 'http://localhost:5173'],
    });
    token = await new SignJWT({ org: 'org-a', role: 'analyst' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
  });
  afterAll(() => t?.close());

  it('answers a preflight from a listed origin with 204 and what the browser may send', async () => {
    const res = await preflight(t.url, APP, 'content-type, authorization, apollo-require-preflight');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(res.headers.get('access-control-allow-headers')?.split(', ')).toEqual([
      'content-type',
      'authorization',
      'apollo-require-preflight',
      'x-apollo-operation-name',
      'x-request-id',
    ]);
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(await res.text()).toBe('');
  });

  it('lets a listed origin read answers, 401s included, with the request id and challenge exposed', async () => {
    const ok = await post(t.url, APP, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(await ok.json()).toMatchObject({ data: { units: [] } });

    const refused = await post(t.url, APP);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/x-request-id.*www-authenticate/);
  });

  it.each([
    ['an unlisted origin', 'https://evil.example.com'],
    ['a listed host on another scheme', 'http://okr.example.com'],
    ['a listed host on another port', 'https://okr.example.com:8443'],
    ['a loopback origin (only in local development mode)', 'http://localhost:3000'],
    ['the opaque origin of a sandboxed page or file', 'null'],
  ])('refuses a preflight from %s with 403 and no CORS headers', async (_label, origin) => {
    const res = await preflight(t.url, origin);
    expect(res.status).toBe(403);
    expectNoCorsHeaders(res);
    expect(((await res.json()) as { error: string }).error).toContain('OKR_CORS_ORIGINS');
  });

  it('gives an unlisted origin no CORS headers on a request, so its page cannot read the answer', async () => {
    const res = await post(t.url, 'https://evil.example.com', { authorization: `Bearer ${token}` });
    expectNoCorsHeaders(res);
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('sends no CORS headers to requests without an Origin (servers, curl)', async () => {
    const res = await post(t.url, null, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expectNoCorsHeaders(res);
  });
});

describe('CORS in local development mode (no authentication)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('corslocal');
  });
  afterAll(() => t?.close());

  it.each(['http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'http://localhost', 'https://localhost:5173'])(
    'allows the loopback origin %s',
    async (origin) => {
      const res = await preflight(t.url, origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      const answer = await post(t.url, origin);
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin);
      expect(await answer.json()).toMatchObject({ data: { units: [] } });
    },
  );

  it.each(['http://localhost.evil.com:5173', 'http://127.0.0.1.evil.com', 'https://example.com', 'http://localhost:5173.evil.com', 'null'])(
    'refuses %s',
    async (origin) => {
      const res = await preflight(t.url, origin);
      expect(res.status).toBe(403);
      expectNoCorsHeaders(res);
    },
  );
});

/**
 * Apollo's CSRF prevention stays on: a request that a page could send without a preflight (a GET, or a POST
 * with a form's or text's content type) runs only with a non-empty `apollo-require-preflight` or
 * `x-apollo-operation-name` header, or a content type other than those three. README says what to send.
 */
describe('CSRF prevention for GET clients', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('corscsrf');
  });
  afterAll(() => t?.close());

  const get = (headers: Record<string, string>) =>
    fetch(`${t.url}?query=${encodeURIComponent('{ units { id } }')}`, { headers: { accept: 'application/graphql-response+json, application/json', ...headers } });

  it('refuses a plain GET, as urql and graphql-http send it by default', async () => {
    const res = await get({});
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Cross-Site Request Forgery/);
  });

  it.each([
    ['apollo-require-preflight: true', { 'apollo-require-preflight': 'true' }],
    ['x-apollo-operation-name', { 'x-apollo-operation-name': 'Units' }],
    ['content-type: application/json', { 'content-type': 'application/json' }],
  ])('runs a GET that carries %s', async (_label, headers) => {
    const res = await get(headers);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ data: { units: [] } });
  });

  it('refuses a POST with a content type a form could send', async () => {
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: query });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Cross-Site Request Forgery/);
  });
});
