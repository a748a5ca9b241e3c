import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { EventStore } from '../events/store';
import { TableReadModel } from '../projections/tables';
import type { Context } from '../schema/context';
import type { AuditService } from './audit';
import type { Principal } from './auth';
import { pooledSql } from './clientSql';
import { Commands } from './commands';
import { sqlOf } from './database';
import { eventFeed } from './eventFeed';
import type { History } from './history';
import { RequestAborted, type ExpensiveWork } from './http/admission';
import type { Ledger } from './ledger';
import type { LogFollower } from './logFollower';
import type { WebhookService } from './webhooks/service';

export interface ContextDependencies {
  orm: MikroORM;
  ledger: Ledger;
  /** Verification, checkpoints and proofs of each organisation's log. */
  audit: AuditService;
  history: History;
  follower: LogFollower;
  clock: () => Date;
  /** Person-days a unit's cycle should cost per quarter, per organisation. */
  effortBudget: (organisationId: string) => number;
  /** Slots for scans of the log (verifyLog), shared by every request of this server. */
  expensiveWork: ExpensiveWork;
  /** Outgoing webhooks' configuration and deliveries. */
  webhooks: WebhookService;
}

/** A signal that never aborts, for requests whose client cannot leave half-way (e.g. over WebSocket). */
const NEVER = new AbortController().signal;

/**
 * The commands, checking before each one that the client is still there: once it has gone, the
 * remaining commands of the request are not started. A command that has started finishes (its events
 * and projections commit together or not at all), so nothing is ever half-applied.
 */
function stopWhenAborted(commands: Commands, signal: AbortSignal): Commands {
  if (signal === NEVER) return commands;
  return new Proxy(commands, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (signal.aborted) return Promise.reject(new RequestAborted());
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * Builds each request's Context: everything a resolver may touch, scoped to the principal's organisation.
 * `signal` aborts when the client has gone: no further command or scan is started for it.
 */
export function contextFactory(deps: ContextDependencies): (requestId: string, principal: Principal, signal?: AbortSignal) => Context {
  const { orm, ledger, audit, history, follower, clock, expensiveWork } = deps;
  const store = new EventStore();
  const reads = pooledSql(orm);

  return (requestId, principal, signal = NEVER) => {
    const org = principal.organisationId;
    // Scans of the log run a few at a time per organisation (admission.ts). One request holds at most one
    // place at a time: its scans run one after another (root fields resolve in parallel, and aliased scans
    // must not fill the organisation's queue and refuse everyone else). Reads as of an instant are reads
    // of the history tables through indexes, not scans: they take no place.
    let previous: Promise<unknown> = Promise.resolve();
    const expensive = <T>(work: () => Promise<T>): Promise<T> => {
      const turn = previous.catch(() => undefined).then(() => expensiveWork.run(org, work, signal));
      previous = turn;
      return turn;
    };
    // One model per instant and request, so that its lookups are batched and shared.
    const atInstant = new Map<string, ReturnType<Context['readAsOf']>>();
    const readAsOf: Context['readAsOf'] = (at) => {
      const key = at.toISOString();
      let model = atInstant.get(key);
      if (model === undefined) {
        model = history.at(org, at);
        atInstant.set(key, model);
      }
      return model;
    };
    const actor = { organisationId: org, actor: principal.subject, correlationId: requestId };
    const newRead = () => new TableReadModel(reads, org);
    const ctx: Context = {
      organisationId: org,
      actor: principal.subject,
      role: principal.role,
      keyResults: principal.keyResults ?? [],
      requestId,
      now: clock(),
      commands: stopWhenAborted(new Commands(ledger, actor, randomUUID, { role: principal.role, units: principal.units, keyResults: principal.keyResults ?? [] }), signal),
      read: newRead(),
      refreshRead: () => {
        ctx.read = newRead();
      },
      log: { readAll: (filter) => store.readAll(sqlOf(orm.em.fork()), { ...filter, organisationId: org }) },
      audit: {
        // A verification recomputes the tree (from the last verified checkpoint, or all of it): a scan.
        // Only admins and auditors leave a record (a signed checkpoint and where the next check begins).
        verify: ({ full, record = true }) =>
          expensive(() => audit.verify(org, { full, record: record && (principal.role === 'admin' || principal.role === 'auditor') })),
        latestCheckpoint: () => audit.latest(org),
        recordCheckpoint: () => audit.record(org),
        inclusionProof: (position, treeSize) => audit.inclusion(org, position, treeSize),
        consistencyProof: (from, to) => audit.consistency(org, from, to),
        publicKey: audit.publicKey,
        origin: audit.originOf(org),
      },
      feed: (filter) => eventFeed(follower, { organisationId: org, ...filter }),
      readAsOf,
      effortBudget: deps.effortBudget(org),
      webhooks: deps.webhooks.forPrincipal(principal),
    };
    return ctx;
  };
}
