import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { CheckInCadence, Direction, KeyResultCalibrationData, KeyResultKind, UnitLevel } from '../events/catalogue';
import type {
  CheckInDoc,
  KeyResultRevisionDoc,
  EffortDoc,
  KeyResultDoc,
  ObjectiveDoc,
  ObjectiveLifecycle,
  QuarterDoc,
  RetrospectiveDoc,
  UnitDoc,
} from './docs';

/*
 * The inline read models as MikroORM entities. Each mirrors its document type field for field;
 * every column names its type explicitly (reflect-metadata cannot see through `T | null`).
 * Tables are created by the migrations in src/migrations; a test checks they agree.
 */

@Entity({ tableName: 'okr_units' })
@Index({ properties: ['organisationId', 'parentId'] })
export class UnitView implements UnitDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: new BigIntType('number') }) seq!: number;
  @Property({ type: 'text' }) name!: string;
  @Property({ type: 'text' }) level!: UnitLevel;
  @Property({ type: 'text', nullable: true }) parentId!: string | null;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) registeredAt!: Date;
  @Property({ type: 'text' }) checkInCadence!: CheckInCadence;
}

@Entity({ tableName: 'okr_quarters' })
export class QuarterView implements QuarterDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) startsOn!: Date;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) endsOn!: Date;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) settingOpensOn!: Date;
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true }) closedAt!: Date | null;
}

@Entity({ tableName: 'okr_objectives' })
@Index({ properties: ['organisationId', 'quarterId', 'unitId'] })
@Index({ properties: ['organisationId', 'parentId'] })
export class ObjectiveView implements ObjectiveDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: new BigIntType('number') }) seq!: number;
  @Property({ type: 'text' }) unitId!: string;
  @Property({ type: 'text' }) quarterId!: string;
  @Property({ type: 'text' }) title!: string;
  @Property({ type: 'text', nullable: true }) description!: string | null;
  @Property({ type: 'boolean' }) aspirational!: boolean;
  @Property({ type: 'text' }) lifecycle!: ObjectiveLifecycle;
  @Property({ type: 'text', nullable: true }) retiredReason!: string | null;
  @Property({ type: 'text', nullable: true }) parentId!: string | null;
  @Property({ type: 'integer' }) version!: number;
  @Property({ type: 'json' }) keyResultScores!: Record<string, number | null>;
  @Property({ type: 'double', nullable: true }) score!: number | null;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) draftedAt!: Date;
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true }) committedAt!: Date | null;
}

@Entity({ tableName: 'okr_key_results' })
@Index({ properties: ['organisationId', 'objectiveId'] })
@Index({ properties: ['organisationId', 'quarterId', 'unitId'] })
export class KeyResultView implements KeyResultDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: new BigIntType('number') }) seq!: number;
  @Property({ type: 'text' }) objectiveId!: string;
  @Property({ type: 'text' }) unitId!: string;
  @Property({ type: 'text' }) quarterId!: string;
  @Property({ type: 'text' }) title!: string;
  @Property({ type: 'text' }) metric!: string;
  @Property({ type: 'text', nullable: true }) unit!: string | null;
  @Property({ type: 'double' }) baseline!: number;
  @Property({ type: 'double' }) target!: number;
  @Property({ type: 'text' }) direction!: Direction;
  @Property({ type: 'text' }) kind!: KeyResultKind;
  @Property({ type: 'double', nullable: true }) current!: number | null;
  @Property({ type: 'integer', nullable: true }) confidence!: number | null;
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true }) latestCheckInAsOf!: Date | null;
  @Property({ type: 'double', nullable: true }) score!: number | null;
  @Property({ type: 'text', nullable: true }) scoreNote!: string | null;
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true }) scoredAt!: Date | null;
  @Property({ type: 'double', nullable: true }) scoredTarget!: number | null;
  @Property({ type: 'double' }) originalBaseline!: number;
  @Property({ type: 'double' }) originalTarget!: number;
  @Property({ type: 'json' }) revisions!: KeyResultRevisionDoc[];
  @Property({ type: 'integer' }) version!: number;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) definedAt!: Date;
}

@Entity({ tableName: 'okr_check_ins' })
@Index({ properties: ['organisationId', 'keyResultId', 'asOf'] })
export class CheckInView implements CheckInDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: 'text' }) keyResultId!: string;
  @Property({ type: 'text' }) unitId!: string;
  @Property({ type: 'text' }) quarterId!: string;
  @Property({ type: 'integer' }) version!: number;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) recordedAt!: Date;
  @Property({ type: 'datetime', columnType: 'timestamptz' }) asOf!: Date;
  @Property({ type: 'integer' }) confidence!: number;
  @Property({ type: 'double', nullable: true }) value!: number | null;
  @Property({ type: 'text', nullable: true }) whatChanged!: string | null;
  @Property({ type: 'text', nullable: true }) blockers!: string | null;
  @Property({ type: 'text', nullable: true }) author!: string | null;
}

@Entity({ tableName: 'okr_retrospectives' })
@Index({ properties: ['organisationId', 'quarterId'] })
export class RetrospectiveView implements RetrospectiveDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: 'text' }) unitId!: string;
  @Property({ type: 'text' }) quarterId!: string;
  @Property({ type: 'text' }) learnings!: string;
  @Property({ type: 'json' }) calibrations!: KeyResultCalibrationData[];
  @Property({ type: 'datetime', columnType: 'timestamptz' }) recordedAt!: Date;
}

@Entity({ tableName: 'okr_effort' })
@Index({ properties: ['organisationId', 'quarterId'] })
export class EffortView implements EffortDoc {
  @PrimaryKey({ type: 'text' }) organisationId!: string;
  @PrimaryKey({ type: 'text' }) id!: string;
  @Property({ type: 'text' }) unitId!: string;
  @Property({ type: 'text' }) quarterId!: string;
  @Property({ type: 'double' }) settingDays!: number;
  @Property({ type: 'double' }) checkInDays!: number;
  @Property({ type: 'double' }) scoringDays!: number;
  @Property({ type: 'double' }) retrospectiveDays!: number;
  @Property({ type: 'integer' }) checkIns!: number;
}

/**
 * A row read with the query builder as a document. PostgreSQL bigints arrive as strings there;
 * documents hold numbers (positions stay far below 2^53).
 */
export function rowToDoc<D extends object>(row: D): D {
  const r = row as { seq?: unknown };
  if (typeof r.seq === 'string') r.seq = Number(r.seq);
  return row;
}

export const READ_MODEL_ENTITIES = [
  UnitView,
  QuarterView,
  ObjectiveView,
  KeyResultView,
  CheckInView,
  RetrospectiveView,
  EffortView,
];

