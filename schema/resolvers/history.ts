import { Arg, ID, Int, Query, Resolver, Subscription } from 'type-graphql';
import { NotImplementedError } from '../errors';
import {
  AuditVerification,
  ConfidenceBucket,
  ConfidenceSeries,
  DateTime,
  Event,
  EventConnection,
  HealthFinding,
} from '../types';

/**
 * The history fields of the contract. They are built by the quarter-history release; until then
 * each answers NOT_IMPLEMENTED rather than anything that could be mistaken for data.
 */
@Resolver()
export class HistoryResolver {
  @Query(() => [ConfidenceSeries])
  confidenceTrends(
    @Arg('quarterId', () => ID) _quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) _unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) _asOf: Date | null,
  ): ConfidenceSeries[] {
    throw new NotImplementedError('confidenceTrends');
  }

  @Query(() => [ConfidenceBucket], { description: 'Weekly rollup of the unit\'s (and its descendants\') check-ins.' })
  teamConfidence(
    @Arg('quarterId', () => ID) _quarterId: string,
    @Arg('unitId', () => ID) _unitId: string,
    @Arg('asOf', () => DateTime, { nullable: true }) _asOf: Date | null,
  ): ConfidenceBucket[] {
    throw new NotImplementedError('teamConfidence');
  }

  @Query(() => [HealthFinding])
  health(
    @Arg('quarterId', () => ID) _quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) _unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) _asOf: Date | null,
  ): HealthFinding[] {
    throw new NotImplementedError('health');
  }

  @Query(() => EventConnection, { description: 'The log itself, in delivery order, for analysts replaying history.' })
  events(
    @Arg('first', () => Int, { nullable: true }) _first: number | null,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
    @Arg('streamId', () => String, { nullable: true }) _streamId: string | null,
    @Arg('quarterId', () => ID, { nullable: true }) _quarterId: string | null,
    @Arg('types', () => [String], { nullable: true }) _types: string[] | null,
    @Arg('until', () => DateTime, { nullable: true }) _until: Date | null,
  ): EventConnection {
    throw new NotImplementedError('events');
  }

  @Query(() => AuditVerification)
  verifyAuditLog(): AuditVerification {
    throw new NotImplementedError('verifyAuditLog');
  }

  @Subscription(() => Event, {
    description: 'Every event appended from now on that concerns the quarter or unit (all when both are omitted).',
    subscribe: () => {
      throw new NotImplementedError('eventAppended');
    },
  })
  eventAppended(
    @Arg('quarterId', () => ID, { nullable: true }) _quarterId: string | null,
    @Arg('unitId', () => ID, { nullable: true }) _unitId: string | null,
  ): Event {
    throw new NotImplementedError('eventAppended');
  }
}
