import {
  GraphQLError,
  TypeInfo,
  ValidationContext,
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createComplexityRule, type ComplexityEstimator } from 'graphql-query-complexity';
import { LIMITS } from '../domain/validate';
import { ProcessActivity } from './enums';
import { EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX } from './resolvers/log';
import { NODES_MAX } from './resolvers/nodes';
import { DELIVERIES_PAGE_DEFAULT, DELIVERIES_PAGE_MAX, WEBHOOKS_PER_UNIT } from './webhookAccess';

/**
 * The cost model: what a request will make the server and the database do, in nodes (an object read and
 * answered costs 1; scalar fields cost nothing on their own). As in GitHub's node-count model, a list
 * multiplies the cost of its selection by how many items it can hold: its page size (`events(first)`) or
 * its bound. Fields that scan or replay carry a base cost on top, charged each time they are selected:
 * every `asOf` finds the organisation's log position at its instant and reads versions from the history
 * tables, `verifyAuditLog` rescans the whole log.
 *
 * The domain does not cap how many objectives a unit has, or check-ins a key result; those bounds are
 * realistic figures, above what a large company's quarter holds (the benchmark's: 56 teams with 3
 * objectives of 3 key results, checked in weekly), not hard limits. What would still outgrow them is
 * stopped by the response size limit and the statement timeout.
 */

/** Realistic sizes of the lists the API answers; the ones marked "real" are enforced elsewhere. */
export const BOUNDS = {
  /** Units of an organisation: a company of 60-90 teams with their functions. */
  units: 100,
  childrenPerUnit: 20,
  /** Ten years of quarters. */
  quarters: 40,
  /** Active objectives per unit and quarter: the practice says 3-5 (health warns above 3). */
  objectivesPerUnit: 5,
  /** A whole organisation's objectives in a quarter (the benchmark's 56 teams hold 168). */
  objectivesPerQuarter: 250,
  contributorsPerObjective: 10,
  keyResultsPerObjective: 5,
  /** Weekly check-ins over a 13-week quarter (the default cadence is every two weeks). */
  checkInsPerKeyResult: 13,
  /** A system measuring daily through a 13-week quarter (recordMeasurement). */
  measurementsPerKeyResult: 92,
  /** The later quarters one objective is carried over into: once, now and then twice. */
  carriedToPerObjective: 4,
  /** A target moved after the quarter started is a health finding: revisions are few. */
  revisionsPerKeyResult: 3,
  /** Real: title, metric, unit, baseline, target and kind are all a revision can change. */
  changesPerRevision: 6,
  /** Real: the process activities. */
  activities: Object.keys(ProcessActivity).length,
  /** Real: a quarter lasts at most 366 days, so its weekly buckets are at most 54. */
  weeksPerQuarter: 54,
  /** Real: a retrospective holds at most this many calibrations. */
  calibrationsPerRetrospective: LIMITS.calibrations,
  /** Health findings of one unit, and of a whole organisation, in a quarter. */
  findingsPerUnit: 50,
  findingsPerOrganisation: 500,
} as const;

/**
 * What an answer as of an instant costs on top of the same answer now: the log position at the instant
 * (one index probe), and reads of the history tables, which hold every version of each document (a key
 * result has a version per check-in), through the same indexes. No replay: docs/PERFORMANCE.md.
 */
export const AS_OF_COST = 50;
/** verifyAuditLog rescans the whole log: a handful per request at most. */
export const LOG_SCAN_COST = 10_000;
/** Trends, calibration, rollups and effort audits load every key result and check-in of the quarter. */
export const QUARTER_FACTS_COST = 500;
/** health reads the quarter and the four before it (each at the instant when asOf is given). */
export const HEALTH_QUARTERS = 5;
/** Each mutation field is a command: a transaction that appends to the log and updates the read models. */
export const COMMAND_COST = 10;
/** carryOverObjective appends to a stream per key result besides the two objectives', in one transaction. */
export const CARRY_OVER_COST = COMMAND_COST * (2 + BOUNDS.keyResultsPerObjective);
/**
 * One event of an `events` page, on top of its selection: the row is read whole, its `data` included (up
 * to ~200 KB for a retrospective with its calibration notes), whatever the query selects, and a page is
 * read before the response limit can count it. So a request reads at most four full pages.
 */
export const EVENT_ROW_COST = 20;
/** The most a request may cost by default (OKR_MAX_COST). */
export const MAX_COST = 50_000;
/** The most field selections an operation may hold once its fragments are expanded (OKR_MAX_FIELDS). */
export const MAX_FIELDS = 10_000;

type Args = Record<string, unknown>;

/** The declared cost of one field: `base` charged per resolution, `items` for a list (or a page). */
export interface FieldCost {
  base?: number;
  /** How many items the list can hold; for `events`, the page size, which multiplies its whole selection and the row. */
  items?: number | ((args: Args) => number);
  /** Reads at an instant an asOf argument makes (default 1 when the field takes asOf). */
  asOfReads?: number;
}

const pageSize = (args: Args): number => {
  const given = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : null;
  const first = given ?? EVENTS_PAGE_DEFAULT;
  // Out-of-range sizes are refused by the resolver (PAGE_SIZE_INVALID) before any read: charge the largest page.
  return Math.min(Math.max(Math.trunc(first), 1), EVENTS_PAGE_MAX);
};
/** webhookDeliveries' page: its `first` (out of range: refused before any read, charged as the largest). */
const deliveriesPage = (args: Args): number =>
  Math.min(Math.max(Math.trunc(typeof args.first === 'number' ? args.first : DELIVERIES_PAGE_DEFAULT), 1), DELIVERIES_PAGE_MAX);
const unitScoped = (one: number, all: number) => (args: Args): number => (args.unitId ? one : all);
const keyResultsPerUnit = BOUNDS.objectivesPerUnit * BOUNDS.keyResultsPerObjective;
const keyResultsPerQuarter = BOUNDS.objectivesPerQuarter * BOUNDS.keyResultsPerObjective;
const command: FieldCost = { base: COMMAND_COST };

/**
 * Every root field, and every list field, with its cost. A test (test/unit/cost.unit.test.ts) checks this
 * table against the schema, so a new root or list field cannot be added without declaring its cost.
 */
export const FIELD_COSTS: Readonly<Record<string, FieldCost>> = {
  'Query.units': { items: BOUNDS.units },
  'Query.unit': {},
  'Query.quarters': { items: BOUNDS.quarters },
  'Query.quarter': {},
  'Query.objectives': { items: unitScoped(BOUNDS.objectivesPerUnit, BOUNDS.objectivesPerQuarter) },
  'Query.objective': {},
  'Query.keyResult': {},
  'Query.retrospectives': { items: unitScoped(1, BOUNDS.units) },
  // With unitId these take the unit and every unit below it: any part of the organisation.
  'Query.effortAudit': { base: QUARTER_FACTS_COST, items: BOUNDS.units },
  // With keyResultId, one key result's trend.
  'Query.confidenceTrends': { base: QUARTER_FACTS_COST, items: (args) => (args.keyResultId ? 1 : keyResultsPerQuarter) },
  'Query.teamConfidence': { base: QUARTER_FACTS_COST, items: BOUNDS.weeksPerQuarter },
  'Query.confidenceCalibration': { base: QUARTER_FACTS_COST, items: BOUNDS.units },
  'Query.health': {
    base: HEALTH_QUARTERS * QUARTER_FACTS_COST,
    asOfReads: HEALTH_QUARTERS,
    items: unitScoped(BOUNDS.findingsPerUnit, BOUNDS.findingsPerOrganisation),
  },
  'Query.events': { base: 10, items: pageSize },
  // A lookup by id; a versioned id (an object as of an instant) is a read at an instant, charged below.
  'Query.node': {},
  'Query.nodes': { items: (args) => (Array.isArray(args.ids) ? Math.min(args.ids.length, NODES_MAX) : NODES_MAX) },
  'Query.verifyAuditLog': { base: LOG_SCAN_COST },
  // A few indexed reads each: an inclusion or consistency proof reads O(log n) stored nodes in one statement.
  'Query.checkpoint': { base: 5 },
  'Query.checkpointPublicKey': {},
  'Query.checkpointOrigin': {},
  'Query.inclusionProof': { base: 20 },
  'Query.consistencyProof': { base: 20 },
  'Mutation.recordCheckpoint': command,

  'Mutation.registerUnit': command,
  'Mutation.setCheckInCadence': command,
  'Mutation.planQuarter': command,
  'Mutation.closeQuarter': command,
  'Mutation.draftObjective': command,
  'Mutation.refineObjective': command,
  'Mutation.alignObjective': command,
  'Mutation.commitObjective': command,
  'Mutation.retireObjective': command,
  'Mutation.defineKeyResult': command,
  'Mutation.reviseKeyResult': command,
  'Mutation.recordCheckIn': command,
  'Mutation.scoreKeyResult': command,
  'Mutation.recordRetrospective': command,
  'Mutation.recordMeasurement': command,
  'Mutation.carryOverObjective': { base: CARRY_OVER_COST },
  // Answers the unit's effort audit, computed from the quarter's facts.
  'Mutation.logProcessEffort': { base: COMMAND_COST + QUARTER_FACTS_COST },

  'Subscription.eventAppended': {},

  // Outgoing webhooks: configuration rows and outbox rows, read by index (organisation, unit).
  'Query.webhooks': { items: WEBHOOKS_PER_UNIT },
  'Query.webhookDeliveries': { base: 5, items: deliveriesPage },
  'Mutation.addWebhook': command,
  'Mutation.pauseWebhook': command,
  'Mutation.resumeWebhook': command,
  'Mutation.removeWebhook': command,
  'Webhook.causes': { items: 3 },

  'Unit.children': { items: BOUNDS.childrenPerUnit },
  'Objective.contributors': { items: BOUNDS.contributorsPerObjective },
  'Objective.keyResults': { items: BOUNDS.keyResultsPerObjective },
  'KeyResult.checkIns': { items: BOUNDS.checkInsPerKeyResult },
  'KeyResult.revisions': { items: BOUNDS.revisionsPerKeyResult },
  'KeyResultRevision.changes': { items: BOUNDS.changesPerRevision },
  'ConfidenceSeries.points': { items: BOUNDS.checkInsPerKeyResult },
  'ConfidenceSeries.readings': { items: BOUNDS.checkInsPerKeyResult + BOUNDS.measurementsPerKeyResult },
  'Objective.carriedTo': { items: BOUNDS.carriedToPerObjective },
  'UnitCalibration.keyResults': { items: keyResultsPerUnit },
  'EffortAudit.byActivity': { items: BOUNDS.activities },
  'Retrospective.calibrations': { items: BOUNDS.calibrationsPerRetrospective },
  // The page size is charged where it is chosen (Query.events): one edge per item there.
  'EventConnection.edges': { items: 1 },
  // Proofs hold O(log n) hashes: at most 53 in an inclusion proof and 106 in a consistency proof of trees up to 2^53.
  'InclusionProof.hashes': { items: 53 },
  'ConsistencyProof.hashes': { items: 106 },
};

/** Versioned ids (`<id>@<instant>`, schema/ids.ts) among an argument's values. */
const versionedIds = (value: unknown): number =>
  Array.isArray(value) ? value.reduce((n: number, v) => n + versionedIds(v), 0) : typeof value === 'string' && value.includes('@') ? 1 : 0;

/**
 * How many answers as of an instant the arguments ask for: `asOf`, or an id argument naming an object as of an instant
 * (each versioned id of `nodes` may name another instant). In `events` a versioned quarterId only bounds
 * the page (`until`): the page is charged already.
 */
function asOfAsked(field: string, args: Args): number {
  if (field === 'Query.events') return 0;
  if (field === 'Query.nodes') return versionedIds(args.ids);
  const versioned = Object.entries(args).some(([name, value]) => name !== 'asOf' && versionedIds(value) > 0);
  return args.asOf != null || versioned ? 1 : 0;
}

const items = (cost: FieldCost, args: Args): number =>
  typeof cost.items === 'function' ? cost.items(args) : (cost.items ?? 1);

/**
 * The graphql-query-complexity estimator for FIELD_COSTS: cost = base + asOf + items x (1 + selection);
 * for `events`, base + 1 + page size x (EVENT_ROW_COST + selection).
 */
export const fieldCostEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  // Introspection answers from the schema in memory: bounded and cheap (and can be turned off).
  if (type.name.startsWith('__') || field.name.startsWith('__')) return 0;
  const declared = FIELD_COSTS[`${type.name}.${field.name}`] ?? {};
  const asOf = AS_OF_COST * (declared.asOfReads ?? 1) * asOfAsked(`${type.name}.${field.name}`, args);
  const own = (declared.base ?? 0) + asOf;
  if (!isCompositeType(getNamedType(field.type))) return own;
  if (type.name === 'Query' && field.name === 'events') return own + 1 + items(declared, args) * (EVENT_ROW_COST + childComplexity);
  const list = isListType(getNullableType(field.type));
  return own + (list ? items(declared, args) : 1) * (1 + childComplexity);
};

export type CostAnalysis =
  | { kind: 'measured'; cost: number }
  /** More than `maxFields` selections once fragments are expanded: the analysis stopped there. */
  | { kind: 'tooManyFields' }
  /** The variables do not fit the operation: execution refuses the request before any resolver runs. */
  | { kind: 'invalidVariables' };

/**
 * The cost of one operation with its variables (graphql-query-complexity with FIELD_COSTS). The library
 * expands fragment spreads anew at each use, so the number of selections it visits is capped
 * (`maxFields`): a few hundred bytes of nested spreads cannot make the analysis run long. Requests reach
 * it only after shapeLimit (schema/limits.ts), which refuses such documents faster, fragments memoised.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  maxFields = MAX_FIELDS,
): CostAnalysis {
  const errors: GraphQLError[] = [];
  const context = new ValidationContext(schema, document, new TypeInfo(schema), (error) => errors.push(error));
  // The rule's visitor is the library's analysis; it is run on the resolved operation alone.
  const analysis = createComplexityRule({
    maximumComplexity: Number.MAX_SAFE_INTEGER,
    estimators: [fieldCostEstimator],
    variables: variables ?? {},
    // The library stops when its count reaches this; shapeLimit (schema/limits.ts) allows exactly maxFields.
    maxQueryNodes: maxFields + 1,
  })(context);
  try {
    analysis.onOperationDefinitionEnter(operation);
  } catch (error) {
    if (error instanceof GraphQLError && analysis.evaluatedNodes > maxFields) return { kind: 'tooManyFields' };
    throw error;
  }
  if (errors.length > 0) return { kind: 'invalidVariables' };
  return { kind: 'measured', cost: analysis.complexity };
}
