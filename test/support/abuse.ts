/**
 * Helpers for the abuse tests (test/abuse/): sending hand-made JSON text over HTTP (so a test can put
 * 1e400, -0 or an escaped lone surrogate on the wire, which JSON.stringify cannot), and checking a
 * response against what the API promises every client: no 5xx, a stable extensions.code on every
 * error, and no stack trace or SQL.
 */

/** The codes a client may see in extensions.code (schema/errors.ts plus Apollo's request codes). */
export const STABLE_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'NOT_IMPLEMENTED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  // Documented in README (Errors): Apollo's request-level answers, and authentication/authorisation.
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PAYLOAD_TOO_LARGE',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  // Admission (README, Limits): too many requests or scans at once.
  'RATE_LIMITED',
  // Bounded cost (README, Limits): a statement past its timeout, a response past its size limit.
  'TIMEOUT',
  'RESPONSE_TOO_LARGE',
]);

/** JSON text written verbatim into a request body. */
export class Raw {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `<raw ${this.text}>`;
  }
}

export const raw = (text: string): Raw => new Raw(text);

/**
 * JSON text for a value: like JSON.stringify (lone surrogates come out escaped, e.g. "\ud800"), but
 * Raw values are written verbatim, -0 stays -0, and non-finite numbers become what a client would
 * send for them (1e400 parses to Infinity; NaN has no JSON form, so the string "NaN").
 */
export function toJsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '"NaN"';
    if (value === Infinity) return '1e400';
    if (value === -Infinity) return '-1e400';
    if (Object.is(value, -0)) return '-0';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJsonText(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  /** The parsed body, or undefined when it was not JSON. */
  json: any;
}

/** POSTs `body` (already JSON text, or anything else) as-is. */
export async function postText(
  url: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' },
): Promise<RawResponse> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return readResponse(res);
}

export async function readResponse(res: Response): Promise<RawResponse> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/**
 * What must never reach a client: stack frames, source paths, SQL or PostgreSQL's own messages, and
 * the names of internal tables and driver errors. (Inputs that the server may echo back never use
 * these words.)
 */
export const LEAK_PATTERNS: RegExp[] = [
  /\bat [\w$.<>]+ \(.*:\d+:\d+\)/, // "at fn (file.ts:1:2)"
  /\bat (?:async )?\/[^\s"]+:\d+:\d+/,
  /\.(?:ts|js|mjs|cjs):\d+:\d+/,
  /node_modules/,
  /stacktrace/i,
  /\bSELECT\b[\s\S]{0,200}\bFROM\b/i,
  /\bINSERT INTO\b/i,
  /\bUPDATE\s+\w+\s+SET\b/i,
  /\bDELETE FROM\b/i,
  /okr_(?:events|log_head|idempotency)/,
  /syntax error at or near/i,
  /violates (?:unique|foreign key|check|not-null) constraint/i,
  /duplicate key value/i,
  /invalid input syntax for/i,
  /unsupported Unicode escape sequence/i,
  /invalid byte sequence for encoding/i,
  /\bpg_\w+/,
  /DriverException|QueryFailedError|ServerError|TypeError|ReferenceError|RangeError|SyntaxError: /,
  /\bpostgres(?:ql)?:\/\//i,
];

/** The first leak pattern the text matches, if any. */
export function leakIn(text: string): RegExp | undefined {
  return LEAK_PATTERNS.find((p) => p.test(text));
}

export interface ResponseProblem {
  kind: string;
  detail: string;
}

/**
 * Problems with a GraphQL response that every request, however malformed, must avoid. An empty
 * list means the response kept the API's promises.
 */
export function responseProblems(res: RawResponse, maxBodyBytes: number, sentBytes: number): ResponseProblem[] {
  const problems: ResponseProblem[] = [];
  if (res.status >= 500) problems.push({ kind: `HTTP ${res.status}`, detail: res.text.slice(0, 300) });
  const leak = leakIn(res.text);
  if (leak) problems.push({ kind: 'leak', detail: `${leak} in ${res.text.slice(0, 400)}` });
  if (res.json === undefined) {
    problems.push({ kind: 'not JSON', detail: `status ${res.status}: ${res.text.slice(0, 200)}` });
    return problems;
  }
  if (res.status === 413) {
    if (sentBytes <= maxBodyBytes) problems.push({ kind: '413 under the limit', detail: `${sentBytes} bytes` });
    if (res.json?.errors?.[0]?.extensions?.code !== 'PAYLOAD_TOO_LARGE') {
      problems.push({ kind: '413 without PAYLOAD_TOO_LARGE', detail: res.text.slice(0, 200) });
    }
    return problems;
  }
  const errors: unknown = res.json?.errors;
  if (errors !== undefined && !Array.isArray(errors)) problems.push({ kind: 'errors not a list', detail: res.text.slice(0, 200) });
  for (const error of Array.isArray(errors) ? (errors as any[]) : []) {
    const code = error?.extensions?.code;
    if (code === 'INTERNAL_SERVER_ERROR') {
      problems.push({ kind: 'INTERNAL_SERVER_ERROR', detail: JSON.stringify(error).slice(0, 300) });
    } else if (typeof code !== 'string' || !STABLE_CODES.has(code)) {
      problems.push({ kind: `unstable code ${String(code)}`, detail: JSON.stringify(error).slice(0, 300) });
    }
    if (typeof error?.message !== 'string') problems.push({ kind: 'error without message', detail: JSON.stringify(error).slice(0, 200) });
  }
  if (res.json?.data == null && !(Array.isArray(errors) && errors.length > 0)) {
    problems.push({ kind: 'no data and no errors', detail: res.text.slice(0, 200) });
  }
  return problems;
}

/** A short, single-line rendering of a possibly huge text for a report. */
export function clip(text: string, max = 240): string {
  const oneLine = text.replace(/\s+/g, ' ');
  if (oneLine.length <= max) return oneLine;
  return `${oneLine.slice(0, max)}... (${text.length} chars)`;
}
