import { SignJWT } from 'jose';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** Helpers for the WebSocket tests: real graphql-ws clients (and raw sockets) against the real server. */

export const SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** A token; `exp` as seconds since the epoch, or a jose duration such as '1h'. */
export const mint = (org: string, sub: string, exp: number | string = '1h', role = 'admin'): Promise<string> =>
  new SignJWT({ org, role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

export interface Closed {
  code: number;
  reason: string;
}

export interface Connection {
  client: Client;
  /** Resolves once the server acknowledged connection_init. */
  acked: Promise<void>;
  /** Resolves with the close code and reason when the socket closes. */
  closed: Promise<Closed>;
  /** 'acked' or 'closed', whichever comes first. */
  outcome: Promise<'acked' | Closed>;
}

/** A graphql-ws client that connects at once, never retries, and records how its socket closed. */
export function connect(url: string, token?: string): Connection {
  let onAck: () => void = () => undefined;
  let onClose: (closed: Closed) => void = () => undefined;
  const acked = new Promise<void>((resolve) => (onAck = resolve));
  const closed = new Promise<Closed>((resolve) => (onClose = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    on: {
      connected: () => onAck(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClose({ code, reason: String(reason) });
      },
    },
  });
  return { client, acked, closed, outcome: Promise.race([acked.then(() => 'acked' as const), closed]) };
}

export interface Subscription<T = unknown> {
  /** Data of every `next` message. */
  events: T[];
  /** The error (a list of GraphQL errors, or a close event) or 'complete', when the subscription ends. */
  ended: Promise<unknown>;
  stop: () => void;
}

export function subscribe<T = unknown>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T> {
  const events: T[] = [];
  let stop: () => void = () => undefined;
  const ended = new Promise<unknown>((resolve) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (message) => {
          if (message.data) events.push(message.data as T);
          if (message.errors) resolve(message.errors);
        },
        error: (error) => resolve(error),
        complete: () => resolve('complete'),
      },
    );
  });
  return { events, ended, stop };
}

/** Waits, in a bounded loop, until `condition` holds. */
export async function until(condition: () => boolean, what: string, steps = 1000): Promise<void> {
  for (let i = 0; i < steps; i += 1) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The promise's value, or a clear failure after `ms` instead of waiting for the test's timeout. */
export const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);

/** A raw socket speaking graphql-transport-ws, for what the graphql-ws client hides (pausing, floods). */
export class RawSocket {
  readonly socket: WebSocket;
  readonly messages: { id?: string; type: string; payload?: unknown }[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;

  constructor(url: string) {
    this.socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    this.socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Opens and completes connection_init with the token. */
  async init(token: string): Promise<void> {
    await this.opened;
    this.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await until(() => this.messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  }

  of(type: string): { id?: string; type: string; payload?: unknown }[] {
    return this.messages.filter((m) => m.type === type);
  }
}
