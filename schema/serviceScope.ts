import {
  Kind,
  defaultFieldResolver,
  getNamedType,
  isLeafType,
  isObjectType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { forbidden } from '../domain/errors';
import type { Context } from './context';
import { parseId } from './ids';

/*
 * What a service token (role `service`, src/auth.ts) may ask: to record measurements of the key results
 * its token names, and to read those key results' own fields (current, target, version...). Nothing else:
 * no other query, mutation or subscription, and no object around those key results (their objective,
 * check-ins, trend...). A service is a CI job or a monitoring query, not a person: it needs to post a
 * number and may check where it stands, and a leaked token must show no more than that.
 */

/** The root fields a service may select. */
const SERVICE_ROOTS = new Set(['Mutation.recordMeasurement', 'Query.keyResult']);

/** Whether the field being resolved selects nothing but scalar fields of its object (through fragments too). */
function selectsOwnFieldsOnly(info: GraphQLResolveInfo): boolean {
  const type = getNamedType(info.returnType);
  if (!isObjectType(type)) return true;
  const fields = type.getFields();
  const own = (set: SelectionSetNode | undefined, seen: ReadonlySet<string>): boolean =>
    set?.selections.every((s) => {
      if (s.kind === Kind.FIELD) {
        const field = fields[s.name.value];
        return s.name.value === '__typename' || (field !== undefined && isLeafType(getNamedType(field.type)));
      }
      if (s.kind === Kind.INLINE_FRAGMENT) return own(s.selectionSet, seen);
      return seen.has(s.name.value) || own(info.fragments[s.name.value]?.selectionSet, new Set([...seen, s.name.value]));
    }) ?? true;
  return info.fieldNodes.every((node) => own(node.selectionSet, new Set()));
}

const measuresOnly = () =>
  forbidden(
    'SERVICE_MEASURES_ONLY',
    'A service token records measurements of the key results it names (recordMeasurement) and reads those key results\' own fields ' +
      '(keyResult(id) { current target ... }); it asks for nothing else.',
  );

/** Refuses what a service may not ask, before anything runs; everyone else passes straight through. */
function check(coordinate: string, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo): void {
  if (ctx.role !== 'service') return;
  if (!SERVICE_ROOTS.has(coordinate) || !selectsOwnFieldsOnly(info)) throw measuresOnly();
  if (coordinate === 'Query.keyResult' && !ctx.keyResults.includes(parseId(String(args.id)).id)) {
    throw forbidden('NOT_YOUR_KEY_RESULT', 'A service token reads only the key results it names (its keyResults claim).');
  }
}

function guarded(coordinate: string, resolve: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> {
  return (root, args: Record<string, unknown>, ctx, info) => {
    check(coordinate, args, ctx, info);
    return resolve(root, args, ctx, info);
  };
}

/**
 * Holds service tokens to their scope on every root field (queries, mutations and subscriptions), so a
 * field added later is refused to them unless listed above; and, should a selection ever get past the
 * root's check, on every field that leads to another object.
 */
export function servicesMeasureOnly(schema: GraphQLSchema): GraphQLSchema {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((t) => t != null));
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const root = roots.has(type);
    for (const field of Object.values(type.getFields()) as GraphQLField<unknown, Context>[]) {
      if (!root && isLeafType(getNamedType(field.type))) continue;
      const coordinate = `${type.name}.${field.name}`;
      field.resolve = guarded(coordinate, field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guarded(coordinate, field.subscribe);
    }
  }
  return schema;
}
