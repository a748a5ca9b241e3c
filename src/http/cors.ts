import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './io';

export interface CorsOptions {
  /** Origins whose pages may call the API (exact `scheme://host[:port]`, checked by src/config.ts). */
  origins: readonly string[];
  /** Local development mode: any page served from this machine (a loopback origin) may call it too. */
  allowLoopback: boolean;
}

/** Request headers a cross-origin page may send: credentials, CSRF-prevention headers, tracing. */
export const CORS_ALLOWED_HEADERS = ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'];
/** Response headers a cross-origin page may read besides the safelisted ones. */
const EXPOSED_HEADERS = 'x-request-id, www-authenticate, retry-after';
/** How long a browser may reuse a preflight's answer (seconds; Chromium caps it at 7200). */
const PREFLIGHT_MAX_AGE = 7200;

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/** Adds a token to the response's Vary header, keeping those already there. */
export function addVary(res: ServerResponse, token: string): void {
  const current = res.getHeader('vary');
  const tokens = typeof current === 'string' ? current.split(',').map((t) => t.trim()).filter(Boolean) : [];
  if (!tokens.some((t) => t.toLowerCase() === token.toLowerCase())) tokens.push(token);
  res.setHeader('vary', tokens.join(', '));
}

/** Whether pages from `origin` may call the API. */
export function originAllowed(origin: string, options: CorsOptions): boolean {
  return options.origins.includes(origin) || (options.allowLoopback && LOOPBACK_ORIGIN.test(origin));
}

/**
 * The CORS policy, applied to every request before routing. An allowed origin gets
 * `Access-Control-Allow-Origin` naming it (never `*`, never credentials: tokens travel in the Authorization
 * header, not in cookies); any other origin gets no CORS header, so the browser keeps the answer from the
 * page. A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here: 204 with the
 * allowed methods and headers, or 403 for an origin that is not allowed.
 *
 * @returns true when the request was a preflight and has been answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, options: CorsOptions): boolean {
  // The answer depends on the Origin header: shared caches must not hand one origin's answer to another.
  addVary(res, 'Origin');
  const origin = req.headers.origin;
  const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
  if (origin === undefined) return false;
  if (!originAllowed(origin, options)) {
    if (!preflight) return false;
    sendJson(res, 403, {
      error: `Cross-origin requests from ${origin} are not allowed: add the origin to OKR_CORS_ORIGINS.`,
    });
    return true;
  }
  res.setHeader('access-control-allow-origin', origin);
  if (!preflight) {
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return false;
  }
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
    'access-control-max-age': String(PREFLIGHT_MAX_AGE),
  });
  res.end();
  return true;
}
