import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isInterfaceType,
  isObjectType,
  type ASTNode,
  type ASTVisitor,
  type GraphQLCompositeType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { MAX_COST, MAX_FIELDS } from './cost';

export { MAX_COST, MAX_FIELDS } from './cost';

/** How deep a query may nest fields (the contract's deepest honest query is about 6). */
export const MAX_DEPTH = 12;
/** Aliases per operation (GraphQL Armor's max-aliases rule; `__typename` is free). */
export const MAX_ALIASES = 50;
/** Mutation fields per request: each is a command with its own transaction. */
export const MAX_COMMANDS = 25;
/** Lexical tokens per document, counted while parsing (graphql-js `maxTokens`). */
export const MAX_TOKENS = 20_000;
/** The largest response body, in bytes (16 MiB). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The limits every GraphQL request is held to (README, "Limits"). */
export interface RequestLimits {
  maxCost: number;
  maxDepth: number;
  maxAliases: number;
  maxCommands: number;
  maxTokens: number;
  maxFields: number;
  maxResponseBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = {
  maxCost: MAX_COST,
  maxDepth: MAX_DEPTH,
  maxAliases: MAX_ALIASES,
  maxCommands: MAX_COMMANDS,
  maxTokens: MAX_TOKENS,
  maxFields: MAX_FIELDS,
  maxResponseBytes: MAX_RESPONSE_BYTES,
};

/**
 * A request refused for a limit: GRAPHQL_VALIDATION_FAILED with the limit's own reason. Validation rules'
 * errors are answered HTTP 400 by Apollo; one thrown later (the cost plugin) says so itself (`http`).
 */
/** Why a request was refused for its shape or cost. */
export type LimitReason = 'QUERY_TOO_DEEP' | 'QUERY_TOO_COMPLEX' | 'TOO_MANY_ALIASES' | 'TOO_MANY_COMMANDS' | 'TOO_MANY_FIELDS';

export function limitError(reason: LimitReason, message: string, node?: ASTNode, http = false): GraphQLError {
  return new GraphQLError(message, {
    nodes: node ? [node] : undefined,
    extensions: http ? { code: 'GRAPHQL_VALIDATION_FAILED', reason, http: { status: 400 } } : { code: 'GRAPHQL_VALIDATION_FAILED', reason },
  });
}

interface Shape {
  depth: number;
  /** Selections (fields, spreads, inline fragments) once fragments are expanded. */
  selections: number;
}

/**
 * Refuses operations nested deeper than `maxDepth` (QUERY_TOO_DEEP) or holding more than `maxFields`
 * selections once fragments are expanded (TOO_MANY_FIELDS). Each fragment is measured once and reused:
 * re-expanding spreads would make a few hundred bytes of nested spreads cost exponential time. The cost
 * analysis (graphql-query-complexity) does re-expand them, so it only ever sees documents that passed here.
 */
export function shapeLimit(maxDepth = MAX_DEPTH, maxFields = MAX_FIELDS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = new Map<string, Shape>();
    const measure = (set: SelectionSetNode, parent: GraphQLCompositeType, seen: ReadonlySet<string>): Shape => {
      let depth = 0;
      let selections = 0;
      for (const selection of set.selections) {
        selections += 1;
        if (selection.kind === Kind.FIELD) {
          const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
          const field = fields[selection.name.value];
          const inner =
            field && selection.selectionSet ? measure(selection.selectionSet, getNamedType(field.type) as GraphQLCompositeType, seen) : { depth: 0, selections: 0 };
          depth = Math.max(depth, 1 + inner.depth);
          selections += inner.selections;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
          const inner = measure(selection.selectionSet, type ?? parent, seen);
          depth = Math.max(depth, inner.depth);
          selections += inner.selections;
        } else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          if (!fragment || seen.has(name)) continue; // unknown or cyclic fragments are other rules' errors
          let inner = fragments.get(name);
          if (inner === undefined) {
            const type = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType | undefined;
            inner = measure(fragment.selectionSet, type ?? parent, new Set([...seen, name]));
            fragments.set(name, inner);
          }
          depth = Math.max(depth, inner.depth);
          selections += inner.selections;
        }
        if (depth > maxDepth || selections > maxFields) break; // enough to refuse: no need to measure the rest
      }
      // Capped just above the limits, which is all that matters (and keeps the sums finite).
      return { depth: Math.min(depth, maxDepth + 1), selections: Math.min(selections, maxFields + 1) };
    };
    return {
      OperationDefinition(node) {
        const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
        if (!root) return;
        const { depth, selections } = measure(node.selectionSet, root, new Set());
        if (depth > maxDepth) {
          context.reportError(
            limitError('QUERY_TOO_DEEP', `The query nests more than ${maxDepth} levels deep; at most ${maxDepth} are allowed. Ask for less at once.`, node),
          );
        } else if (selections > maxFields) {
          context.reportError(
            limitError(
              'TOO_MANY_FIELDS',
              `The operation selects more than ${maxFields} fields once its fragments are expanded; at most ${maxFields} are allowed. ` +
                'Select fewer fields, or spread each fragment fewer times.',
              node,
            ),
          );
        }
      },
    };
  };
}

/** Refuses operations with more than `maxAliases` aliases (fragments expanded, each measured once). */
export function aliasLimit(maxAliases = MAX_ALIASES): ValidationRule {
  return (context) =>
    maxAliasesRule({
      n: maxAliases,
      propagateOnRejection: false,
      onReject: [
        () =>
          context.reportError(
            limitError(
              'TOO_MANY_ALIASES',
              `The operation uses more than ${maxAliases} aliases; at most ${maxAliases} are allowed. Split it into several requests.`,
            ),
          ),
      ],
    })(context);
}

/** Refuses mutations with more than `maxCommands` root fields (each one a command), fragments included. */
export function commandLimit(maxCommands = MAX_COMMANDS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, number>();
    const count = (set: SelectionSetNode, seen: ReadonlySet<string>): number => {
      let commands = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) commands += selection.name.value === '__typename' ? 0 : 1;
        else if (selection.kind === Kind.INLINE_FRAGMENT) commands += count(selection.selectionSet, seen);
        else {
          const name = selection.name.value;
          const fragment = context.getFragment(name);
          if (!fragment || seen.has(name)) continue;
          let inner = fragments.get(name);
          if (inner === undefined) {
            inner = count(fragment.selectionSet, new Set([...seen, name]));
            fragments.set(name, inner);
          }
          commands += inner;
        }
        if (commands > maxCommands) break;
      }
      return commands;
    };
    return {
      OperationDefinition(node) {
        if (node.operation !== 'mutation') return;
        if (count(node.selectionSet, new Set()) > maxCommands) {
          context.reportError(
            limitError(
              'TOO_MANY_COMMANDS',
              `The mutation holds more than ${maxCommands} commands (mutation fields); at most ${maxCommands} are allowed per request. ` +
                'Send the rest in further requests, each command with its idempotencyKey.',
              node,
            ),
          );
        }
      },
    };
  };
}

/** The validation rules of every GraphQL request (HTTP and WebSocket); cost is measured later, with the variables. */
export function queryLimits(limits: Partial<RequestLimits> = {}): ValidationRule[] {
  const { maxDepth, maxAliases, maxCommands, maxFields } = { ...DEFAULT_REQUEST_LIMITS, ...limits };
  // Commands first: a many-command mutation is refused for that, before its aliases.
  return [commandLimit(maxCommands), aliasLimit(maxAliases), shapeLimit(maxDepth, maxFields)];
}
