import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * GraphiQL for browsers at GET /graphql: the page and every file it loads come from this server (no CDN,
 * no telemetry, works offline), behind a fixed list of files.
 */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request exactly as written: fetch would normalise the path and decompress the body. */
function raw(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The files a page loads: its src and href attributes, less the empty inline icon. */
const references = (html: string): string[] =>
  [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1] as string).filter((ref) => ref !== 'data:,');

let t: TestServer;
let html: string;
let page: Response;
beforeAll(async () => {
  t = await startTestServer('graphiql');
  page = await fetch(t.url, { headers: { accept: BROWSER_ACCEPT } });
  html = await page.text();
});
afterAll(() => t?.close());

describe('GraphiQL at GET /graphql', () => {
  it('serves the GraphiQL page to a browser', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('<div id="graphiql">');
    expect(html).toMatch(/graphiql\.min\.js/);
    expect(page.headers.get('vary')).toMatch(/\bAccept\b/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
  });

  it("is not Apollo's landing page (which loads Apollo Sandbox from a CDN)", () => {
    expect(html).not.toMatch(/apollo|sandbox|embeddable/i);
  });

  it('names no other host: every reference is a path on this server', () => {
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/(?:src|href)="\/\//);
    const refs = references(html);
    expect(refs).toHaveLength(6);
    for (const ref of refs) expect(ref).toMatch(/^\.\/graphiql\/[A-Za-z0-9_-]+\/[a-z.-]+$/);
  });

  it('serves every file the page references, with its content type and a long cache life', async () => {
    for (const ref of references(html)) {
      const res = await fetch(new URL(ref, t.url));
      const body = await res.text();
      expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
      expect(res.headers.get('content-type')).toBe(ref.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(body.length).toBeGreaterThan(50);
      // Stylesheets load nothing from elsewhere (GraphiQL's fonts and images are inline data: URLs).
      if (ref.endsWith('.css')) {
        expect(body).not.toMatch(/@import/);
        expect(body).not.toMatch(/url\(\s*(?!["']?data:)/);
      }
    }
  });

  it('loads GraphiQL, React and ReactDOM from the installed packages and starts GraphiQL on this endpoint', async () => {
    const text = async (name: string) => (await fetch(new URL(references(html).find((r) => r.endsWith(name)) as string, t.url))).text();
    expect(await text('/react.production.min.js')).toContain('18.3.1');
    expect(await text('/graphiql.min.js')).toContain('createFetcher');
    const start = await text('/start.js');
    expect(start).toContain('GraphiQL.createFetcher');
    expect(start).toContain('url: endpoint');
    expect(start).not.toMatch(/https?:\/\//);
  });

  it('sends a content security policy that allows this server only', () => {
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('compresses for clients that take gzip, and answers 304 to a revalidation', async () => {
    const ref = (references(html).find((r) => r.endsWith('graphiql.min.js')) as string).slice(1);
    const plain = await raw(t.url, ref);
    const zipped = await raw(t.url, ref, { 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    const again = await raw(t.url, ref, { 'if-none-match': String(plain.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it.each([
    ['a path outside the list', '/graphiql/x/package.json'],
    ['a known file under another hash', '/graphiql/AAAAAAAAAAAAAAAA/graphiql.min.js'],
    ['the folder itself', '/graphiql/'],
    ['a parent reference', '/graphiql/../package.json'],
    ['an encoded parent reference', '/graphiql/%2e%2e/%2e%2e/package.json'],
    ['an encoded slash', '/graphiql/..%2f..%2fpackage.json'],
    ['a source map that is not listed', '/graphiql/x/index.umd.js.map'],
  ])('answers 404 to %s', async (_label, path) => {
    const res = await raw(t.url, path);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('"name"');
  });

  it('refuses other methods on its files', async () => {
    const ref = (references(html)[0] as string).slice(1);
    const res = await raw(t.url, ref, {}, 'POST');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('answers HEAD with the headers only', async () => {
    const res = await raw(t.url, '/graphql', { accept: BROWSER_ACCEPT }, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body.length).toBe(0);
  });

  it.each([
    ['curl (*/*)', '*/*'],
    ['a JSON client', 'application/json'],
    ['a GraphQL-over-HTTP client', 'application/graphql-response+json, application/json'],
  ])('gives %s GraphQL, not the page', async (_label, accept) => {
    const res = await fetch(`${t.url}?query=${encodeURIComponent('{ units { id } }')}`, {
      headers: { accept, 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(await res.json()).toMatchObject({ data: { units: [] } });
  });

  it('opens the page without a token in local development mode, with no headers hint', () => {
    expect(html).toContain('data-authentication="off"');
  });
});

describe('GraphiQL with authentication on', () => {
  let authed: TestServer;
  beforeAll(async () => {
    authed = await startTestServer('graphiqlauth', undefined, undefined, {
      authenticator: jwtAuthenticator({ secret: 'graphiql-test-secret-of-at-least-32-chars' }),
    });
  });
  afterAll(() => authed?.close());

  it('serves the page and its files without a token (they hold no data), and opens the headers editor', async () => {
    const res = await fetch(authed.url, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('data-authentication="on"');
    for (const ref of references(body)) expect((await fetch(new URL(ref, authed.url))).status).toBe(200);
  });

  it('still refuses GraphQL without a token', async () => {
    const res = await fetch(`${authed.url}?query=${encodeURIComponent('{ units { id } }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(401);
  });
});
