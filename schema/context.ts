import type { OkrCommands } from '../domain/commands';
import type { ChainVerification } from '../events/audit';
import type { RecordedEvent } from '../events/catalogue';
import type { LogFilter } from '../events/store';
import type { ReadModel } from '../projections/readModel';

/** Everything a resolver may use, built once per request. */
export interface Context {
  organisationId: string;
  actor: string;
  role: 'admin' | 'member' | 'analyst' | 'auditor';
  requestId: string;
  /** The instant the request is answered at (phases are derived from it). */
  now: Date;
  commands: OkrCommands;
  read: ReadModel;
  /** Replaces `read` with a fresh one (no cached rows), after a write. */
  refreshRead(): void;
  /** The quarter's read model as it stood at `at`, replayed from the log. */
  readAsOf(at: Date, quarterId: string): Promise<ReadModel>;
  /** New events from now on that match the filter (the live subscription). */
  feed(filter: { quarterId?: string | null; unitId?: string | null }): AsyncIterableIterator<RecordedEvent>;
  /** Recomputes the log's hash chain. */
  verifyLog(): Promise<ChainVerification>;
  /** The event log (reads only). */
  log: { readAll(filter: LogFilter): Promise<RecordedEvent[]> };
  /** Person-days a unit's OKR cycle should cost per quarter, for this organisation. */
  effortBudget: number;
}
