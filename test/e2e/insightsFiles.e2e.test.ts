import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The insights page's files over HTTP (the page itself runs in a browser in insights.e2e.test.ts): GET /
 * and a fixed list of files under /insights/<version>/, all from this server (our own web/insights/ and
 * uPlot from node_modules), with a policy that allows nothing inline and nothing from elsewhere.
 */

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

/** The files the page references: its src and href attributes, less the empty inline icon and the API link. */
const references = (html: string): string[] =>
  [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1] as string).filter((ref) => ref !== 'data:,' && ref !== 'graphql');

let t: TestServer;
let html: string;
let page: Response;
let root: string;
beforeAll(async () => {
  t = await startTestServer('insightsfiles');
  root = new URL('/', t.url).toString();
  page = await fetch(root);
  html = await page.text();
});
afterAll(() => t?.close());

const file = async (name: string): Promise<{ path: string; text: string }> => {
  const ref = references(html).find((r) => r.endsWith(`/${name}`));
  if (!ref) throw new Error(`the page does not reference ${name}`);
  const res = await fetch(new URL(ref, root));
  return { path: new URL(ref, root).pathname, text: await res.text() };
};

describe('the insights page at GET /', () => {
  it('is served as HTML, revalidated on every load', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(html).toContain('<main id="insights"');
  });

  it('sends a content security policy that allows this server only, and nothing inline', () => {
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('holds no inline script, style or event handler (the policy would refuse them)', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style\b|\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/i);
  });

  it('names no other host: every file is a path on this server under one version', () => {
    expect(html).not.toMatch(/https?:\/\//);
    const refs = references(html);
    expect(refs).toHaveLength(3);
    const versions = new Set(refs.map((ref) => /^\.\/insights\/([A-Za-z0-9_-]{16})\/[A-Za-z.]+$/.exec(ref)?.[1]));
    expect(versions.size).toBe(1);
    expect(versions.has(undefined)).toBe(false);
  });

  it('serves every module the page imports, each importing only files beside it, from nowhere else', async () => {
    const folder = new URL(references(html).find((r) => r.endsWith('/page.js')) as string, root);
    const seen = new Set<string>();
    const pending = ['page.js'];
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await fetch(new URL(name, folder));
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      const text = await res.text();
      for (const [, target] of text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        expect(target).toMatch(/^\.\/[A-Za-z.]+\.js$/);
        pending.push((target as string).slice(2));
      }
      if (name !== 'uPlot.esm.js') {
        // Our own modules call nothing but the API beside the page: no other URL, no eval.
        expect(text).not.toMatch(/https?:\/\//);
        expect(text).not.toMatch(/\beval\(|new Function\(/);
      }
    }
    expect([...seen].sort()).toEqual(['api.js', 'charts.js', 'dom.js', 'page.js', 'queries.js', 'sections.js', 'uPlot.esm.js']);
  });

  it('serves uPlot from its npm package', async () => {
    expect((await file('uPlot.min.css')).text).toContain('.uplot');
    const folder = new URL(references(html).find((r) => r.endsWith('/page.js')) as string, root);
    expect(await (await fetch(new URL('uPlot.esm.js', folder))).text()).toMatch(/export \{ uPlot as default \}/);
  });

  it('serves its files with their content types, a year of cache life and no sniffing', async () => {
    for (const ref of references(html)) {
      const res = await fetch(new URL(ref, root));
      expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
      expect(res.headers.get('content-type')).toBe(ref.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    }
  });

  it('compresses for clients that take gzip, and answers 304 to a revalidation', async () => {
    const { path } = await file('page.js');
    const plain = await raw(t.url, path);
    const zipped = await raw(t.url, path, { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect((await raw(t.url, path, { 'if-none-match': String(plain.headers.etag) })).status).toBe(304);
    const again = await raw(t.url, '/', { 'if-none-match': String(page.headers.get('etag')) });
    expect(again.status).toBe(304);
  });

  it.each([
    ['a path outside the list', '/insights/x/package.json'],
    ['a known file under another version', '/insights/AAAAAAAAAAAAAAAA/page.js'],
    ['the folder itself', '/insights/'],
    ['the type declarations beside the modules', '/insights/x/uPlot.esm.d.ts'],
    ['an encoded parent reference', '/insights/%2e%2e/%2e%2e/package.json'],
    ['an encoded slash', '/insights/..%2f..%2fpackage.json'],
  ])('answers 404 to %s', async (_label, path) => {
    const res = await raw(t.url, path);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain('"name"');
  });

  it('answers HEAD with the headers only, and refuses other methods', async () => {
    const head = await raw(t.url, '/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await raw(t.url, '/', {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const { path } = await file('page.js');
    expect((await raw(t.url, path, {}, 'DELETE')).status).toBe(405);
  });

  it('leaves every other path a JSON 404', async () => {
    const res = await fetch(new URL('/index.html', root));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/json/);
  });
});

describe('the insights page with authentication on', () => {
  let authed: TestServer;
  beforeAll(async () => {
    authed = await startTestServer('insightsfilesauth', undefined, undefined, {
      authenticator: jwtAuthenticator({ secret: 'insights-files-secret-of-at-least-32-chars' }),
    });
  });
  afterAll(() => authed?.close());

  it('serves the page and its files without a token: they hold no data (the API asks for one)', async () => {
    const base = new URL('/', authed.url);
    const res = await fetch(base);
    expect(res.status).toBe(200);
    for (const ref of references(await res.text())) expect((await fetch(new URL(ref, base))).status).toBe(200);
  });
});
