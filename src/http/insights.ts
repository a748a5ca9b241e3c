import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { sendJson } from './io';
import { contentHash, CSS, HTML, JS, packageFile, PAGE_HEADERS, sendStatic, serveVersionedFile, staticFile, type StaticFile } from './staticFiles';

/**
 * The insights page at GET / (README, "The insights page"): a read-only page that asks the public GraphQL
 * API, and nothing else, for a quarter's confidence, calibration, effort, health and the log's latest
 * checkpoint, as of any instant. Its files are our own hand-written ones in web/insights/ (plain ES modules,
 * no build step) and uPlot from node_modules, all served by this server: no CDN, works offline.
 */

/** Where the page's files are served: `/insights/<version>/<name>`, one version for the whole set. */
const ASSET_PREFIX = '/insights/';

interface Source {
  name: string;
  type: string;
  /** A file of an installed package, or one of ours in web/insights/. */
  from: { package: string; file: string } | { web: string };
}

/**
 * The only files served under /insights/: a fixed list, looked up by exact path. They share one version
 * (a hash of them all), so that the page's modules import each other by relative paths.
 */
const SOURCES: readonly Source[] = [
  { name: 'uPlot.esm.js', type: JS, from: { package: 'uplot', file: 'dist/uPlot.esm.js' } },
  { name: 'uPlot.min.css', type: CSS, from: { package: 'uplot', file: 'dist/uPlot.min.css' } },
  { name: 'insights.css', type: CSS, from: { web: 'insights.css' } },
  { name: 'page.js', type: JS, from: { web: 'page.js' } },
  { name: 'api.js', type: JS, from: { web: 'api.js' } },
  { name: 'queries.js', type: JS, from: { web: 'queries.js' } },
  { name: 'dom.js', type: JS, from: { web: 'dom.js' } },
  { name: 'charts.js', type: JS, from: { web: 'charts.js' } },
  { name: 'sections.js', type: JS, from: { web: 'sections.js' } },
];

/** web/insights/ of this checkout: found upwards from here, so that a compiled copy (dist/) finds it too. */
function webDirectory(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'web', 'insights');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`The insights page's files (web/insights/) were not found above ${__dirname}.`);
  }
}

interface Loaded {
  page: StaticFile;
  files: Map<string, StaticFile>;
}

function load(): Loaded {
  const web = webDirectory();
  const bodies = SOURCES.map((source) => ({
    source,
    body: 'web' in source.from ? readFileSync(path.join(web, source.from.web)) : packageFile(source.from.package, source.from.file),
  }));
  const version = contentHash(Buffer.concat(bodies.flatMap(({ source, body }) => [Buffer.from(`${source.name}\n${body.length}\n`), body])));
  const files = new Map(bodies.map(({ source, body }) => {
    const urlPath = `${ASSET_PREFIX}${version}/${source.name}`;
    return [urlPath, staticFile(urlPath, source.type, body)];
  }));
  // Relative links, so that the page also works under a path prefix.
  const html = readFileSync(path.join(web, 'index.html'), 'utf8').replaceAll('%ASSETS%', `.${ASSET_PREFIX}${version}`);
  return { page: staticFile('/', HTML, Buffer.from(html)), files };
}

let loaded: Loaded | null = null;
/** Read and compressed once per process, at the first request that needs them (about 0.2 MB). */
function files(): Loaded {
  loaded ??= load();
  return loaded;
}

/**
 * Scripts, styles and API calls from this server only; no inline script or style at all (the page sets
 * styles through the DOM, which a policy does not restrict), no frames, no forms that submit anywhere.
 */
const PAGE_SECURITY = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  ...PAGE_HEADERS,
};

/**
 * The insights routes: the page on GET /, its files under /insights/. The page needs no token (it holds
 * no data); the API it calls does, when authentication is on.
 * @returns true when the request was one of them and has been answered.
 */
export function insightsRoutes(): (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean {
  return (req, res, pathname) => {
    if (pathname === '/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        sendJson(res, 405, { error: 'The insights page is read with GET; the API is at /graphql.' });
        return true;
      }
      sendStatic(req, res, { 'content-type': HTML, 'cache-control': 'no-cache', ...PAGE_SECURITY }, files().page);
      return true;
    }
    if (!pathname.startsWith(ASSET_PREFIX)) return false;
    serveVersionedFile(req, res, files().files.get(pathname), {
      notFound: 'Not found: the insights page is at /.',
      readWithGet: 'The insights page\'s files are read with GET.',
    });
    return true;
  };
}
