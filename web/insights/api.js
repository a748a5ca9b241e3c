// @ts-check
/**
 * The page's only way to the ledger: the public GraphQL API, POST with a JSON body to the server that
 * served the page. A bearer token, when the API asks for one, is kept in this tab only (sessionStorage):
 * never in a URL, a cookie or localStorage.
 */

const TOKEN_KEY = 'okr-insights-token';

/** The endpoint beside the page, so that the page also works under a path prefix. */
const ENDPOINT = new URL('graphql', document.baseURI).toString();

/**
 * Requests of this page in flight at once: half of what the server lets one person have by default
 * (README, "Admission": 8), so that requests the page has abandoned, which the server may still be
 * finishing, leave room for the ones that replaced them.
 */
const MAX_IN_FLIGHT = 4;
/** Tries of a request the server refuses with RATE_LIMITED (it says when to try again). */
const TRIES = 4;

/** An error the API answered (or the network gave), with the API's code and reason when there are some. */
export class ApiError extends Error {
  /**
   * @param {string} code e.g. UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED; NETWORK_ERROR when no answer came
   * @param {string | null} reason the API's extensions.reason, if any
   * @param {string} message
   * @param {number} [retryAfterSeconds] when the server said to try again (RATE_LIMITED)
   */
  constructor(code, reason, message, retryAfterSeconds = 0) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** @returns {string | null} the token this tab holds */
export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string} token a JWT, with or without its "Bearer " prefix */
export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim().replace(/^Bearer\s+/i, ''));
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * What a token says about its holder, read without checking it (the server checks it): for display only.
 * @param {string} token
 * @returns {{ sub?: string, role?: string, org?: string, exp?: number } | null}
 */
export function tokenClaims(token) {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === 'object' && claims !== null ? claims : null;
  } catch {
    return null;
  }
}

/**
 * @typedef {{ message: string, extensions?: { code?: string, reason?: string, retryAfterSeconds?: number } }} GraphQLError
 * @typedef {{ data?: Record<string, any> | null, errors?: GraphQLError[], extensions?: { cost?: { requested: number | null, limit: number } } }} GraphQLBody
 */

let inFlight = 0;
/** @type {(() => void)[]} */
const waiting = [];

/**
 * Waits for one of the MAX_IN_FLIGHT places; rejects if `signal` aborts first.
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function place(signal) {
  signal?.throwIfAborted();
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight += 1;
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const go = () => {
      signal?.removeEventListener('abort', cancel);
      inFlight += 1;
      resolve();
    };
    const cancel = () => {
      waiting.splice(waiting.indexOf(go), 1);
      reject(signal?.reason);
    };
    waiting.push(go);
    signal?.addEventListener('abort', cancel, { once: true });
  });
}

function leave() {
  inFlight -= 1;
  waiting.shift()?.();
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * Runs one GraphQL operation, at most MAX_IN_FLIGHT at once, trying again when the server answers
 * RATE_LIMITED (after the Retry-After it gives, at most 5 s). Any error in the answer fails the whole
 * call: every section of the page asks for exactly what it shows, so part of an answer is not worth showing.
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @param {AbortSignal} [signal]
 * @returns {Promise<Record<string, any>>} the answer's data
 */
export async function graphql(query, variables, signal) {
  for (let tried = 1; ; tried += 1) {
    /** @type {ApiError} */
    let refused;
    await place(signal);
    try {
      return await send(query, variables, signal);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'RATE_LIMITED' || tried >= TRIES) throw error;
      refused = error;
    } finally {
      leave();
    }
    await pause(1000 * Math.min(5, Math.max(1, refused.retryAfterSeconds)), signal);
  }
}

/**
 * One POST of the operation, its answer's data or its first error.
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @param {AbortSignal} [signal]
 * @returns {Promise<Record<string, any>>}
 */
async function send(query, variables, signal) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json;q=0.9' };
  const token = storedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal, cache: 'no-store' });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError('NETWORK_ERROR', null, `The server did not answer (${error instanceof Error ? error.message : String(error)}).`);
  }
  /** @type {GraphQLBody} */
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP_${response.status}`, null, `The server answered HTTP ${response.status} without a GraphQL answer.`);
  }
  const first = body.errors?.[0];
  if (first) {
    const retry = first.extensions?.retryAfterSeconds ?? 0;
    const message = retry ? `${first.message} (retry after ${retry} s)` : first.message;
    throw new ApiError(first.extensions?.code ?? `HTTP_${response.status}`, first.extensions?.reason ?? null, message, retry);
  }
  if (!body.data) throw new ApiError(`HTTP_${response.status}`, null, 'The answer holds no data.');
  return body.data;
}
