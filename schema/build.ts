import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { NotImplementedError } from './errors';
import { mutationsRefuseVersionedIds } from './ids';
import { servicesMeasureOnly } from './serviceScope';
import { AuditResolver } from './resolvers/audit';
import { EffortResolver } from './resolvers/effort';
import { HistoryResolver, UnitCalibrationResolver } from './resolvers/history';
import { LogResolver } from './resolvers/log';
import { CheckInResolver, KeyResultResolver } from './resolvers/keyResults';
import { NodeResolver } from './resolvers/nodes';
import { ObjectiveResolver } from './resolvers/objectives';
import { QuarterResolver } from './resolvers/quarters';
import { KeyResultCalibrationResolver, RetrospectiveResolver } from './resolvers/retrospectives';
import { UnitResolver } from './resolvers/units';
import { WebhookResolver } from './resolvers/webhooks';

export const RESOLVERS = [
  UnitResolver,
  QuarterResolver,
  ObjectiveResolver,
  KeyResultResolver,
  CheckInResolver,
  RetrospectiveResolver,
  KeyResultCalibrationResolver,
  EffortResolver,
  HistoryResolver,
  UnitCalibrationResolver,
  LogResolver,
  NodeResolver,
  AuditResolver,
  WebhookResolver,
] as const;

export const EMITTED_SCHEMA_PATH = 'schema/schema.graphql';

let cached: Promise<GraphQLSchema> | undefined;

/** Builds (once per process) the executable schema; validation of inputs with class-validator. */
export function okrSchema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: RESOLVERS,
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
    // eventAppended brings its own source (the log follower, see HistoryResolver); type-graphql
    // still wants a pub/sub for a schema with subscriptions, and none is ever used through it.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new NotImplementedError('topic-based subscriptions');
      },
    },
  })
    .then(mutationsRefuseVersionedIds)
    // Last, so that a service's refusal comes before anything else a field would check or do.
    .then(servicesMeasureOnly);
  return cached;
}
