import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { addVary } from './cors';
import { GRAPHQL_RESPONSE_TYPE, JSON_TYPE, preferredType, sendJson } from './io';

/**
 * GraphiQL for browsers, served by this server from its own node_modules: no CDN, no telemetry, works
 * offline. graphiql 4.1 is the last release with a prebuilt browser (UMD) build; it runs on React 18's UMD
 * builds (React 19 has none). Versions are pinned in package.json.
 */

/** Where GraphiQL's files are served: `/graphiql/<content hash>/<name>`, so they can be cached for good. */
const ASSET_PREFIX = '/graphiql/';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const DEFAULT_QUERY = `# The OKR ledger's GraphQL API. Run a query with Ctrl-Enter or the run button;
# the schema's documentation opens from the first button on the left.

query Units {
  units {
    id
    name
    level
  }
}
`;

/** In the headers editor when requests need a token (then re-fetch the schema: the button with two arrows). */
const TOKEN_HINT = `{
  "authorization": "Bearer <token>"
}`;

// Our own start-up script, served as a file (the page's CSP allows no inline script). Plain ES2017 for
// browsers, not compiled: React, ReactDOM and GraphiQL are the globals the UMD builds define.
const START_SCRIPT = `'use strict';
(function () {
  var page = document.body.dataset;
  var endpoint = location.pathname;
  var authentication = page.authentication === 'on';
  var props = {
    fetcher: GraphiQL.createFetcher({
      url: endpoint,
      subscriptionUrl: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + endpoint,
      enableIncrementalDelivery: false,
    }),
    defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
    // The headers editor is open from the start when requests need a token.
    defaultEditorToolsVisibility: authentication ? 'headers' : false,
  };
  // A lowercase key: the same headers become the subscription's connectionParams, read as "authorization".
  if (authentication) props.defaultHeaders = ${JSON.stringify(TOKEN_HINT)};
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
`;

const PAGE_CSS = `html, body, #graphiql { height: 100%; margin: 0; }
#graphiql > .loading { font: 16px system-ui, sans-serif; padding: 2rem; }
`;

interface Source {
  name: string;
  type: string;
  /** A file of an installed package, or our own text. */
  from: { package: string; file: string } | { text: string };
}

/** The only files served under /graphiql/: a fixed list, looked up by exact path (no file system paths from requests). */
const SOURCES: readonly Source[] = [
  { name: 'react.production.min.js', type: JS, from: { package: 'react', file: 'umd/react.production.min.js' } },
  { name: 'react-dom.production.min.js', type: JS, from: { package: 'react-dom', file: 'umd/react-dom.production.min.js' } },
  { name: 'graphiql.min.js', type: JS, from: { package: 'graphiql', file: 'graphiql.min.js' } },
  { name: 'graphiql.min.css', type: CSS, from: { package: 'graphiql', file: 'graphiql.min.css' } },
  { name: 'page.css', type: CSS, from: { text: PAGE_CSS } },
  { name: 'start.js', type: JS, from: { text: START_SCRIPT } },
];

interface Asset {
  path: string;
  type: string;
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

function load(source: Source): Asset {
  let body: Buffer;
  if ('text' in source.from) {
    body = Buffer.from(source.from.text);
  } else {
    // Through the package's package.json: the packages do not export these files by name.
    const root = path.dirname(require.resolve(`${source.from.package}/package.json`));
    body = readFileSync(path.join(root, source.from.file));
  }
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { path: `${ASSET_PREFIX}${hash}/${source.name}`, type: source.type, body, gzipped: gzipSync(body), etag: `"${hash}"` };
}

let loaded: Map<string, Asset> | null = null;
/** Read and compressed once per process, at the first request that needs them (about 1.6 MB). */
function assets(): Map<string, Asset> {
  loaded ??= new Map(SOURCES.map((source) => [source.name, load(source)]));
  return loaded;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The page, with asset links relative to /graphql so that the whole thing also works under a path prefix. */
function page(authentication: boolean): string {
  const files = assets();
  const href = (name: string) => escapeHtml(`.${(files.get(name) as Asset).path}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>OKR ledger · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${href('graphiql.min.css')}">
<link rel="stylesheet" href="${href('page.css')}">
</head>
<body data-authentication="${authentication ? 'on' : 'off'}">
<div id="graphiql"><div class="loading">Loading GraphiQL…</div></div>
<noscript>GraphiQL needs JavaScript. Without it, send queries to this URL with POST and a JSON body.</noscript>
<script src="${href('react.production.min.js')}"></script>
<script src="${href('react-dom.production.min.js')}"></script>
<script src="${href('graphiql.min.js')}"></script>
<script src="${href('start.js')}"></script>
</body>
</html>
`;
}

/**
 * Everything loads from this server; GraphQL goes to this server (HTTP and WebSocket: 'self'). Inline
 * styles are allowed because GraphiQL's components set style attributes; nothing else inline.
 */
const PAGE_SECURITY = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Sends a body, gzipped when the client takes it, with a 304 for a matching If-None-Match. */
function send(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, body: Buffer, gzipped: Buffer | null, etag: string): void {
  addVary(res, 'Accept-Encoding');
  res.setHeader('etag', etag);
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { 'cache-control': headers['cache-control'] ?? 'no-cache' });
    res.end();
    return;
  }
  const gzip = gzipped !== null && /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  const chosen = gzip && gzipped ? gzipped : body;
  res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': chosen.length });
  res.end(req.method === 'HEAD' ? undefined : chosen);
}

/** True when a browser asks for /graphql as a page: a GET whose Accept prefers HTML to every GraphQL answer type. */
export function wantsPage(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !accept) return false;
  // The same choice Apollo Server makes for its landing page.
  return preferredType(accept, [JSON_TYPE, GRAPHQL_RESPONSE_TYPE, 'multipart/mixed', 'text/html']) === 'text/html';
}

export interface GraphiqlOptions {
  /** Whether requests need a token: the headers editor then opens with a hint. */
  authentication: boolean;
}

/**
 * The GraphiQL routes: the page on GET /graphql for browsers, its files under /graphiql/.
 * @returns true when the request was one of them and has been answered.
 */
export function graphiqlRoutes(options: GraphiqlOptions): (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean {
  let html: { body: Buffer; gzipped: Buffer; etag: string } | null = null;
  return (req, res, pathname) => {
    if (pathname === '/graphql') {
      addVary(res, 'Accept');
      if (!wantsPage(req)) return false;
      if (html === null) {
        const body = Buffer.from(page(options.authentication));
        html = { body, gzipped: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
      }
      send(req, res, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...PAGE_SECURITY }, html.body, html.gzipped, html.etag);
      return true;
    }
    if (!pathname.startsWith(ASSET_PREFIX)) return false;
    const asset = [...assets().values()].find((a) => a.path === pathname);
    if (!asset) {
      sendJson(res, 404, { error: 'Not found: GraphiQL is at /graphql.' });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'GraphiQL files are read with GET.' });
      return true;
    }
    send(
      req,
      res,
      {
        'content-type': asset.type,
        // The path carries the content's hash: a new version is a new path.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        'cross-origin-resource-policy': 'same-origin',
      },
      asset.body,
      asset.gzipped,
      asset.etag,
    );
    return true;
  };
}
