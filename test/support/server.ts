import { ephemeralCheckpointKeys, type CheckpointKeys } from '../../src/checkpointKeys';
import { createServer, type OkrServer, type ServerOptions } from '../../src/server';
import { createTestDatabase, totalEvents, type TestDatabase } from './database';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; reason?: string; [k: string]: unknown } }[];
}

/** A controllable clock: tests move time forward explicitly. */
export class TestClock {
  constructor(private current: Date) {}
  now = (): Date => new Date(this.current);
  set(iso: string): void {
    this.current = new Date(iso);
  }
  advanceDays(days: number): void {
    this.current = new Date(this.current.getTime() + days * 86_400_000);
  }
}

export interface TestServer {
  db: TestDatabase;
  server: OkrServer;
  url: string;
  clock: TestClock;
  /** The key the server signs checkpoints with. */
  keys: CheckpointKeys;
  /** A GraphQL request over HTTP, with a bearer token when given. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Number of events in the log (for "a rejected call appended nothing"). */
  eventCount(): Promise<number>;
  close(): Promise<void>;
}

/** The real server, on its own database, on an ephemeral loopback port. */
export async function startTestServer(
  label: string,
  start = '2026-12-01T09:00:00Z',
  organisationId = 'org-e2e',
  extra: Partial<ServerOptions> = {},
): Promise<TestServer> {
  const db = await createTestDatabase(label);
  const clock = new TestClock(new Date(start));
  const keys = extra.checkpointKeys ?? ephemeralCheckpointKeys();
  const server = await createServer({ orm: db.orm, organisationId, actor: 'alice', clock: clock.now, checkpointKeys: keys, ...extra });
  const url = await server.listen(0, '127.0.0.1');
  return {
    db,
    server,
    url,
    clock,
    keys,
    async gql(query, variables, token?: string) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GraphQLResponse;
      return { status: res.status, data: body.data, errors: body.errors } as GraphQLResponse<any>;
    },
    eventCount: () => totalEvents(db.sql),
    async close() {
      await server.close();
      await db.drop();
    },
  };
}
