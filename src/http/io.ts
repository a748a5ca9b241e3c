import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPGraphQLResponse } from '@apollo/server';
import { responseTooLarge } from '../../schema/costPlugin';

/** A request the HTTP layer refuses before GraphQL sees it (bad JSON, oversized body). */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its request was complete: nothing to answer. */
export class ClientGone extends Error {}

/** Reads the whole body, refusing (413) as soon as it grows past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RequestError(413, `Request body larger than ${limit} bytes.`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return; // drained and dropped: the 413 is answered, then the connection closed
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new RequestError(413, `Request body larger than ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client that goes away before its body is complete: stop waiting (and free the admission slot).
    req.on('close', () => {
      if (!req.complete) reject(new ClientGone('The client closed the connection before its body was complete.'));
    });
  });
}

export const JSON_TYPE = 'application/json; charset=utf-8';
export const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

interface AcceptRange {
  type: string;
  subtype: string;
  q: number;
  /** Position in the header: the earlier of two equal ranges wins. */
  order: number;
}

function acceptRanges(accept: string): AcceptRange[] {
  const ranges: AcceptRange[] = [];
  accept.split(',').forEach((part, order) => {
    const [essence = '', ...params] = part.split(';').map((p) => p.trim());
    const [type, subtype] = essence.toLowerCase().split('/');
    if (!type || !subtype) return;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((p) => p.trim());
      if (name?.toLowerCase() === 'q') q = Number(value);
    }
    if (Number.isFinite(q) && q >= 0 && q <= 1) ranges.push({ type, subtype, q, order });
  });
  return ranges;
}

/**
 * The type among `offered` that an Accept header prefers, by the rules Apollo Server applies to its own
 * answers (HTTP's: highest q, then the most specific range, then the header's order, then `offered`'s),
 * so our refusals are typed as Apollo's answers to the same request would be. Null when none is acceptable.
 */
export function preferredType(accept: string, offered: readonly string[]): string | null {
  const ranges = acceptRanges(accept);
  let best: { type: string; q: number; specificity: number; order: number } | null = null;
  for (const candidate of offered) {
    const [type, subtype] = (candidate.split(';')[0] ?? '').trim().toLowerCase().split('/');
    // The most specific range that matches decides this candidate's q.
    let match: { q: number; specificity: number; order: number } | null = null;
    for (const range of ranges) {
      const specificity =
        range.type === '*' && range.subtype === '*' ? 0 : range.type !== type ? -1 : range.subtype === subtype ? 2 : range.subtype === '*' ? 1 : -1;
      if (specificity < 0) continue;
      if (!match || specificity > match.specificity || (specificity === match.specificity && (range.q > match.q || (range.q === match.q && range.order < match.order)))) {
        match = { q: range.q, specificity, order: range.order };
      }
    }
    if (!match || match.q === 0) continue;
    // Earlier candidates win ties: only a strictly better match replaces one.
    if (
      !best ||
      match.q > best.q ||
      (match.q === best.q && (match.specificity > best.specificity || (match.specificity === best.specificity && match.order < best.order)))
    ) {
      best = { type: candidate, ...match };
    }
  }
  return best?.type ?? null;
}

/**
 * Sends a JSON answer. A body with `errors` is a GraphQL response (a refusal before GraphQL ran: 400, 401,
 * 413, ...) and follows GraphQL over HTTP: `application/graphql-response+json` when the request's Accept
 * prefers it (Apollo Client's default does), otherwise `application/json`, as Apollo types its own answers.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const accept = res.req?.headers.accept;
  const isGraphQL = typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors);
  const type = isGraphQL && accept ? (preferredType(accept, [JSON_TYPE, GRAPHQL_RESPONSE_TYPE]) ?? JSON_TYPE) : JSON_TYPE;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Sends Apollo's answer, never more than `maxBytes`: the cost model bounds how many objects a response
 * holds and the cost plugin how large it grows while resolving; this is the exact check on the body.
 */
export async function sendGraphQL(res: ServerResponse, response: HTTPGraphQLResponse, maxBytes = Number.POSITIVE_INFINITY): Promise<void> {
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') {
    const text = response.body.string;
    // A string of n UTF-16 units is at most 3n bytes of UTF-8: most answers need no counting.
    if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) {
      const refusal = JSON.stringify({ data: null, errors: [responseTooLarge(maxBytes)] });
      res.setHeader('content-length', Buffer.byteLength(refusal));
      res.end(refusal);
      return;
    }
    res.end(text);
    return;
  }
  let sent = 0;
  for await (const chunk of response.body.asyncIterator) {
    sent += Buffer.byteLength(chunk);
    // An incremental answer has begun: past the limit it can only be cut off.
    if (sent > maxBytes) return void res.destroy();
    res.write(chunk);
  }
  res.end();
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The client's X-Request-Id when it is a sane token, otherwise a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
