import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  getNamedType,
  isLeafType,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { operationCost } from './cost';
import { DEFAULT_REQUEST_LIMITS, limitError, type RequestLimits } from './limits';

interface RequestCost {
  /** The operation's cost, once measured (null: refused earlier, or not measurable). */
  requested: number | null;
  admitted: boolean;
  /** Estimated bytes of the response built so far. */
  bytes: number;
  tooLarge: boolean;
}

const costs = new WeakMap<object, RequestCost>();

/**
 * The cost a request was admitted with, for the request log and metrics: null when it was refused before
 * running (parse, validation, cost) or never reached GraphQL.
 */
export function admittedCost(contextValue: object): number | null {
  const cost = costs.get(contextValue);
  return cost?.admitted ? cost.requested : null;
}

/** The error that replaces a response that would exceed the size limit. */
export function responseTooLarge(maxBytes: number): { message: string; extensions: { code: 'RESPONSE_TOO_LARGE' } } {
  return {
    message:
      `The response would be larger than ${maxBytes} bytes, the most the server sends. ` +
      'Ask for less at once: smaller pages (events first), fewer aliases, or a unitId; a mutation\'s changes stand.',
    extensions: { code: 'RESPONSE_TOO_LARGE' },
  };
}

/** Bytes a leaf value takes in the JSON response (an estimate; the HTTP layer checks the exact length). */
function leafBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number' || typeof value === 'boolean') return 24;
  if (value instanceof Date) return 26;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + leafBytes(v) + 1, 2);
  try {
    return JSON.stringify(value)?.length ?? 4; // a JSON scalar (an event's data)
  } catch {
    return 4;
  }
}

const leafTypes = new WeakMap<GraphQLOutputType, boolean>();

/**
 * Costs already measured, by document (Apollo keeps one parsed document per query text) and the values of
 * the variables the operation declares (others cannot change the cost): a client sending the same query
 * again is not analysed again. Bounded: at most COSTS_PER_DOCUMENT entries per document, none whose key
 * is longer than COST_KEY_MAX characters, so what clients send is never kept in bulk.
 */
const measured = new WeakMap<DocumentNode, Map<string, ReturnType<typeof operationCost>>>();
const COSTS_PER_DOCUMENT = 64;
const COST_KEY_MAX = 2048;

function costOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined, maxFields: number) {
  const declared: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (variables !== undefined && name in variables) declared[name] = variables[name];
  }
  const key = `${maxFields}\u0000${operation.name?.value ?? ''}\u0000${JSON.stringify(declared)}`;
  let byVariables = measured.get(document);
  const known = byVariables?.get(key);
  if (known !== undefined) return known;
  const analysis = operationCost(schema, document, operation, variables, maxFields);
  if (key.length <= COST_KEY_MAX) {
    if (byVariables === undefined) measured.set(document, (byVariables = new Map()));
    if (byVariables.size < COSTS_PER_DOCUMENT) byVariables.set(key, analysis);
  }
  return analysis;
}

/** Whether a field's values are scalars or enums (remembered per type: this runs for every field resolved). */
function isLeaf(type: GraphQLOutputType): boolean {
  let leaf = leafTypes.get(type);
  if (leaf === undefined) {
    leaf = isLeafType(getNamedType(type));
    leafTypes.set(type, leaf);
  }
  return leaf;
}

/**
 * Admits each request by its cost and keeps its response bounded:
 * - once the operation is known, measures its cost with the variables (schema/cost.ts) and refuses it,
 *   before anything runs, above `maxCost` (QUERY_TOO_COMPLEX) or `maxFields` (TOO_MANY_FIELDS);
 * - reports the cost on every response (`extensions.cost`: requested and limit);
 * - adds up the response's size while fields resolve; past `maxResponseBytes` the remaining fields are
 *   not resolved and the answer is a single RESPONSE_TOO_LARGE error (commands already begun still run).
 */
export function costPlugin<C extends object>(limits: Partial<RequestLimits> = {}): ApolloServerPlugin<C> {
  const { maxCost, maxFields, maxResponseBytes } = { ...DEFAULT_REQUEST_LIMITS, ...limits };
  return {
    async requestDidStart({ contextValue }) {
      const state: RequestCost = { requested: null, admitted: false, bytes: 0, tooLarge: false };
      costs.set(contextValue, state);
      const account = (info: GraphQLResolveInfo, result: unknown): void => {
        const key = typeof info.path.key === 'string' ? info.path.key.length + 4 : 1;
        state.bytes += key + (isLeaf(info.returnType) ? leafBytes(result) : 2);
        if (state.bytes > maxResponseBytes) state.tooLarge = true;
      };
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // Apollo has already refused a request without a resolvable operation
          const analysis = costOf(schema, document, operation, request.variables, maxFields);
          if (analysis.kind === 'tooManyFields') {
            throw limitError(
              'TOO_MANY_FIELDS',
              `The operation selects more than ${maxFields} fields once its fragments are expanded; at most ${maxFields} are allowed. ` +
                'Select fewer fields, or spread each fragment fewer times.',
              operation,
              true,
            );
          }
          if (analysis.kind === 'measured') {
            state.requested = analysis.cost;
            if (analysis.cost > maxCost) {
              throw limitError(
                'QUERY_TOO_COMPLEX',
                `The query would cost ${analysis.cost}; at most ${maxCost} is allowed per request (lists count by their page size or ` +
                  'bound, each asOf by its reads of the history, verifyAuditLog by its scan of the log). Ask for smaller pages, give a ' +
                  'unitId, use fewer aliases or asOf instants, or split the query.',
                operation,
                true,
              );
            }
          }
          state.admitted = true;
        },
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              // Commands already begun finish (a mutation's root fields); everything else stops here.
              if (state.tooLarge && info.parentType !== info.schema.getMutationType()) {
                throw new GraphQLError(responseTooLarge(maxResponseBytes).message, { extensions: { code: 'RESPONSE_TOO_LARGE' } });
              }
              return (_error, result) => account(info, result);
            },
          };
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (state.tooLarge) {
            response.body.singleResult = { data: null, errors: [responseTooLarge(maxResponseBytes)], extensions: result.extensions };
          }
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { requested: state.requested, limit: maxCost } };
        },
      };
    },
  };
}
