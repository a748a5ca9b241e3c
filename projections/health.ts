import type { KeyResultDoc, ObjectiveDoc, UnitDoc } from './docs';
import { effortAudits } from './effortAudit';
import { DAY_MS, groupBy, mean, round, type QuarterFacts } from './quarterFacts';

/**
 * Health findings: the failure modes of the practice described in docs/PRACTICE.md, computed from
 * the history. Each rule is named, pure, and says what to do. Nothing here refuses a command: the product
 * records breaches of the practice and surfaces them.
 */

export type Severity = 'INFO' | 'WARNING' | 'PROBLEM';

export interface FindingDoc {
  rule: string;
  severity: Severity;
  message: string;
  subjectId: string | null;
  /** The unit the finding is about (for filtering by unit). */
  unitId: string;
}

export interface HealthInput {
  facts: QuarterFacts;
  /** Earlier quarters of the organisation, most recent first (for rules that span quarters). */
  earlier: readonly QuarterFacts[];
  effortBudget: number;
}

type Rule = (input: HealthInput) => FindingDoc[];

const active = (o: ObjectiveDoc) => o.lifecycle !== 'RETIRED';
const nameOf = (units: readonly UnitDoc[], id: string) => units.find((u) => u.id === id)?.name ?? id;
const quote = (text: string) => `"${text.length > 80 ? `${text.slice(0, 77)}...` : text}"`;
const activeKeyResults = (facts: QuarterFacts): KeyResultDoc[] => {
  const live = new Set(facts.objectives.filter(active).map((o) => o.id));
  return facts.keyResults.filter((k) => live.has(k.objectiveId));
};
const days = (ms: number) => Math.floor(ms / DAY_MS);

/** More than 5 objectives is a problem, more than 3 a warning (the practice: 3-5 at most). */
const tooManyObjectives: Rule = ({ facts }) =>
  [...groupBy(facts.objectives.filter(active), (o) => o.unitId).entries()].flatMap(([unitId, objectives]) => {
    const n = objectives.length;
    if (n <= 3) return [];
    return [
      {
        rule: 'TOO_MANY_OBJECTIVES',
        severity: n > 5 ? 'PROBLEM' : 'WARNING',
        message: `${nameOf(facts.units, unitId)} has ${n} objectives in ${facts.quarter.id}; three to five is the most a team can keep in focus. Retire or merge the least important.`,
        subjectId: unitId,
        unitId,
      } satisfies FindingDoc,
    ];
  });

/**
 * Key results that lead with work to be done ("Complete the migration...", "Launch...") rather than a
 * change in a metric ("Reduce...", "Increase..."). Only the leading verb counts: "time to a shipped
 * change" describes an outcome.
 */
export const OUTPUT_WORDING =
  /^\s*(complete|finish|launch|migrate|deliver|implement|ship|build|release|roll out|deploy|create|write|set up|introduce|rewrite|adopt)\b/i;

const outputKeyResults: Rule = ({ facts }) =>
  activeKeyResults(facts).flatMap((kr) => {
    const word = OUTPUT_WORDING.exec(kr.title)?.[0];
    if (kr.kind !== 'OUTPUT' && word === undefined) return [];
    const why =
      kr.kind === 'OUTPUT'
        ? 'is marked as an output: a thing done, which is a delivery plan, not a key result.'
        : `describes work done ("${word}"), not a change in the state of the world.`;
    return [
      {
        rule: 'OUTPUT_KEY_RESULT',
        severity: 'WARNING',
        message: `${quote(kr.title)} ${why} Could it be achieved without the problem being solved? Rewrite it as the outcome the work should produce, with a metric, a baseline and a target.`,
        subjectId: kr.id,
        unitId: kr.unitId,
      } satisfies FindingDoc,
    ];
  });

/** A baseline of zero that is not the metric's measured value (the first reading says otherwise). */
const noRealBaseline: Rule = ({ facts }) =>
  activeKeyResults(facts).flatMap((kr) => {
    if (kr.baseline !== 0) return [];
    // The first reading, a check-in's or a measurement's, by effective time.
    const first = [
      ...facts.checkIns.filter((c) => c.keyResultId === kr.id && c.value !== null).map((c) => ({ at: c.asOf, value: c.value })),
      ...facts.measurements.filter((m) => m.keyResultId === kr.id).map((m) => ({ at: m.at, value: m.value as number | null })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime())[0];
    const contradicted = first !== undefined && first.value !== 0;
    return [
      {
        rule: 'NO_REAL_BASELINE',
        severity: contradicted ? 'WARNING' : 'INFO',
        message: contradicted
          ? `${quote(kr.title)} has baseline 0, but its first reading was ${first?.value}: the baseline was not measured, so progress cannot be judged. Measure where the metric stood and revise the baseline.`
          : `${quote(kr.title)} has baseline 0: make sure it is the measured current value, not a placeholder.`,
        subjectId: kr.id,
        unitId: kr.unitId,
      } satisfies FindingDoc,
    ];
  });

const CADENCE_DAYS = { BIWEEKLY: 14, MONTHLY: 31 } as const;
/** A check-in a few days late is still on cadence. */
const GRACE_DAYS = 3;

/**
 * A gap longer than the unit's cadence between check-ins (by recorded time) while the quarter ran:
 * from its start to the first check-in, between check-ins, and from the last one to now or the end.
 */
const forgottenCheckIns: Rule = ({ facts }) => {
  const start = facts.quarter.startsOn.getTime();
  const end = Math.min(facts.now.getTime(), facts.quarter.endsOn.getTime());
  if (end <= start) return [];
  return activeKeyResults(facts).flatMap((kr) => {
    const unit = facts.units.find((u) => u.id === kr.unitId);
    const cadence = CADENCE_DAYS[unit?.checkInCadence ?? 'BIWEEKLY'];
    // A key result defined mid-quarter is due its first check-in a cadence after it was defined.
    const from = Math.max(start, kr.definedAt.getTime());
    if (end <= from) return [];
    const scoredAt = kr.scoredAt?.getTime() ?? Infinity;
    const times = facts.checkIns
      .filter((c) => c.keyResultId === kr.id)
      .map((c) => c.recordedAt.getTime())
      .filter((t) => t > from && t <= end)
      .sort((a, b) => a - b);
    const marks = [from, ...times, Math.min(end, scoredAt)];
    let longest = 0;
    let gapStart = from;
    for (let i = 1; i < marks.length; i += 1) {
      const gap = (marks[i] as number) - (marks[i - 1] as number);
      if (gap > longest) {
        longest = gap;
        gapStart = marks[i - 1] as number;
      }
    }
    if (longest <= (cadence + GRACE_DAYS) * DAY_MS) return [];
    const since = new Date(gapStart).toISOString().slice(0, 10);
    return [
      {
        rule: 'FORGOTTEN_CHECK_IN',
        severity: longest > (2 * cadence + GRACE_DAYS) * DAY_MS ? 'PROBLEM' : 'WARNING',
        message: `${quote(kr.title)} went ${days(longest)} days without a check-in from ${since} (${nameOf(facts.units, kr.unitId)} checks in every ${cadence === 14 ? 'two weeks' : 'month'}). A short check-in on confidence and blockers is what keeps OKRs operational.`,
        subjectId: kr.id,
        unitId: kr.unitId,
      } satisfies FindingDoc,
    ];
  });
};

/** Mean score of a unit's scored key results in a quarter, split by stretch and committed objectives. */
function unitScores(facts: QuarterFacts, unitId: string) {
  const objectives = new Map(facts.objectives.filter(active).map((o) => [o.id, o]));
  const scored = facts.keyResults.filter((k) => k.unitId === unitId && k.score !== null && objectives.has(k.objectiveId));
  const aspirational = scored.filter((k) => objectives.get(k.objectiveId)?.aspirational);
  return {
    all: scored.map((k) => k.score as number),
    aspirational: aspirational.map((k) => k.score as number),
  };
}

/** Every stretch key result at 1.0, or stretch scores at or above 0.9 quarter after quarter. */
const sandbagging: Rule = ({ facts, earlier }) =>
  [...new Set(facts.keyResults.map((k) => k.unitId))].flatMap((unitId) => {
    const now = unitScores(facts, unitId).aspirational;
    if (now.length === 0) return [];
    const allPerfect = now.length >= 2 && now.every((s) => s >= 0.999);
    const streak = [facts, ...earlier].map((q) => mean(unitScores(q, unitId).aspirational));
    let high = 0;
    for (const m of streak) {
      if (m === null || m < 0.9) break;
      high += 1;
    }
    if (!allPerfect && high < 2) return [];
    const name = nameOf(facts.units, unitId);
    return [
      {
        rule: 'SANDBAGGING',
        severity: high >= 2 ? 'PROBLEM' : 'WARNING',
        message:
          high >= 2
            ? `${name} has scored its stretch key results at 0.9 or above for ${high} quarters in a row: the targets are set too safely. 0.7 is success for a stretch key result; set them higher, and keep OKRs out of performance reviews.`
            : `${name} scored every stretch key result 1.0 in ${facts.quarter.id}: an OKR that is always fully achieved was set too conservatively.`,
        subjectId: unitId,
        unitId,
      } satisfies FindingDoc,
    ];
  });

/** Scores near zero: the key results are disconnected from what the team can influence. */
const disconnected: Rule = ({ facts, earlier }) =>
  [...new Set(facts.keyResults.map((k) => k.unitId))].flatMap((unitId) => {
    const current = mean(unitScores(facts, unitId).all);
    if (current === null || current > 0.1) return [];
    const previous = earlier[0] ? mean(unitScores(earlier[0], unitId).all) : null;
    const repeated = previous !== null && previous <= 0.1;
    return [
      {
        rule: 'DISCONNECTED',
        severity: repeated ? 'PROBLEM' : 'WARNING',
        message: `${nameOf(facts.units, unitId)} scored ${round(current, 2)} on average in ${facts.quarter.id}${repeated ? ', and near 0 the quarter before' : ''}: key results consistently near 0 are disconnected from reality. Check that the team can move these metrics within a quarter.`,
        subjectId: unitId,
        unitId,
      } satisfies FindingDoc,
    ];
  });

/** Objectives drafted or committed after the quarter started (setting belongs to the weeks before). */
const lateSetting: Rule = ({ facts }) => {
  const start = facts.quarter.startsOn.getTime();
  return facts.objectives.filter(active).flatMap((o) => {
    const drafted = o.draftedAt.getTime() > start;
    const committed = o.committedAt !== null && o.committedAt.getTime() > start;
    if (!drafted && !committed) return [];
    const when = drafted ? o.draftedAt : (o.committedAt as Date);
    return [
      {
        rule: 'LATE_SETTING',
        severity: 'WARNING',
        message: `${quote(o.title)} was ${drafted ? 'drafted' : 'committed'} ${days(when.getTime() - start)} days after ${facts.quarter.id} started; setting belongs in the two to three weeks before the quarter.`,
        subjectId: o.id,
        unitId: o.unitId,
      } satisfies FindingDoc,
    ];
  });
};

/** A target or baseline revised after the quarter started, and whether the score used the moved target. */
const movedTarget: Rule = ({ facts }) => {
  const start = facts.quarter.startsOn.getTime();
  return activeKeyResults(facts).flatMap((kr) => {
    const moves = kr.revisions.filter(
      (r) => Date.parse(r.at) > start && r.changes.some((c) => c.field === 'target' || c.field === 'baseline'),
    );
    if (moves.length === 0) return [];
    const scoredAgainstMoved = kr.scoredTarget !== null && kr.scoredTarget !== kr.originalTarget;
    const changes = moves.flatMap((r) => r.changes.filter((c) => c.field === 'target' || c.field === 'baseline'));
    const described = changes.map((c) => `${c.field} ${c.from} -> ${c.to}`).join(', ');
    return [
      {
        rule: 'TARGET_MOVED',
        severity: scoredAgainstMoved ? 'PROBLEM' : 'WARNING',
        message: scoredAgainstMoved
          ? `${quote(kr.title)} was scored against a target moved after the quarter started (original ${kr.originalTarget}, scored against ${kr.scoredTarget}; ${described}). Judge the score against the original target too.`
          : `${quote(kr.title)} had its ${described} after the quarter started (reason: ${moves[moves.length - 1]?.reason}). Moving targets mid-quarter hides how the original ambition turned out.`,
        subjectId: kr.id,
        unitId: kr.unitId,
      } satisfies FindingDoc,
    ];
  });
};

/** Team objectives aligned to nothing, and higher objectives nobody contributes to (nominal alignment). */
const alignment: Rule = ({ facts }) => {
  const level = new Map(facts.units.map((u) => [u.id, u.level]));
  const objectives = facts.objectives.filter(active);
  const contributed = new Set(objectives.map((o) => o.parentId).filter((p): p is string => p !== null));
  return objectives.flatMap((o): FindingDoc[] => {
    const unitLevel = level.get(o.unitId);
    if (unitLevel === 'TEAM' && o.parentId === null) {
      return [
        {
          rule: 'UNALIGNED_OBJECTIVE',
          severity: 'WARNING',
          message: `${quote(o.title)} is aligned to no function or company objective: say which higher objective it advances, or question whether it belongs in this quarter's OKRs.`,
          subjectId: o.id,
          unitId: o.unitId,
        },
      ];
    }
    if (unitLevel !== 'TEAM' && !contributed.has(o.id)) {
      return [
        {
          rule: 'NOMINAL_ALIGNMENT',
          severity: 'WARNING',
          message: `No objective contributes to ${quote(o.title)}: if every lower objective were achieved, this one would not move. Its alignment is nominal.`,
          subjectId: o.id,
          unitId: o.unitId,
        },
      ];
    }
    return [];
  });
};

const effortOverBudget: Rule = ({ facts, effortBudget }) =>
  effortAudits(facts, effortBudget)
    .filter((a) => a.overBudget)
    .map((a) => ({
      rule: 'EFFORT_OVER_BUDGET',
      severity: 'WARNING' as const,
      message: `${nameOf(facts.units, a.unitId)} spent ${a.personDays} person-days on the OKR cycle in ${facts.quarter.id}, over the ${a.budgetPersonDays}-day budget: the process is over-engineered. Shorten setting sessions and check-ins.`,
      subjectId: a.unitId,
      unitId: a.unitId,
    }));

/** Two weeks after the quarter ended, every team with objectives should have held its retrospective. */
const noRetrospective: Rule = ({ facts }) => {
  const due = facts.quarter.endsOn.getTime() + 14 * DAY_MS;
  if (facts.now.getTime() < due) return [];
  const teams = new Set(facts.units.filter((u) => u.level === 'TEAM').map((u) => u.id));
  const units = new Set(facts.objectives.filter((o) => active(o) && teams.has(o.unitId)).map((o) => o.unitId));
  return [...units]
    .filter((unitId) => !facts.retrospectives.some((r) => r.unitId === unitId))
    .map((unitId) => ({
      rule: 'NO_RETROSPECTIVE',
      severity: 'WARNING' as const,
      message: `${nameOf(facts.units, unitId)} has recorded no retrospective for ${facts.quarter.id}, two weeks after it ended: what was learned (which key results were badly calibrated, which assumptions were wrong) should feed the next quarter's setting.`,
      subjectId: unitId,
      unitId,
    }));
};

export const HEALTH_RULES: Readonly<Record<string, Rule>> = {
  TOO_MANY_OBJECTIVES: tooManyObjectives,
  OUTPUT_KEY_RESULT: outputKeyResults,
  NO_REAL_BASELINE: noRealBaseline,
  FORGOTTEN_CHECK_IN: forgottenCheckIns,
  SANDBAGGING: sandbagging,
  DISCONNECTED: disconnected,
  LATE_SETTING: lateSetting,
  TARGET_MOVED: movedTarget,
  ALIGNMENT: alignment,
  EFFORT_OVER_BUDGET: effortOverBudget,
  NO_RETROSPECTIVE: noRetrospective,
};

/** All findings for the quarter, in rule order; limited to `unitIds` when given. */
export function healthFindings(input: HealthInput, unitIds?: ReadonlySet<string>): FindingDoc[] {
  return Object.values(HEALTH_RULES)
    .flatMap((rule) => rule(input))
    .filter((f) => !unitIds || unitIds.has(f.unitId));
}
