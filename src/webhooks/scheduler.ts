import type { Sql } from '../../events/sql';
import type { QuarterDoc } from '../../projections/docs';
import { healthFindings, type FindingDoc } from '../../projections/health';
import { loadQuarterFacts, type QuarterFacts } from '../../projections/quarterFacts';
import { TableReadModel } from '../../projections/tables';
import type { Connections } from '../clientSql';
import { errorFields, silentLogger, type Logger } from '../logger';
import { enqueue, phaseKey, type FoundCause } from './outbox';
import type { Cause, WebhookCauseKind } from './payloads';

const DAY_MS = 86_400_000;
/** Check-in cadences in days, as the issue defines them (the health rule adds three days' grace; a reminder does not). */
export const CADENCE_DAYS = { BIWEEKLY: 14, MONTHLY: 31 } as const;
/** A phase change the clock made is announced if it happened within this long (after a long outage, older ones are not news). */
export const PHASE_LOOKBACK_MS = 7 * DAY_MS;
/** Earlier quarters the cross-quarter health rules read (as the health query does). */
const HEALTH_LOOKBACK = 4;

/**
 * Phase changes the clock made (the setting window opened, the quarter started, it ended) in the last
 * PHASE_LOOKBACK_MS, for quarters not closed. Each is told only to webhooks that existed before it.
 * Planning and closing are events, enqueued by their appends (outbox.ts phaseChangeOutbox).
 */
export function phaseChanges(quarters: readonly QuarterDoc[], now: Date): FoundCause[] {
  return quarters
    .filter((q) => q.closedAt === null)
    .flatMap((q) =>
      ([['SETTING', q.settingOpensOn], ['ACTIVE', q.startsOn], ['SCORING', q.endsOn]] as const)
        .filter(([, at]) => at.getTime() <= now.getTime() && at.getTime() > now.getTime() - PHASE_LOOKBACK_MS)
        .map(([phase, at]): FoundCause => ({
          key: phaseKey(q.id, phase),
          unitId: null,
          occurredAt: at,
          createdBefore: at,
          cause: {
            kind: 'QUARTER_PHASE',
            quarterId: q.id,
            phase,
            at: at.toISOString(),
            startsOn: q.startsOn.toISOString(),
            endsOn: q.endsOn.toISOString(),
            settingOpensOn: q.settingOpensOn.toISOString(),
          },
        })),
    );
}

/**
 * Key results of `unitIds` not checked in within their unit's cadence while the quarter runs: due a
 * cadence after their last check-in (by recorded time), or after the quarter started or they were defined.
 * Retired objectives' and scored key results are left alone. One cause per key result and due date: a
 * key result stays forgotten until its next check-in, and is reminded of once for it.
 */
export function forgottenCheckIns(facts: QuarterFacts, unitIds: ReadonlySet<string>, now: Date): FoundCause[] {
  const { quarter } = facts;
  if (quarter.closedAt !== null || now < quarter.startsOn || now >= quarter.endsOn) return [];
  const live = new Set(facts.objectives.filter((o) => o.lifecycle !== 'RETIRED').map((o) => o.id));
  const lastCheckIn = new Map<string, number>();
  for (const c of facts.checkIns) lastCheckIn.set(c.keyResultId, Math.max(lastCheckIn.get(c.keyResultId) ?? 0, c.recordedAt.getTime()));
  return facts.keyResults
    .filter((kr) => unitIds.has(kr.unitId) && live.has(kr.objectiveId) && kr.scoredAt === null)
    .flatMap((kr): FoundCause[] => {
      const unit = facts.units.find((u) => u.id === kr.unitId);
      const cadence = unit?.checkInCadence ?? 'BIWEEKLY';
      const last = lastCheckIn.get(kr.id) ?? null;
      const from = last ?? Math.max(quarter.startsOn.getTime(), kr.definedAt.getTime());
      const due = new Date(from + CADENCE_DAYS[cadence] * DAY_MS);
      if (now < due) return [];
      return [
        {
          key: `forgotten:${kr.id}:${due.toISOString()}`,
          unitId: kr.unitId,
          occurredAt: due,
          cause: {
            kind: 'FORGOTTEN_CHECK_IN',
            quarterId: quarter.id,
            unitName: unit?.name ?? kr.unitId,
            keyResultId: kr.id,
            keyResultTitle: kr.title,
            cadence,
            lastCheckInAt: last === null ? null : new Date(last).toISOString(),
            dueAt: due.toISOString(),
          },
        },
      ];
    });
}

/** A health finding's identity across evaluations: its rule and what it is about. */
export const findingKey = (f: FindingDoc): string => `${f.rule}:${f.subjectId ?? f.unitId}`;

export interface CauseSchedulerOptions {
  connections: Connections;
  clock: () => Date;
  /** Person-days a unit's cycle should cost per quarter (the EFFORT_OVER_BUDGET rule). */
  effortBudget: (organisationId: string) => number;
  intervalMs: number;
  logger?: Logger;
  /** Called when a pass enqueued something (the worker may look at once). */
  onEnqueued?: () => void;
}

/**
 * Finds the causes no event marks: forgotten check-ins, phase changes the clock makes, and health findings
 * that became problems. Runs every `intervalMs` in every server; each organisation is evaluated in a
 * transaction holding an advisory lock of its own (another server evaluating it at the same moment skips
 * it), and every cause is enqueued with INSERT ... ON CONFLICT DO NOTHING on its cause key, so several
 * servers, restarts and passes never enqueue a cause twice.
 *
 * "Became a problem" needs the previous evaluation: okr_webhook_problems keeps, per organisation and
 * quarter, the problem findings seen last time, and okr_webhook_evaluations when the organisation's first
 * evaluation (its baseline) was made. The first evaluation of an organisation (while a webhook listens for
 * HEALTH_PROBLEM) records what is there and tells nobody; from then on each finding of problem severity
 * that was not there before is a cause, keyed by when it appeared, so one that goes away and comes back
 * is news again. With no webhook listening any more, that memory is dropped, and the next listener starts
 * from a new baseline.
 */
export class CauseScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private pass: Promise<unknown> | null = null;
  private readonly logger: Logger;

  constructor(private readonly options: CauseSchedulerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass?.catch(() => undefined);
  }

  /** One pass over every organisation with webhooks; resolves with the outbox rows it added. */
  async runOnce(): Promise<number> {
    const orgs = await this.options.connections.sql.query<{ organisation_id: string }>(
      `SELECT organisation_id FROM okr_webhooks WHERE state = 'ACTIVE' UNION SELECT organisation_id FROM okr_webhook_evaluations`,
    );
    let added = 0;
    for (const { organisation_id: org } of orgs) {
      try {
        added += await this.options.connections.transaction((sql) => this.evaluate(sql, org));
      } catch (error) {
        this.logger.warn('webhook causes of an organisation could not be evaluated; trying again at the next pass', { organisationId: org, ...errorFields(error) });
      }
    }
    if (added > 0) this.options.onEnqueued?.();
    return added;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.pass = this.runOnce()
        .catch((error: unknown) => this.logger.warn('looking for webhook causes failed; trying again', errorFields(error)))
        .finally(() => {
          this.pass = null;
          if (this.running) this.schedule(this.options.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One organisation, in the caller's transaction: the causes its webhooks want, enqueued. */
  private async evaluate(sql: Sql, org: string): Promise<number> {
    const [lock] = await sql.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('okr_webhook_schedule'), hashtext(?)) AS locked`, [org]);
    if (lock?.locked !== true) return 0;
    const hooks = await sql.query<{ unit_id: string; causes: string[] }>(`SELECT unit_id, causes FROM okr_webhooks WHERE organisation_id = ? AND state = 'ACTIVE'`, [org]);
    const unitsWanting = (kind: WebhookCauseKind) => new Set(hooks.filter((h) => h.causes.includes(kind)).map((h) => h.unit_id));
    const now = this.options.clock();
    const read = new TableReadModel(sql, org);
    const quarters = await read.quarters();
    const factsOf = memoised((id: string) => loadQuarterFacts(read, id, now));
    const found: FoundCause[] = [];
    if (unitsWanting('QUARTER_PHASE').size > 0) found.push(...phaseChanges(quarters, now));
    const running = quarters.filter((q) => q.closedAt === null && now >= q.startsOn && now < q.endsOn);
    const forgetful = unitsWanting('FORGOTTEN_CHECK_IN');
    if (forgetful.size > 0) {
      for (const q of running) {
        const facts = await factsOf(q.id);
        if (facts !== null) found.push(...forgottenCheckIns(facts, forgetful, now));
      }
    }
    if (unitsWanting('HEALTH_PROBLEM').size > 0) found.push(...(await this.newProblems(sql, org, quarters, factsOf, now)));
    else await sql.query('WITH p AS (DELETE FROM okr_webhook_problems WHERE organisation_id = ?) DELETE FROM okr_webhook_evaluations WHERE organisation_id = ?', [org, org]);
    return enqueue(sql, org, found, now);
  }

  /** Problem findings not there at the previous evaluation (none at an organisation's first), remembered for the next. */
  private async newProblems(
    sql: Sql,
    org: string,
    quarters: readonly QuarterDoc[],
    factsOf: (id: string) => Promise<QuarterFacts | null>,
    now: Date,
  ): Promise<FoundCause[]> {
    const open = quarters.filter((q) => q.closedAt === null && now >= q.settingOpensOn);
    const current = new Map<string, { quarterId: string; finding: FindingDoc; unitName: string }>();
    for (const q of open) {
      const facts = await factsOf(q.id);
      if (facts === null) continue;
      const earlier: QuarterFacts[] = [];
      const before = quarters
        .filter((p) => p.endsOn.getTime() <= q.startsOn.getTime())
        .sort((a, b) => b.startsOn.getTime() - a.startsOn.getTime())
        .slice(0, HEALTH_LOOKBACK);
      for (const p of before) {
        const prior = await factsOf(p.id);
        if (prior !== null) earlier.push(prior);
      }
      for (const finding of healthFindings({ facts, earlier, effortBudget: this.options.effortBudget(org) })) {
        if (finding.severity !== 'PROBLEM') continue;
        const unitName = facts.units.find((u) => u.id === finding.unitId)?.name ?? finding.unitId;
        current.set(`${q.id}\u0000${findingKey(finding)}`, { quarterId: q.id, finding, unitName });
      }
    }
    const stored = await sql.query<{ quarter_id: string; finding: string }>('SELECT quarter_id, finding FROM okr_webhook_problems WHERE organisation_id = ?', [org]);
    const before = new Set(stored.map((s) => `${s.quarter_id}\u0000${s.finding}`));
    const appeared = [...current].filter(([key]) => !before.has(key)).map(([, value]) => value);
    const gone = stored.filter((s) => !current.has(`${s.quarter_id}\u0000${s.finding}`));
    const [baseline] = await sql.query<{ at: Date }>(
      `WITH added AS (INSERT INTO okr_webhook_problems (organisation_id, quarter_id, finding, unit_id, since)
                      SELECT ?, a.quarter_id, a.finding, a.unit_id, ?::timestamptz FROM jsonb_to_recordset(?::jsonb) AS a(quarter_id text, finding text, unit_id text)),
            removed AS (DELETE FROM okr_webhook_problems p USING jsonb_to_recordset(?::jsonb) AS g(quarter_id text, finding text)
                         WHERE p.organisation_id = ? AND p.quarter_id = g.quarter_id AND p.finding = g.finding),
            first AS (INSERT INTO okr_webhook_evaluations (organisation_id, health_baseline_at) VALUES (?, ?::timestamptz) ON CONFLICT DO NOTHING)
       SELECT health_baseline_at AS at FROM okr_webhook_evaluations WHERE organisation_id = ?`,
      [
        org, now.toISOString(),
        JSON.stringify(appeared.map((a) => ({ quarter_id: a.quarterId, finding: findingKey(a.finding), unit_id: a.finding.unitId }))),
        JSON.stringify(gone.map((g) => ({ quarter_id: g.quarter_id, finding: g.finding }))), org,
        org, now.toISOString(),
        org,
      ],
    );
    // No row before this statement (its snapshot): this was the baseline, and nobody is told.
    if (baseline === undefined) return [];
    return appeared.map(({ quarterId, finding, unitName }): FoundCause => {
      const cause: Cause = {
        kind: 'HEALTH_PROBLEM',
        quarterId,
        unitName,
        rule: finding.rule,
        severity: 'PROBLEM',
        message: finding.message,
        subjectId: finding.subjectId,
      };
      return { key: `health:${quarterId}:${findingKey(finding)}:${now.toISOString()}`, unitId: finding.unitId, occurredAt: now, cause };
    });
  }
}

/** One call per key, the first call's promise kept. */
function memoised<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (key) => {
    let value = seen.get(key);
    if (value === undefined) {
      value = load(key);
      seen.set(key, value);
    }
    return value;
  };
}
