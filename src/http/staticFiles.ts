import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { addVary } from './cors';
import { sendJson } from './io';

/**
 * Files the server sends to browsers from memory (GraphiQL's and the insights page's): a fixed list
 * looked up by exact path, never a file system path taken from a request; each read and gzipped once.
 */

export const JS = 'text/javascript; charset=utf-8';
export const CSS = 'text/css; charset=utf-8';
export const HTML = 'text/html; charset=utf-8';

export interface StaticFile {
  /** The URL path it is served at. */
  path: string;
  type: string;
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

/** 16 characters of the content's SHA-256, URL-safe: names a version of a file in its path and etag. */
export const contentHash = (body: Buffer | string): string => createHash('sha256').update(body).digest('base64url').slice(0, 16);

export function staticFile(urlPath: string, type: string, body: Buffer): StaticFile {
  return { path: urlPath, type, body, gzipped: gzipSync(body), etag: `"${contentHash(body)}"` };
}

/** A file of an installed package, found through its package.json (packages do not export these files by name). */
export function packageFile(packageName: string, file: string): Buffer {
  const root = path.dirname(require.resolve(`${packageName}/package.json`));
  return readFileSync(path.join(root, file));
}

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** Headers every page sends besides its content security policy: no sniffing, no framing, no referrer. */
export const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

/** Headers of a file whose path names its content's version: cached for good, readable by this origin only. */
const VERSIONED_FILE_HEADERS = {
  'cache-control': 'public, max-age=31536000, immutable',
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** Sends a body, gzipped when the client takes it, with a 304 for a matching If-None-Match. */
export function sendStatic(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, file: Pick<StaticFile, 'body' | 'gzipped' | 'etag'>): void {
  addVary(res, 'Accept-Encoding');
  res.setHeader('etag', file.etag);
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, { 'cache-control': headers['cache-control'] ?? 'no-cache' });
    res.end();
    return;
  }
  const gzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  const chosen = gzip ? file.gzipped : file.body;
  res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': chosen.length });
  res.end(req.method === 'HEAD' ? undefined : chosen);
}

/**
 * Answers a request for a versioned file of a fixed list: 404 when the path names none of them, 405 for
 * methods other than GET and HEAD, else the file with a year's cache life.
 */
export function serveVersionedFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: StaticFile | undefined,
  messages: { notFound: string; readWithGet: string },
): void {
  if (!file) return sendJson(res, 404, { error: messages.notFound });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { error: messages.readWithGet });
  }
  sendStatic(req, res, { 'content-type': file.type, ...VERSIONED_FILE_HEADERS }, file);
}
