import type { RecordedEvent } from '../events/catalogue';
import type { CarryOverObjective } from './carryOver';
import type { DefineKeyResult, RecordCheckIn, RecordMeasurement, ReviseKeyResult, ScoreKeyResult } from './keyResult';
import type { AlignObjective, DraftObjective, RefineObjective, RetireObjective } from './objective';
import type { PlanQuarter } from './quarter';
import type { LogProcessEffort, RecordRetrospective, RegisterUnit, SetCheckInCadence } from './unit';

/*
 * The commands the ledger accepts, as the API layer sees them. src/commands.ts implements this with
 * the event store; schema/ depends on this interface only, so the API never reaches into src/.
 * Ids of new aggregates and the command's instant are supplied by the implementation.
 */

/** Idempotency keys are 1 to this many characters. */
export const IDEMPOTENCY_KEY_MAX = 200;

export interface CommandOptions {
  /** The target stream's version the client last saw; a mismatch is a CONFLICT, never retried. */
  expectedVersion?: number | null;
  /** A retried command with the same key appends nothing and answers the same result. */
  idempotencyKey?: string | null;
}

export interface CommandOutcome<R> {
  result: R;
  events: RecordedEvent[];
  /** True when an earlier request with the same idempotency key already did the work. */
  replayed: boolean;
}

type Outcome<R> = Promise<CommandOutcome<R>>;
type UnitIds = { unitId: string };
type QuarterIds = { quarterId: string };
type ObjectiveIds = { objectiveId: string };
type KeyResultIds = { keyResultId: string };
type UnitQuarterIds = { unitId: string; quarterId: string };

/** One method per command; each answers the ids the caller loads its response from. */
export interface OkrCommands {
  registerUnit(input: Omit<RegisterUnit, 'unitId'>, options?: CommandOptions): Outcome<UnitIds>;
  setCheckInCadence(input: SetCheckInCadence, options?: CommandOptions): Outcome<UnitIds>;
  planQuarter(input: PlanQuarter, options?: CommandOptions): Outcome<QuarterIds>;
  closeQuarter(quarterId: string, options?: CommandOptions): Outcome<QuarterIds>;
  draftObjective(input: Omit<DraftObjective, 'objectiveId'>, options?: CommandOptions): Outcome<ObjectiveIds>;
  refineObjective(input: RefineObjective, options?: CommandOptions): Outcome<ObjectiveIds>;
  alignObjective(input: AlignObjective, options?: CommandOptions): Outcome<ObjectiveIds>;
  commitObjective(input: { objectiveId: string }, options?: CommandOptions): Outcome<ObjectiveIds>;
  retireObjective(input: RetireObjective, options?: CommandOptions): Outcome<ObjectiveIds>;
  defineKeyResult(input: Omit<DefineKeyResult, 'keyResultId'>, options?: CommandOptions): Outcome<KeyResultIds>;
  reviseKeyResult(input: ReviseKeyResult, options?: CommandOptions): Outcome<KeyResultIds>;
  recordCheckIn(input: Omit<RecordCheckIn, 'at'>, options?: CommandOptions): Outcome<KeyResultIds>;
  scoreKeyResult(input: Omit<ScoreKeyResult, 'at'>, options?: CommandOptions): Outcome<KeyResultIds>;
  recordMeasurement(input: Omit<RecordMeasurement, 'now'>, options?: CommandOptions): Outcome<KeyResultIds>;
  /** Answers the objective drafted in the later quarter. */
  carryOverObjective(input: Omit<CarryOverObjective, 'newObjectiveId' | 'now'>, options?: CommandOptions): Outcome<ObjectiveIds>;
  recordRetrospective(input: RecordRetrospective, options?: CommandOptions): Outcome<UnitQuarterIds>;
  logProcessEffort(input: Omit<LogProcessEffort, 'at'>, options?: CommandOptions): Outcome<UnitQuarterIds>;
}
