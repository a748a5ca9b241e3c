import type { IncomingMessage, ServerResponse } from 'node:http';
import { addVary } from './cors';
import { GRAPHQL_RESPONSE_TYPE, JSON_TYPE, preferredType } from './io';
import { contentHash, CSS, escapeHtml, HTML, JS, packageFile, PAGE_HEADERS, sendStatic, serveVersionedFile, staticFile, type StaticFile } from './staticFiles';

/**
 * GraphiQL for browsers, served by this server from its own node_modules: no CDN, no telemetry, works
 * offline. graphiql 4.1 is the last release with a prebuilt browser (UMD) build; it runs on React 18's UMD
 * builds (React 19 has none). Versions are pinned in package.json.
 */

/** Where GraphiQL's files are served: `/graphiql/<content hash>/<name>`, so they can be cached for good. */
const ASSET_PREFIX = '/graphiql/';

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

function load(source: Source): StaticFile {
  const body = 'text' in source.from ? Buffer.from(source.from.text) : packageFile(source.from.package, source.from.file);
  return staticFile(`${ASSET_PREFIX}${contentHash(body)}/${source.name}`, source.type, body);
}

let loaded: Map<string, StaticFile> | null = null;
/** Read and compressed once per process, at the first request that needs them (about 1.6 MB). */
function assets(): Map<string, StaticFile> {
  loaded ??= new Map(SOURCES.map((source) => [source.name, load(source)]));
  return loaded;
}

/** The page, with asset links relative to /graphql so that the whole thing also works under a path prefix. */
function page(authentication: boolean): string {
  const files = assets();
  const href = (name: string) => escapeHtml(`.${(files.get(name) as StaticFile).path}`);
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
  ...PAGE_HEADERS,
};

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
  let html: StaticFile | null = null;
  return (req, res, pathname) => {
    if (pathname === '/graphql') {
      addVary(res, 'Accept');
      if (!wantsPage(req)) return false;
      html ??= staticFile(pathname, HTML, Buffer.from(page(options.authentication)));
      sendStatic(req, res, { 'content-type': HTML, 'cache-control': 'no-cache', ...PAGE_SECURITY }, html);
      return true;
    }
    if (!pathname.startsWith(ASSET_PREFIX)) return false;
    const asset = [...assets().values()].find((a) => a.path === pathname);
    serveVersionedFile(req, res, asset, { notFound: 'Not found: GraphiQL is at /graphql.', readWithGet: 'GraphiQL files are read with GET.' });
    return true;
  };
}
