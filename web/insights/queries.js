// @ts-check
/**
 * The GraphQL operations the page sends, one per section, each well inside the server's cost limit
 * (README, "Limits": 50,000 by default). `$asOf` is null for the present; an instant adds the price of an
 * answer as of an instant to each field that takes it (five times on health). The costs in the comments
 * are those of the present, under the cost model of this writing; every answer says its own in extensions.cost.
 */

/** Quarters and units, to choose from (240). */
export const SETUP = `query InsightsSetup {
  quarters { id startsOn endsOn settingOpensOn phase }
  units { id name level parent { id } }
}`;

/** Per key result: its readings by effective time, marked, and the calibration once scored (23,000). */
export const TRENDS = `query InsightsTrends($quarterId: ID!, $unitId: ID!, $asOf: DateTime) {
  confidenceTrends(quarterId: $quarterId, unitId: $unitId, asOf: $asOf) {
    keyResult { id title metric unit baseline target objective { id title unit { id name } } }
    points { at recordedAt confidence value backdated correction superseded }
    calibration { lastConfidence score gap }
  }
}`;

/** Score against the last confidence before it, per unit (5,700). */
export const CALIBRATION = `query InsightsCalibration($quarterId: ID!, $unitId: ID!, $asOf: DateTime) {
  confidenceCalibration(quarterId: $quarterId, unitId: $unitId, asOf: $asOf) {
    unit { id name }
    meanGap
    meanAbsoluteGap
    keyResults { keyResult { id title } lastConfidence score gap }
  }
}`;

/** Process effort against the budget, per unit (1,100). */
export const EFFORT = `query InsightsEffort($quarterId: ID!, $unitId: ID!, $asOf: DateTime) {
  effortAudit(quarterId: $quarterId, unitId: $unitId, asOf: $asOf) {
    unit { id name level }
    personDays
    budgetPersonDays
    overBudget
    byActivity { activity personDays }
    checkIns
    retrospectiveRecorded
  }
}`;

/** Breaches of good practice and what to do about them (2,550). */
export const HEALTH = `query InsightsHealth($quarterId: ID!, $unitId: ID!, $asOf: DateTime) {
  health(quarterId: $quarterId, unitId: $unitId, asOf: $asOf) { rule severity message subjectId }
}`;

/** The latest signed checkpoint, asked after verifying (which may sign one) (6). */
export const CHECKPOINT = `query InsightsCheckpoint {
  checkpoint { origin treeSize rootHash keyName signedAt note }
}`;

/** The log recomputed against its tree and checkpoints, from the last verified checkpoint on (10,001). */
export const VERIFY = `query InsightsVerify {
  verifyAuditLog(record: false) { ok full checkedFrom treeSize eventsChecked checkpointsChecked rootHash firstBrokenPosition reason }
}`;

/** Weekly confidence of at most this many units per request: 554 each, 3,054 with a 2,500 asOf. */
export const UNITS_PER_CONFIDENCE_REQUEST = 12;

/**
 * Weekly confidence of each unit given (its own and its descendants' check-ins), under aliases u0, u1, ...
 * @param {number} count how many units (at most UNITS_PER_CONFIDENCE_REQUEST)
 */
export function confidenceByWeek(count) {
  const ids = Array.from({ length: count }, (_, i) => i);
  return `query InsightsConfidence($quarterId: ID!, $asOf: DateTime, ${ids.map((i) => `$unit${i}: ID!`).join(', ')}) {
${ids.map((i) => `  u${i}: teamConfidence(quarterId: $quarterId, unitId: $unit${i}, asOf: $asOf) { weekStarting meanConfidence checkIns }`).join('\n')}
}`;
}
