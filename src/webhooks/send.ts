import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, guardedLookup, isPrivateAddress } from './addresses';

/** What came back from one POST: a status, or why there was none. */
export type SendResult =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: string };

/** The most of a receiver's answer that is read (the rest is dropped) and kept as the error. */
const ANSWER_BYTES = 4096;
const ERROR_CHARS = 300;

/** Printable text for the deliveries list: control characters out, bounded. */
const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ').trim().slice(0, ERROR_CHARS);

/** The attempt ran past its time: the request is destroyed with this. */
class DeliveryTimedOut extends Error {}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof BlockedAddressError) return printable(error.message);
  if (error instanceof DeliveryTimedOut) return `no answer within ${timeoutMs} ms`;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return printable(`${code}: ${(error as Error).message ?? ''}`);
  return printable(error instanceof Error ? error.message : String(error));
}

/**
 * POSTs `body` to `url` and resolves with the status, within `timeoutMs` from start to the end of the
 * answer (whatever the receiver does: a slow connection, slow headers, a trickled body). Never follows
 * redirects (a 3xx is a failure, like any non-2xx), never keeps the connection (every attempt connects
 * anew, through guardedLookup), and never throws.
 */
export function postJson(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; allowPrivateAddresses: boolean }): Promise<SendResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      finish({ ok: false, status: null, error: 'the webhook URL does not parse' });
      return;
    }
    // A literal address never goes through lookup: checked here.
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivateAddresses && isIP(host) !== 0 && isPrivateAddress(host)) {
      finish({ ok: false, status: null, error: new BlockedAddressError(host).message });
      return;
    }
    const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(parsed, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(options.allowPrivateAddresses),
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'okr-ledger-webhooks/1', ...headers },
    });
    const timer = setTimeout(() => {
      req.destroy(new DeliveryTimedOut('timed out'));
    }, options.timeoutMs);
    req.on('error', (error) => finish({ ok: false, status: null, error: describe(error, options.timeoutMs) }));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept < ANSWER_BYTES) {
          chunks.push(chunk.subarray(0, ANSWER_BYTES - kept));
          kept += chunk.length;
        }
      });
      res.on('error', (error) => finish({ ok: false, status, error: describe(error, options.timeoutMs) }));
      res.on('end', () => {
        if (status >= 200 && status < 300) {
          finish({ ok: true, status });
          return;
        }
        const answer = printable(Buffer.concat(chunks).toString('utf8'));
        finish({ ok: false, status, error: printable(`HTTP ${status}${answer ? `: ${answer}` : ''}`) });
      });
    });
    req.end(body);
  });
}
