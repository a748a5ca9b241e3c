import { request as httpRequest } from 'node:http';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Refusals our HTTP layer writes before GraphQL runs (401, bad JSON, oversized body, ill-formed text) are
 * GraphQL-over-HTTP answers: `{ errors: [...] }` with a code, typed application/graphql-response+json when
 * the client's Accept prefers it. Apollo Client (`application/graphql-response+json,application/json;q=0.9`
 * by default) then reads a 401 as the GraphQL error it is, not as a bare ServerError.
 */
const APOLLO_CLIENT_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';
const GRAPHQL_RESPONSE = 'application/graphql-response+json; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('httprefusals', undefined, undefined, {
    authenticator: jwtAuthenticator({ secret: 'refusals-test-secret-of-at-least-32-chars' }),
    maxBodyBytes: 4096,
  });
});
afterAll(() => t?.close());

const post = (body: string, headers: Record<string, string>) =>
  fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

type ErrorBody = { errors: { message: string; extensions: { code: string } }[] };

describe('a 401', () => {
  it('is a GraphQL response Apollo Client reads as one, with its default Accept', async () => {
    const res = await post(JSON.stringify({ query: '{ units { id } }' }), { accept: APOLLO_CLIENT_ACCEPT });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe(GRAPHQL_RESPONSE);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await res.json()) as ErrorBody;
    expect(body).toEqual({ errors: [{ message: expect.stringMatching(/./), extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(Object.keys(body)).toEqual(['errors']);
  });

  it.each([
    ["*/* (fetch's default)", '*/*', JSON_TYPE],
    ['application/json only', 'application/json', JSON_TYPE],
    ['JSON preferred', 'application/json, application/graphql-response+json;q=0.5', JSON_TYPE],
    ['nothing JSON (falls back to JSON rather than refusing a refusal)', 'text/html', JSON_TYPE],
    ['the GraphQL type alone', 'application/graphql-response+json', GRAPHQL_RESPONSE],
  ])('with %s is typed accordingly', async (_label, accept, type) => {
    const res = await post(JSON.stringify({ query: '{ units { id } }' }), { accept });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe(type);
    expect(((await res.json()) as ErrorBody).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('without an Accept header is application/json', async () => {
    const { hostname, port } = new URL(t.url);
    const type = await new Promise<string | undefined>((resolve, reject) => {
      const req = httpRequest({ hostname, port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.headers['content-type']);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ units { id } }' }));
    });
    expect(type).toBe(JSON_TYPE);
  });
});

describe('other refusals before GraphQL', () => {
  // The token is checked before the body is read: these run on a server without authentication.
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer('httprefusalsopen', undefined, undefined, { maxBodyBytes: 4096 });
  });
  afterAll(() => open?.close());

  const send = (body: string, accept: string) =>
    fetch(open.url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body });

  it.each([
    ['a body that is not JSON', '{"query": ', 400, 'BAD_REQUEST'],
    ['a body over the limit', JSON.stringify({ query: `{ units { id } } #${'x'.repeat(5000)}` }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a NUL character', JSON.stringify({ query: '{ units { id } }', variables: { x: 'a\u0000b' } }), 400, 'BAD_USER_INPUT'],
  ])('%s: a GraphQL error, typed as the client prefers', async (_label, body, status, code) => {
    for (const [accept, type] of [
      [APOLLO_CLIENT_ACCEPT, GRAPHQL_RESPONSE],
      ['application/json', JSON_TYPE],
    ] as const) {
      const res = await send(body, accept);
      expect({ accept, status: res.status, type: res.headers.get('content-type') }).toEqual({ accept, status, type });
      expect(((await res.json()) as ErrorBody).errors[0]?.extensions.code).toBe(code);
    }
  });

  it('keeps plain JSON for answers that are not GraphQL responses', async () => {
    for (const path of ['/healthz', '/nowhere']) {
      const res = await fetch(new URL(path, open.url), { headers: { accept: APOLLO_CLIENT_ACCEPT } });
      expect(res.headers.get('content-type')).toBe(JSON_TYPE);
    }
  });
});
