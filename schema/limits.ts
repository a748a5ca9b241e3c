import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type ValidationContext,
  type ASTVisitor,
  type GraphQLCompositeType,
} from 'graphql';

/** How deep a query may nest fields (the contract's deepest honest query is about 6). */
export const MAX_DEPTH = 12;
/** Field count with every list counted ten times per item level (lists here are unbounded). */
export const MAX_COST = 50_000;
export const LIST_FACTOR = 10;

interface Measure {
  depth: number;
  cost: number;
}

/**
 * A validation rule that refuses, before anything executes, queries nested deeper than MAX_DEPTH or
 * costing more than MAX_COST (fragments expanded, aliases counted): what a careless or hostile
 * client could otherwise make the server and database do with one request.
 */
export function queryLimits(maxDepth = MAX_DEPTH, maxCost = MAX_COST) {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    // Each fragment is measured once and reused: re-expanding spreads would make a few hundred bytes of
    // query cost exponential time. Costs are capped just above the limit, which is all that matters.
    const fragments = new Map<string, Measure>();
    const cap = (m: Measure): Measure => ({ depth: Math.min(m.depth, maxDepth + 1), cost: Math.min(m.cost, maxCost + 1) });
    const measure = (set: SelectionSetNode, parent: GraphQLCompositeType, seen: Set<string>): Measure => {
      let depth = 0;
      let cost = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const fields = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields() : {};
          const field = fields[selection.name.value];
          if (!field || !selection.selectionSet) {
            cost += 1;
            depth = Math.max(depth, 1);
            continue;
          }
          const child = getNamedType(field.type) as GraphQLCompositeType;
          const inner = measure(selection.selectionSet, child, seen);
          const list = isListType(getNullableType(field.type as GraphQLOutputType));
          cost += 1 + (list ? LIST_FACTOR : 1) * inner.cost;
          depth = Math.max(depth, 1 + inner.depth);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType) : parent;
          const inner = measure(selection.selectionSet, type ?? parent, seen);
          cost += inner.cost;
          depth = Math.max(depth, inner.depth);
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
          cost += inner.cost;
          depth = Math.max(depth, inner.depth);
        }
        if (cost > maxCost) break;
      }
      return cap({ depth, cost });
    };
    return {
      OperationDefinition(node) {
        const root =
          node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
        if (!root) return;
        const { depth, cost } = measure(node.selectionSet, root, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`The query nests more than ${maxDepth} levels deep; at most ${maxDepth} are allowed. Ask for less at once.`, {
              nodes: [node],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP', depth, maxDepth },
            }),
          );
        } else if (cost > maxCost) {
          context.reportError(
            new GraphQLError(`The query is too costly (more than ${maxCost}; lists count ${LIST_FACTOR}x). Split it or select fewer fields.`, {
              nodes: [node],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_COMPLEX', cost, maxCost },
            }),
          );
        }
      },
    };
  };
}
