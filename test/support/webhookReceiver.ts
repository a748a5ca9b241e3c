import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the receiver answers one request: a status at once, or never (until the sender gives up or it closes). */
export type Behaviour = { status: number } | 'hang';
export const OK: Behaviour = { status: 200 };
export const FAIL: Behaviour = { status: 500 };
export const HANG: Behaviour = 'hang';

export interface Received {
  /** The order it arrived in, from 0. */
  n: number;
  headers: IncomingHttpHeaders;
  body: string;
  deliveryId: string;
  /** What it was answered: a status, or null (held, never answered). */
  answered: number | null;
}

export interface Receiver {
  /** The URL to configure as a webhook: http://127.0.0.1:<port>/hook */
  url: string;
  received: Received[];
  /** Requests answered 2xx, by delivery id. */
  acceptedBy(deliveryId: string): Received[];
  /** Delivery ids answered 2xx at least once (what a receiver that deduplicates would act on). */
  acceptedIds(): Set<string>;
  /** Called after each answer has been written (tests kill a server right there). */
  onAnswered?: (received: Received) => void;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on 127.0.0.1: node http, answering each request by `behaviour(n, request)`
 * (by turns, say: fail, hang, succeed), and remembering every request and what it was answered.
 * Held requests stay open until the sender gives up or the receiver closes.
 */
export async function startReceiver(behaviour: (n: number, headers: IncomingHttpHeaders) => Behaviour): Promise<Receiver> {
  const received: Received[] = [];
  const held = new Set<ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received,
    acceptedBy: (id) => received.filter((r) => r.deliveryId === id && r.answered !== null && r.answered >= 200 && r.answered < 300),
    acceptedIds: () => new Set(received.filter((r) => r.answered !== null && r.answered >= 200 && r.answered < 300).map((r) => r.deliveryId)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Received = {
        n: received.length,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        deliveryId: String(req.headers['x-okr-delivery'] ?? ''),
        answered: null,
      };
      received.push(entry);
      const what = behaviour(entry.n, req.headers);
      if (what === 'hang') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      res.statusCode = what.status;
      res.end(what.status >= 200 && what.status < 300 ? 'ok' : 'receiver says no', () => {
        entry.answered = what.status;
        receiver.onAnswered?.(entry);
      });
      // Counted as answered once written, even if the sender has gone meanwhile.
      entry.answered = what.status;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
