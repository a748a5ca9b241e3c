import { ArrayMaxSize, IsOptional, Length, Min, ValidateNested } from 'class-validator';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { LIMITS } from '../domain/validate';
import { IDEMPOTENCY_KEY_MAX } from '../domain/commands';
import { Calibration, CheckInCadence, Direction, KeyResultKind, ProcessActivity, UnitLevel } from './enums';
import { DateTime } from './types';

/*
 * One input class per mutation. class-validator checks the shape at the edge (id and key sizes,
 * list sizes, version numbers); the meaning (ranges, text rules, state) is the domain's to judge.
 */

const ID_MAX = 100;

@InputType()
export class RegisterUnitInput {
  @Field(() => String) name!: string;
  @Field(() => UnitLevel) level!: UnitLevel;
  @Field(() => ID, { nullable: true }) @IsOptional() @Length(1, ID_MAX) parentId?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class SetCheckInCadenceInput {
  @Field(() => ID) @Length(1, ID_MAX) unitId!: string;
  @Field(() => CheckInCadence) cadence!: CheckInCadence;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class PlanQuarterInput {
  @Field(() => ID) @Length(1, LIMITS.quarterKey) id!: string;
  @Field(() => DateTime) startsOn!: Date;
  @Field(() => DateTime) endsOn!: Date;
  @Field(() => DateTime, { nullable: true }) settingOpensOn?: Date | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class DraftObjectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) unitId!: string;
  @Field(() => ID) @Length(1, ID_MAX) quarterId!: string;
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Boolean, { nullable: true }) aspirational?: boolean | null;
  @Field(() => ID, { nullable: true }) @IsOptional() @Length(1, ID_MAX) parentId?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class RefineObjectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) id!: string;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType({ description: 'parentId null removes the alignment.' })
export class AlignObjectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) id!: string;
  @Field(() => ID, { nullable: true }) @IsOptional() @Length(1, ID_MAX) parentId?: string | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class CommitObjectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) id!: string;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class RetireObjectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) id!: string;
  @Field(() => String) reason!: string;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class DefineKeyResultInput {
  @Field(() => ID) @Length(1, ID_MAX) objectiveId!: string;
  @Field(() => String) title!: string;
  @Field(() => String) metric!: string;
  @Field(() => String, { nullable: true }) unit?: string | null;
  @Field(() => Float) baseline!: number;
  @Field(() => Float) target!: number;
  @Field(() => Direction, { nullable: true, description: 'Inferred from baseline and target when omitted.' })
  direction?: Direction | null;
  @Field(() => KeyResultKind, { nullable: true, description: 'OUTCOME when omitted.' }) kind?: KeyResultKind | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class ReviseKeyResultInput {
  @Field(() => ID) @Length(1, ID_MAX) id!: string;
  @Field(() => String) reason!: string;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) metric?: string | null;
  @Field(() => String, { nullable: true }) unit?: string | null;
  @Field(() => Float, { nullable: true }) baseline?: number | null;
  @Field(() => Float, { nullable: true }) target?: number | null;
  @Field(() => KeyResultKind, { nullable: true }) kind?: KeyResultKind | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class RecordCheckInInput {
  @Field(() => ID) @Length(1, ID_MAX) keyResultId!: string;
  @Field(() => Int) confidence!: number;
  @Field(() => Float, { nullable: true }) value?: number | null;
  @Field(() => String, { nullable: true }) whatChanged?: string | null;
  @Field(() => String, { nullable: true }) blockers?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'Back-dating: the moment the reading describes. Defaults to now.' })
  asOf?: Date | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class ScoreKeyResultInput {
  @Field(() => ID) @Length(1, ID_MAX) keyResultId!: string;
  @Field(() => Float) score!: number;
  @Field(() => String, { nullable: true }) note?: string | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class CalibrationInput {
  @Field(() => ID) @Length(1, ID_MAX) keyResultId!: string;
  @Field(() => Calibration) calibration!: Calibration;
  @Field(() => String, { nullable: true }) note?: string | null;
}

@InputType()
export class RecordRetrospectiveInput {
  @Field(() => ID) @Length(1, ID_MAX) unitId!: string;
  @Field(() => ID) @Length(1, ID_MAX) quarterId!: string;
  @Field(() => String) learnings!: string;
  @Field(() => [CalibrationInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(LIMITS.calibrations)
  @ValidateNested()
  calibrations?: CalibrationInput[] | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class LogProcessEffortInput {
  @Field(() => ID) @Length(1, ID_MAX) unitId!: string;
  @Field(() => ID) @Length(1, ID_MAX) quarterId!: string;
  @Field(() => ProcessActivity) activity!: ProcessActivity;
  @Field(() => Float) personDays!: number;
  @Field(() => String, { nullable: true }) note?: string | null;
  @Field(() => DateTime, { nullable: true }) occurredOn?: Date | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType({ description: 'A reading of a key result\'s metric taken by a system (a CI job, a monitoring query).' })
export class RecordMeasurementInput {
  @Field(() => ID) @Length(1, ID_MAX) keyResultId!: string;
  @Field(() => Float) value!: number;
  @Field(() => DateTime, { nullable: true, description: 'The moment the reading describes. Defaults to now.' }) at?: Date | null;
  @Field(() => String, { description: `The system that measured, e.g. "github-actions/ci.yml" (at most ${LIMITS.source} characters).` })
  source!: string;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}

@InputType()
export class CarryOverObjectiveInput {
  @Field(() => ID, { description: 'The objective to carry over.' }) @Length(1, ID_MAX) objectiveId!: string;
  @Field(() => ID, { description: 'The later quarter to draft it in; its setting window must be open.' }) @Length(1, ID_MAX) toQuarterId!: string;
  @Field(() => [ID], { nullable: true, description: 'Which of its key results to carry; every one that has not reached its target when omitted.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, ID_MAX, { each: true })
  keyResultIds?: string[] | null;
  @Field(() => Int, { nullable: true, description: 'The objective\'s version, as expectedVersion elsewhere.' }) @IsOptional() @Min(0) expectedVersion?: number | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, IDEMPOTENCY_KEY_MAX) idempotencyKey?: string | null;
}
