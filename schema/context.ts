import type { ReadModel } from '../projections/readModel';
import type { Commands } from '../src/commands';

/** Everything a resolver may use, built once per request. */
export interface Context {
  organisationId: string;
  actor: string;
  requestId: string;
  /** The instant the request is answered at (phases are derived from it). */
  now: Date;
  commands: Commands;
  read: ReadModel;
  /** Replaces `read` with a fresh one (no cached rows), after a write. */
  refreshRead(): void;
  /** Person-days a unit's OKR cycle should cost per quarter, for this organisation. */
  effortBudget: number;
}
