import type { OkrCommands } from '../domain/commands';
import type { LogVerification } from '../events/audit';
import type { StoredCheckpoint } from '../events/checkpoints';
import type { ConsistencyProofJson, InclusionProofJson } from '../events/tree';
import type { RecordedEvent } from '../events/catalogue';
import type { LogFilter } from '../events/store';
import type { ReadModel } from '../projections/readModel';
import type { WebhookAccess } from './webhookAccess';

/** Everything a resolver may use, built once per request. */
export interface Context {
  organisationId: string;
  actor: string;
  role: 'admin' | 'member' | 'analyst' | 'auditor' | 'service';
  /** For a service: the key results its token names, the only ones it may measure and read. */
  keyResults: readonly string[];
  requestId: string;
  /** The instant the request is answered at (phases are derived from it). */
  now: Date;
  commands: OkrCommands;
  read: ReadModel;
  /** Replaces `read` with a fresh one (no cached rows), after a write. */
  refreshRead(): void;
  /** The read model as it stood at `at` (from the history tables, at the organisation's log position then). */
  readAsOf(at: Date): Promise<ReadModel>;
  /** New events from now on that match the filter (the live subscription). */
  feed(filter: { quarterId?: string | null; unitId?: string | null }): AsyncIterableIterator<RecordedEvent>;
  /** The organisation's log as an auditor checks it: verification, signed checkpoints, proofs. */
  audit: AuditAccess;
  /** The event log (reads only). */
  log: { readAll(filter: Omit<LogFilter, 'organisationId'>): Promise<RecordedEvent[]> };
  /** Person-days a unit's OKR cycle should cost per quarter, for this organisation. */
  effortBudget: number;
  /** The organisation's outgoing webhooks and their deliveries (admins only: the implementation checks). */
  webhooks: WebhookAccess;
}

/** One organisation's verifiable log, as the API exposes it (src/audit.ts implements it). */
export interface AuditAccess {
  /** Recomputes the organisation's tree (from the last verified checkpoint unless full) and compares. */
  /** `record`: when the caller may, a match leaves a signed checkpoint and a verification record (default true). */
  verify(options: { full: boolean; record?: boolean }): Promise<LogVerification>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** Signs a checkpoint at the head (the latest one when the head has not moved); null for an empty log. */
  recordCheckpoint(): Promise<StoredCheckpoint | null>;
  inclusionProof(position: number, treeSize: number | null): Promise<InclusionProofJson>;
  consistencyProof(from: number, to: number | null): Promise<ConsistencyProofJson>;
  /** The checkpoint key in signed-note verifier form. */
  publicKey: string;
  /** The origin line of this organisation's checkpoints. */
  origin: string;
}
