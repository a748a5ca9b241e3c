import type { ProcessActivity } from '../events/catalogue';
import { DAY_MS, round, type QuarterFacts } from './quarterFacts';

export interface EffortAuditDoc {
  unitId: string;
  quarterId: string;
  personDays: number;
  budgetPersonDays: number;
  overBudget: boolean;
  byActivity: { activity: ProcessActivity; personDays: number }[];
  /** Evidence from the log beside the logged effort. */
  checkIns: number;
  /** Days from the setting window opening to the unit's last objective commit (null: nothing committed). */
  daysToLastCommit: number | null;
  lastCommittedAt: Date | null;
  retrospectiveRecorded: boolean;
}

/**
 * Process effort per unit for a quarter against the budget, with evidence beside it. Units listed:
 * the one asked for, or every unit that logged effort or has objectives in the quarter.
 */
export function effortAudits(facts: QuarterFacts, budget: number, unitIds?: ReadonlySet<string>): EffortAuditDoc[] {
  const involved = new Set<string>([
    ...facts.efforts.filter((e) => e.settingDays + e.checkInDays + e.scoringDays + e.retrospectiveDays > 0).map((e) => e.unitId),
    ...facts.objectives.map((o) => o.unitId),
  ]);
  const units = facts.units.filter((u) => (unitIds ? unitIds.has(u.id) : involved.has(u.id)));
  return units.map((unit) => {
    const doc = facts.efforts.find((e) => e.unitId === unit.id);
    const byActivity: EffortAuditDoc['byActivity'] = [
      { activity: 'SETTING', personDays: doc?.settingDays ?? 0 },
      { activity: 'CHECK_IN', personDays: doc?.checkInDays ?? 0 },
      { activity: 'SCORING', personDays: doc?.scoringDays ?? 0 },
      { activity: 'RETROSPECTIVE', personDays: doc?.retrospectiveDays ?? 0 },
    ];
    const personDays = round(byActivity.reduce((sum, a) => sum + a.personDays, 0), 6);
    const commits = facts.objectives
      .filter((o) => o.unitId === unit.id && o.committedAt !== null)
      .map((o) => (o.committedAt as Date).getTime());
    const lastCommit = commits.length > 0 ? Math.max(...commits) : null;
    return {
      unitId: unit.id,
      quarterId: facts.quarter.id,
      personDays,
      budgetPersonDays: budget,
      overBudget: personDays > budget,
      byActivity,
      checkIns: doc?.checkIns ?? 0,
      daysToLastCommit: lastCommit === null ? null : round((lastCommit - facts.quarter.settingOpensOn.getTime()) / DAY_MS, 2),
      lastCommittedAt: lastCommit === null ? null : new Date(lastCommit),
      retrospectiveRecorded: facts.retrospectives.some((r) => r.unitId === unit.id),
    };
  });
}
