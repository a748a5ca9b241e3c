import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { verifyChain, type ChainVerification } from '../events/audit';
import { EventStore } from '../events/store';
import { TableReadModel } from '../projections/readModel';
import type { Context } from '../schema/context';
import type { Principal } from './auth';
import { Commands } from './commands';
import { inSnapshot, sqlOf } from './database';
import { eventFeed } from './eventFeed';
import type { History } from './history';
import type { Ledger } from './ledger';
import type { LogFollower } from './logFollower';

export interface ContextDependencies {
  orm: MikroORM;
  ledger: Ledger;
  history: History;
  follower: LogFollower;
  clock: () => Date;
  /** Person-days a unit's cycle should cost per quarter, per organisation. */
  effortBudget: (organisationId: string) => number;
}

/** Builds each request's Context: everything a resolver may touch, scoped to the principal's organisation. */
export function contextFactory(deps: ContextDependencies): (requestId: string, principal: Principal) => Context {
  const { orm, ledger, history, follower, clock } = deps;
  const store = new EventStore();

  /** A broken chain is reported in full only where the broken event is the caller's organisation's own. */
  const withinOrganisation = async (result: ChainVerification, org: string): Promise<ChainVerification> => {
    if (result.firstBrokenPosition === null) return result;
    const rows = await sqlOf(orm.em.fork()).query<{ organisation_id: string }>('SELECT organisation_id FROM okr_events WHERE position = ?', [
      result.firstBrokenPosition,
    ]);
    if (rows[0]?.organisation_id === org) return result;
    return { ...result, firstBrokenPosition: null, reason: 'The shared log does not match its hash chain outside your organisation; the operator must investigate.' };
  };

  return (requestId, principal) => {
    const org = principal.organisationId;
    const actor = { organisationId: org, actor: principal.subject, correlationId: requestId };
    const newRead = () => new TableReadModel(orm.em.fork(), org);
    const ctx: Context = {
      organisationId: org,
      actor: principal.subject,
      role: principal.role,
      requestId,
      now: clock(),
      commands: new Commands(ledger, actor, randomUUID, { role: principal.role, units: principal.units }),
      read: newRead(),
      refreshRead: () => {
        ctx.read = newRead();
      },
      log: { readAll: (filter) => store.readAll(sqlOf(orm.em.fork()), { ...filter, organisationId: org }) },
      verifyLog: async () => {
        const result = await inSnapshot(orm, (sql) => verifyChain(sql, { organisationId: org }));
        return result.ok ? result : withinOrganisation(result, org);
      },
      feed: (filter) => eventFeed(follower, { organisationId: org, ...filter }),
      readAsOf: (at, quarterId) => history.quarterAt(org, quarterId, at),
      effortBudget: deps.effortBudget(org),
    };
    return ctx;
  };
}
