import {
  Kind,
  getNullableType,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { blocks, operations } from '../support/readmeExamples';
import { okrSchema } from '../../schema/build';
import { BOUNDS, CARRY_OVER_COST, COMMAND_COST, EVENT_ROW_COST, FIELD_COSTS, LOG_SCAN_COST, MAX_COST, AS_OF_COST, QUARTER_FACTS_COST, operationCost } from '../../schema/cost';
import { queryLimits } from '../../schema/limits';

/**
 * The cost model (schema/cost.ts) against the schema: every root field and every list field has a
 * declared cost, so a new expensive field cannot be added without one; the charges follow the model;
 * and every query the README shows is admitted.
 */
let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await okrSchema();
});

function costOf(query: string, variables: Record<string, unknown> = {}): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) throw new Error('no operation');
  const analysis = operationCost(schema, document, operation, variables);
  if (analysis.kind !== 'measured') throw new Error(`not measured: ${analysis.kind}`);
  return analysis.cost;
}

describe('the declared costs', () => {
  it('cover every root field', () => {
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
    const missing = roots.flatMap((type) => (type ? Object.keys(type.getFields()).map((f) => `${type.name}.${f}`) : [])).filter((k) => !(k in FIELD_COSTS));
    expect(missing).toEqual([]);
  });

  it('give every list field its bound', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const key = `${type.name}.${field.name}`;
        if (isListType(getNullableType(field.type)) && FIELD_COSTS[key]?.items === undefined) missing.push(key);
      }
    }
    expect(missing).toEqual([]);
  });

  it('name only fields the schema has', () => {
    const stale = Object.keys(FIELD_COSTS).filter((key) => {
      const [typeName = '', fieldName = ''] = key.split('.');
      const type = schema.getType(typeName);
      return !isObjectType(type) || !(fieldName in type.getFields());
    });
    expect(stale).toEqual([]);
  });
});

describe('the charges', () => {
  it('charge events by page size (the default page when first is absent), each row read whole', () => {
    const page = (first: string) => costOf(`{ events${first} { edges { node { type } } } }`);
    // base 10 + the connection 1 + first x (the row + edge 1 + node 1)
    expect(page('(first: 1)')).toBe(10 + 1 + 1 * (EVENT_ROW_COST + 2));
    expect(page('(first: 500)')).toBe(10 + 1 + 500 * (EVENT_ROW_COST + 2));
    expect(page('')).toBe(10 + 1 + 50 * (EVENT_ROW_COST + 2));
    expect(costOf('query($n: Int) { events(first: $n) { edges { node { type } } } }', { n: 200 })).toBe(10 + 1 + 200 * (EVENT_ROW_COST + 2));
    // Out of range: refused by the resolver (PAGE_SIZE_INVALID) before any read, charged as the largest page.
    expect(page('(first: 100000)')).toBe(page('(first: 500)'));
    expect(4 * page('(first: 500)')).toBeLessThanOrEqual(MAX_COST);
    expect(5 * page('(first: 500)')).toBeGreaterThan(MAX_COST);
  });

  it('multiply lists down the tree', () => {
    // objectives of one unit (5) x (1 + key results (5) x (1 + check-ins (13) x 1))
    expect(costOf('{ objectives(quarterId: "q", unitId: "u") { keyResults { checkIns { confidence } } } }')).toBe(5 * (1 + 5 * (1 + 13)));
    // the whole organisation's quarter: 250 objectives
    expect(costOf('{ objectives(quarterId: "q") { title } }')).toBe(250);
  });

  it('charge a read at an instant for every asOf, whether given inline or as a variable', () => {
    const live = costOf('{ objective(id: "o") { title } }');
    expect(costOf('{ objective(id: "o", asOf: "2027-01-01T00:00:00Z") { title } }')).toBe(live + AS_OF_COST);
    expect(costOf('query($t: DateTime) { objective(id: "o", asOf: $t) { title } }', { t: '2027-01-01T00:00:00Z' })).toBe(live + AS_OF_COST);
    expect(costOf('query($t: DateTime) { objective(id: "o", asOf: $t) { title } }', { t: null })).toBe(live);
  });

  it('charge a read at an instant for every versioned id, the way of asking about the past without asOf', () => {
    const at = '2026-11-17T00:00:00Z';
    const live = costOf('{ objective(id: "o") { title } }');
    expect(costOf(`{ objective(id: "o@${at}") { title } }`)).toBe(live + AS_OF_COST);
    expect(costOf(`{ objectives(quarterId: "2026-Q4@${at}") { title } }`)).toBe(costOf('{ objectives(quarterId: "2026-Q4") { title } }') + AS_OF_COST);
    expect(costOf('{ node(id: "o") { id } }')).toBe(1);
    expect(costOf(`{ node(id: "o@${at}") { id } }`)).toBe(1 + AS_OF_COST);
    expect(costOf('query($id: ID!) { node(id: $id) { id } }', { id: `o@${at}` })).toBe(1 + AS_OF_COST);
    // nodes: each id an object, each versioned id a read at an instant of its own
    expect(costOf('{ nodes(ids: ["a", "b"]) { id } }')).toBe(2);
    expect(costOf(`{ nodes(ids: ["a@${at}", "b@${at}", "c"]) { id } }`)).toBe(3 + 2 * AS_OF_COST);
    // events: a versioned quarterId only bounds the page (until); `last` is charged like `first`
    expect(costOf(`{ events(first: 10, quarterId: "q@${at}") { edges { node { type } } } }`)).toBe(costOf('{ events(first: 10, quarterId: "q") { edges { node { type } } } }'));
    expect(costOf('{ events(last: 10) { edges { node { type } } } }')).toBe(costOf('{ events(first: 10) { edges { node { type } } } }'));
  });

  it('let a handful of log scans through, not more', () => {
    const scans = (n: number) => costOf(`{ ${Array.from({ length: n }, (_, i) => `v${i}: verifyAuditLog { ok }`).join(' ')} }`);
    expect(scans(1)).toBe(LOG_SCAN_COST + 1);
    expect(scans(4)).toBeLessThanOrEqual(MAX_COST);
    expect(scans(5)).toBeGreaterThan(MAX_COST);
  });

  it("give the README's examples the costs it quotes", () => {
    const team = `{ objectives(quarterId: "2027-Q1", unitId: "u") {
      title status score aspirational parent { title } contributors { title } keyResults { title metric baseline target current confidence score } } }`;
    expect(costOf(team)).toBe(85);
    const log = `{ events(first: 100, quarterId: "2027-Q1") {
      edges { cursor node { position streamId version type recordedAt actor data } } pageInfo { hasNextPage endCursor } } }`;
    expect(costOf(log)).toBe(2311);
    expect(costOf('{ events(first: 500) { edges { node { type data } } } }')).toBe(11_011);
    expect(costOf('{ confidenceTrends(quarterId: "q", unitId: "u") { keyResult { title } points { at } calibration { gap } } }')).toBe(20_500);
  });

  it('charge each command', () => {
    expect(costOf('mutation { a: closeQuarter(id: "q") { id } b: closeQuarter(id: "r") { id } }')).toBe(2 * (COMMAND_COST + 1));
    expect(costOf('mutation { recordMeasurement(input: { keyResultId: "k", value: 1, source: "ci" }) { current } }')).toBe(COMMAND_COST + 1);
  });

  it('charge a carry-over as the streams it may write: the two objectives and each key result carried', () => {
    expect(CARRY_OVER_COST).toBe(COMMAND_COST * (2 + BOUNDS.keyResultsPerObjective));
    expect(costOf('mutation { carryOverObjective(input: { objectiveId: "o", toQuarterId: "q" }) { id carriedTo { id } } }')).toBe(
      CARRY_OVER_COST + 1 + BOUNDS.carriedToPerObjective,
    );
  });

  it('charge readings by check-ins and daily measurements per key result: one key result\'s trend is cheap, every one\'s is not', () => {
    const readings = BOUNDS.checkInsPerKeyResult + BOUNDS.measurementsPerKeyResult;
    expect(costOf('{ confidenceTrends(quarterId: "q", keyResultId: "k") { readings { value } } }')).toBe(QUARTER_FACTS_COST + 1 * (1 + readings));
    expect(costOf('{ confidenceTrends(quarterId: "q", unitId: "u") { readings { value } } }')).toBeGreaterThan(MAX_COST);
    expect(costOf('{ confidenceTrends(quarterId: "q", unitId: "u") { points { value } } }')).toBeLessThanOrEqual(MAX_COST);
  });
});

/** Each operation of each ```graphql block of the README, as a document of its own, with sample values. */
function readmeOperations(): { text: string; document: DocumentNode; operation: OperationDefinitionNode }[] {
  return blocks('graphql')
    .flatMap((block) => operations(block))
    .map(({ source, document }) => ({ text: source, document, operation: document.definitions[0] as OperationDefinitionNode }));
}

describe("the README's queries", () => {
  it('are all admitted', () => {
    const operations = readmeOperations();
    expect(operations.length).toBeGreaterThan(15);
    const refused = operations.flatMap(({ text, document, operation }) => {
      const errors = validate(schema, document, [...specifiedRules, ...queryLimits()]).map((e) => e.message);
      const analysis = operationCost(schema, document, operation, {});
      if (analysis.kind !== 'measured' || analysis.cost > MAX_COST) errors.push(`cost: ${JSON.stringify(analysis)}`);
      return errors.length > 0 ? [{ text, errors }] : [];
    });
    expect(refused).toEqual([]);
  });

  it('select list fields (so admitting them means something)', () => {
    const lists = readmeOperations().filter(({ operation }) =>
      operation.selectionSet.selections.some((s) => {
        const field = s.kind === Kind.FIELD ? schema.getQueryType()?.getFields()[s.name.value] : undefined;
        return field !== undefined && isListType(getNullableType(field.type));
      }),
    );
    expect(lists.length).toBeGreaterThan(3);
  });
});
