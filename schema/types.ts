import { GraphQLScalarType, type ValueNode } from 'graphql';
import { Field, Float, ID, Int, InterfaceType, ObjectType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { EARLIEST_INSTANT, LATEST_INSTANT, isAcceptedTime } from '../domain/calendar';
import { Calibration, CheckInCadence, Direction, KeyResultKind, ProcessActivity, ReadingKind, Severity, UnitLevel } from './enums';

/*
 * Output types of the API contract, contract/okr.graphql. Relations (unit, parent, keyResults, ...) are
 * field resolvers in schema/resolvers, reading through the request's ReadModel.
 */

/** The instants the ledger accepts (domain/calendar.ts); anything else is refused before it reaches the database. */
function withinYears(value: unknown): Date {
  const date = value as Date;
  if (!isAcceptedTime(date.getTime())) throw new TypeError(`DateTime must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT} (the years 0001-9999).`);
  return date;
}

/** ISO-8601 instants with an offset (graphql-scalars' DateTime), limited to the years 0001-9999. */
export const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  parseValue: (value: unknown) => withinYears(DateTimeResolver.parseValue(value)),
  parseLiteral: (ast: ValueNode, variables?: Record<string, unknown> | null) =>
    withinYears(DateTimeResolver.parseLiteral(ast, variables)),
});
export const JSONScalar = JSONResolver;

const NODE_TYPE = Symbol('okr.nodeType');
export type NodeTypeName = 'Unit' | 'Quarter' | 'Objective' | 'KeyResult' | 'CheckIn' | 'Retrospective' | 'Event';

/** Marks `value` as a `type` object, for fields typed Node (node, nodes) to say which it is. */
export function asNode<T extends object>(type: NodeTypeName, value: T): T {
  Object.defineProperty(value, NODE_TYPE, { value: type, enumerable: false, configurable: true });
  return value;
}

@InterfaceType({
  description:
    'An object with an id that is unique across all types and stable over time (Relay Global Object Identification). ' +
    'Ids in an answer about the past (asOf, or a versioned id) are versioned: <id>@<instant>, the object as it was then.',
  resolveType: (value: object) => (value as { [NODE_TYPE]?: NodeTypeName })[NODE_TYPE],
})
export abstract class Node {
  @Field(() => ID) id!: string;
}

@ObjectType({ description: 'A company, a function or a team. Teams belong to functions, functions to the company.', implements: Node })
export class Unit implements Node {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => UnitLevel) level!: UnitLevel;
  @Field(() => CheckInCadence, { description: 'BIWEEKLY unless set otherwise.' }) checkInCadence!: CheckInCadence;
}

@ObjectType({ description: 'One field a revision changed.' })
export class FieldChange {
  @Field(() => String, { description: 'title, metric, unit, baseline, target or kind.' }) field!: string;
  @Field(() => JSONResolver, { nullable: true }) from!: unknown;
  @Field(() => JSONResolver, { nullable: true }) to!: unknown;
}

@ObjectType({ description: 'A change to a key result after it was defined: what, who, when and why.' })
export class KeyResultRevision {
  @Field(() => DateTime) at!: Date;
  @Field(() => String) actor!: string;
  @Field(() => String) reason!: string;
  @Field(() => [FieldChange]) changes!: FieldChange[];
}

@ObjectType({ implements: Node })
export class Quarter implements Node {
  @Field(() => ID, { description: 'A human key such as 2027-Q1 (2027-Q1@<instant> in an answer about the past).' }) id!: string;
  @Field(() => DateTime) startsOn!: Date;
  @Field(() => DateTime) endsOn!: Date;
  @Field(() => DateTime, { description: 'When drafting should begin; three weeks before startsOn unless planned otherwise.' })
  settingOpensOn!: Date;
}

@ObjectType({ implements: Node })
export class Objective implements Node {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'Qualitative and directional: what we are trying to achieve.' }) title!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Boolean, { description: 'Stretch OKR: 0.7 is success. Committed OKR (false): 1.0 is expected.' })
  aspirational!: boolean;
  @Field(() => Float, { nullable: true, description: 'Mean of its key results\' scores, once every active key result is scored.' })
  score!: number | null;
  @Field(() => Int, { description: 'Stream version: pass it back as expectedVersion to detect concurrent changes.' })
  version!: number;
}

@ObjectType({ implements: Node })
export class KeyResult implements Node {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'e.g. Reduce 5xx error rate on the payment service from 0.8% to below 0.2%' }) title!: string;
  @Field(() => String) metric!: string;
  @Field(() => String, { nullable: true }) unit!: string | null;
  @Field(() => Float) baseline!: number;
  @Field(() => Float) target!: number;
  @Field(() => Direction) direction!: Direction;
  @Field(() => KeyResultKind) kind!: KeyResultKind;
  @Field(() => Float, {
    nullable: true,
    description:
      'The value of the latest reading by effective date, if any: a check-in that gave a value, or a measurement (recordMeasurement). ' +
      'A check-in without a value leaves it as it was.',
  })
  current!: number | null;
  @Field(() => DateTime, { nullable: true, description: 'The moment the reading `current` comes from describes.' })
  currentAt!: Date | null;
  @Field(() => String, {
    nullable: true,
    description: 'The system whose measurement `current` is (its source); null when it came from a check-in, or there is no reading yet.',
  })
  currentSource!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'The confidence (0-100) of the latest check-in by effective date, if any. Measurements never change it: confidence is a person\'s judgement.',
  })
  confidence!: number | null;
  @Field(() => Float, { nullable: true, description: '0-1, given at the end of the quarter.' }) score!: number | null;
  @Field(() => Float, { nullable: true, description: 'The target in force when the latest score was given.' })
  scoredTarget!: number | null;
  @Field(() => DateTime, { nullable: true }) scoredAt!: Date | null;
  @Field(() => Float, { description: 'The baseline as first defined.' }) originalBaseline!: number;
  @Field(() => Float, { description: 'The target as first defined; differs from target when a revision moved it.' })
  originalTarget!: number;
  @Field(() => [KeyResultRevision], { description: 'Every revision, oldest first.' }) revisions!: KeyResultRevision[];
  @Field(() => Int) version!: number;
}

@ObjectType({ implements: Node })
export class CheckIn implements Node {
  @Field(() => ID, { description: 'CheckIn:<id of the event that recorded it>.' }) id!: string;
  @Field(() => DateTime, { description: 'When the check-in was recorded.' }) recordedAt!: Date;
  @Field(() => DateTime, { description: 'The moment the reading describes; equals recordedAt unless the check-in was back-dated.' })
  asOf!: Date;
  @Field(() => Int) confidence!: number;
  @Field(() => Float, { nullable: true }) value!: number | null;
  @Field(() => String, { nullable: true }) whatChanged!: string | null;
  @Field(() => String, { nullable: true }) blockers!: string | null;
  @Field(() => String, { nullable: true }) author!: string | null;
}

@ObjectType()
export class KeyResultCalibration {
  /** Resolved to a KeyResult by a field resolver. */
  keyResultId!: string;
  @Field(() => Calibration) calibration!: Calibration;
  @Field(() => String, { nullable: true }) note!: string | null;
}

@ObjectType({ implements: Node })
export class Retrospective implements Node {
  @Field(() => ID, { description: 'Retrospective:<unit id>/<quarter id>: the unit\'s latest retrospective of the quarter.' }) id!: string;
  @Field(() => String) learnings!: string;
  @Field(() => DateTime) recordedAt!: Date;
}

@ObjectType()
export class ActivityEffort {
  @Field(() => ProcessActivity) activity!: ProcessActivity;
  @Field(() => Float) personDays!: number;
}

@ObjectType({ description: 'Process effort of one unit in one quarter, against the budget (4 person-days unless configured).' })
export class EffortAudit {
  unitId!: string;
  quarterId!: string;
  @Field(() => Float) personDays!: number;
  @Field(() => Float) budgetPersonDays!: number;
  @Field(() => Boolean) overBudget!: boolean;
  @Field(() => [ActivityEffort]) byActivity!: ActivityEffort[];
  @Field(() => Int, { description: 'Check-ins recorded for the unit\'s key results in the quarter: evidence beside the logged effort.' })
  checkIns!: number;
  @Field(() => Float, { nullable: true, description: 'Days from the setting window opening to the unit\'s last objective commit.' })
  daysToLastCommit!: number | null;
  @Field(() => DateTime, { nullable: true }) lastCommittedAt!: Date | null;
  @Field(() => Boolean) retrospectiveRecorded!: boolean;
}

@ObjectType()
export class ConfidencePoint {
  @Field(() => DateTime, { description: 'The moment the reading describes (its effective time).' }) at!: Date;
  @Field(() => Int) confidence!: number;
  @Field(() => Float, { nullable: true }) value!: number | null;
  @Field(() => DateTime, { description: 'When the reading was recorded.' }) recordedAt!: Date;
  @Field(() => Boolean, { description: 'Recorded noticeably later than the moment it describes.' }) backdated!: boolean;
  @Field(() => Boolean, { description: 'Replaces an earlier-recorded reading for the same moment.' }) correction!: boolean;
  @Field(() => Boolean, { description: 'Replaced by a later-recorded reading for the same moment.' }) superseded!: boolean;
}

@ObjectType({
  description:
    'A reading of a key result\'s metric in its trend: a person\'s check-in (with a confidence) or a system\'s measurement (with its source, and no confidence).',
})
export class ReadingPoint {
  @Field(() => DateTime, { description: 'The moment the reading describes (its effective time).' }) at!: Date;
  @Field(() => DateTime, { description: 'When the reading was recorded.' }) recordedAt!: Date;
  @Field(() => Float, { nullable: true, description: 'The metric\'s value; a check-in may give none.' }) value!: number | null;
  @Field(() => Int, { nullable: true, description: 'A check-in\'s confidence (0-100); null for a measurement.' }) confidence!: number | null;
  @Field(() => ReadingKind) kind!: ReadingKind;
  @Field(() => String, { nullable: true, description: 'The system a measurement came from; null for a check-in.' }) source!: string | null;
  @Field(() => String, { nullable: true, description: 'Who recorded it: a person, or the subject of a service token.' }) author!: string | null;
  @Field(() => Boolean, { description: 'Recorded noticeably later than the moment it describes.' }) backdated!: boolean;
  @Field(() => Boolean, { description: 'Replaces an earlier-recorded reading for the same moment from the same origin (check-ins, or one system).' })
  correction!: boolean;
  @Field(() => Boolean, { description: 'Replaced by a later-recorded reading for the same moment from the same origin.' }) superseded!: boolean;
}

@ObjectType({ description: 'How well the last confidence before scoring predicted the score.' })
export class CalibrationGap {
  keyResultId!: string;
  @Field(() => KeyResult) keyResult!: KeyResult;
  @Field(() => Int, { description: 'Confidence (0-100) of the latest reading recorded before the score.' }) lastConfidence!: number;
  @Field(() => Float) score!: number;
  @Field(() => Float, { description: 'score - lastConfidence/100: positive means under-confident, negative over-confident.' })
  gap!: number;
}

@ObjectType({ description: 'Per unit: did its confidence mean anything? (scored key results only)' })
export class UnitCalibration {
  /** Resolved to a Unit by a field resolver. */
  unitId!: string;
  @Field(() => [CalibrationGap]) keyResults!: CalibrationGap[];
  @Field(() => Float, { description: 'Mean signed gap: positive means the unit was under-confident.' }) meanGap!: number;
  @Field(() => Float, { description: 'Mean absolute gap: 0 means confidence predicted the scores exactly.' }) meanAbsoluteGap!: number;
}

@ObjectType()
export class ConfidenceSeries {
  @Field(() => KeyResult) keyResult!: KeyResult;
  @Field(() => [ConfidencePoint], { description: 'Its check-ins (measurements have no confidence: see readings).' }) points!: ConfidencePoint[];
  @Field(() => [ReadingPoint], { description: 'Every reading by effective time: its check-ins and the measurements systems posted.' })
  readings!: ReadingPoint[];
  @Field(() => CalibrationGap, { nullable: true, description: 'Once scored: the last confidence before scoring against the score.' })
  calibration!: CalibrationGap | null;
}

@ObjectType()
export class ConfidenceBucket {
  @Field(() => DateTime) weekStarting!: Date;
  @Field(() => Float) meanConfidence!: number;
  @Field(() => Int) checkIns!: number;
}

@ObjectType({ description: 'A breach of good OKR practice found in the history, e.g. too many objectives or a forgotten check-in.' })
export class HealthFinding {
  @Field(() => String, { description: 'A stable rule name, e.g. TOO_MANY_OBJECTIVES.' }) rule!: string;
  @Field(() => Severity) severity!: Severity;
  @Field(() => String) message!: string;
  @Field(() => ID, { nullable: true, description: 'The unit, objective or key result the finding is about (versioned in an answer about the past).' })
  subjectId!: string | null;
}

@ObjectType({ implements: Node })
export class Event implements Node {
  @Field(() => ID, { description: 'Event:<streamId>/<version>: the same however the log\'s positions are numbered.' }) id!: string;
  @Field(() => String, { description: 'Opaque position in the global log; later events have later positions in the order the log delivers them.' })
  position!: string;
  @Field(() => String) streamId!: string;
  @Field(() => Int) version!: number;
  @Field(() => String) type!: string;
  @Field(() => JSONScalar) data!: unknown;
  @Field(() => DateTime) recordedAt!: Date;
  @Field(() => String, { nullable: true }) actor!: string | null;
}

@ObjectType()
export class EventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Event) node!: Event;
}

@ObjectType({ description: 'Relay connection paging: hasPreviousPage and hasNextPage say whether the filtered log holds events before and after this page.' })
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
  @Field(() => Boolean) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
}

@ObjectType()
export class EventConnection {
  @Field(() => [EventEdge]) edges!: EventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ description: 'The organisation\'s log recomputed and compared with its stored Merkle tree and its signed checkpoints.' })
export class AuditVerification {
  @Field(() => Boolean) ok!: boolean;
  @Field(() => Int, { description: 'Events recomputed by this check (those after checkedFrom).' })
  eventsChecked!: number;
  @Field(() => String, { nullable: true, description: 'The first event (organisation position) whose content no longer matches the log\'s tree, if any.' })
  firstBrokenPosition!: string | null;
  @Field(() => String, { nullable: true, description: 'What was found at firstBrokenPosition.' })
  reason!: string | null;
  @Field(() => Boolean, { description: 'True when the whole log was recomputed; false when the check began at an earlier verified, signed checkpoint.' })
  full!: boolean;
  @Field(() => Int, { description: 'The tree size the check began at (0 for a full check).' })
  checkedFrom!: number;
  @Field(() => Int, { description: 'The organisation\'s log size checked up to.' })
  treeSize!: number;
  @Field(() => String, { nullable: true, description: 'The recomputed root hash at treeSize (standard base64), when the log matches.' })
  rootHash!: string | null;
  @Field(() => Int, { description: 'Signed checkpoints whose signature and root were checked on the way.' })
  checkpointsChecked!: number;
}

@ObjectType({ description: 'A signed checkpoint: the service\'s signed word that the organisation\'s log had treeSize events with this root hash (C2SP tlog-checkpoint in a C2SP signed note, Ed25519).' })
export class Checkpoint {
  @Field(() => String, { description: 'The origin line: names the deployment and the organisation.' })
  origin!: string;
  @Field(() => Int) treeSize!: number;
  @Field(() => String, { description: 'The RFC 6962 root hash, standard base64.' })
  rootHash!: string;
  @Field(() => String, { description: 'The signed note exactly as signed: keep it, byte for byte, to check later events and checkpoints against.' })
  note!: string;
  @Field(() => String, { description: 'The name of the key that signed it.' })
  keyName!: string;
  @Field(() => DateTime) signedAt!: Date;
}

@ObjectType({ description: 'An RFC 9162 inclusion proof: position is leaf index position - 1; hashes in standard base64, in RFC order.' })
export class InclusionProof {
  @Field(() => Int) position!: number;
  @Field(() => Int) treeSize!: number;
  @Field(() => String, { description: 'The event\'s leaf hash: SHA-256(0x00 || its canonical JSON), standard base64.' })
  leafHash!: string;
  @Field(() => [String]) hashes!: string[];
}

@ObjectType({ description: 'An RFC 9162 consistency proof between two tree sizes; hashes in standard base64, in RFC order.' })
export class ConsistencyProof {
  @Field(() => Int) from!: number;
  @Field(() => Int) to!: number;
  @Field(() => [String]) hashes!: string[];
}
