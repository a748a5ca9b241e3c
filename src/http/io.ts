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
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
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
