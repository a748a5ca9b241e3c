/**
 * Counts the SQL statements one recordCheckIn sends: the command path sends every statement on the
 * pool's connections through src/clientSql.ts, which reports each to its observers (BEGIN and COMMIT
 * included); on an ORM instance of its own, so that the measured scenarios are not observed.
 * loggedStatements (for the audit paths, which go through MikroORM) reads MikroORM's query log.
 */
import { observeStatements } from '../src/clientSql';
import { Commands } from '../src/commands';
import { openDatabase } from '../src/database';
import { Ledger } from '../src/ledger';
import { actorOf, checkInInput } from './fixtures';
import { round } from './stats';

export interface StatementCount {
  commands: number;
  perCommand: number;
  breakdown: Record<string, number>;
}

/** What kind of statement a logged line is: the store's statements by name, the projections' by table. */
export function classifyStatement(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim().toLowerCase();
  if (/^(begin|start transaction)/.test(s)) return 'BEGIN';
  if (/^commit/.test(s)) return 'COMMIT';
  if (/^rollback/.test(s)) return 'ROLLBACK';
  // The command path (src/ledger.ts): one read of every stream the decision needs ...
  if (s.startsWith('with refs as')) return 'read the streams the decision needs (+ idempotency record): one statement';
  // ... the append's claim: idempotency key, stream version, guards, the head row and the documents to fold ...
  if (s.startsWith('with idem as') || s.startsWith('with claim as')) return 'claim: version check + guards + head row + documents to fold (one statement)';
  // ... then one statement: head frontier + time, the tree's new nodes, the events, every read model.
  if (s.startsWith('with head as')) return 'write: head frontier + tree nodes + events + read models and history (one statement)';
  // One log per organisation before that (events/store.ts until 2026-12-07): take the organisation's head row.
  if (s.startsWith('insert into okr_log_heads')) return 'take the head row (INSERT okr_log_heads ... ON CONFLICT DO UPDATE)';
  // The store before it (one global log with a hash chain), for comparisons with that commit.
  if (s.startsWith('update okr_log_head ')) return 'take the head row (UPDATE okr_log_head)';
  if (s.startsWith('with chained as')) return 'UPDATE head hash + INSERT okr_events (one statement)';
  if (s.includes('from okr_events') || s.includes('join okr_events')) return 'SELECT stream events (okr_events)';
  if (s.startsWith('update okr_streams') || s.startsWith('insert into okr_streams')) return 'okr_streams version check';
  if (s.includes('for share')) return 'SELECT ... FOR SHARE (guards)';
  const table = /(?:from|into|update) "?([a-z_]+)"?/.exec(s)?.[1] ?? '?';
  const verb = s.startsWith('select') ? 'SELECT' : s.startsWith('insert') ? 'UPSERT' : (s.split(' ')[0] ?? '?').toUpperCase();
  return `${verb} ${table} (projection)`;
}

/** Statements of `n` recordCheckIns on `keyResultId` (after one not counted), mean per command and by kind. */
export async function statementsPerCheckIn(url: string, organisationId: string, keyResultId: string, n = 5): Promise<StatementCount> {
  const lines: string[] = [];
  const orm = await openDatabase(url);
  const stop = observeStatements(orm, (text) => lines.push(text));
  try {
    const commands = new Commands(new Ledger(orm, () => new Date()), actorOf(organisationId, 'bench-probe'));
    await commands.recordCheckIn(checkInInput(keyResultId, 0));
    lines.length = 0;
    for (let i = 1; i <= n; i += 1) await commands.recordCheckIn(checkInInput(keyResultId, i));
    const breakdown: Record<string, number> = {};
    for (const line of lines) {
      const key = classifyStatement(line.trim());
      breakdown[key] = (breakdown[key] ?? 0) + 1;
    }
    for (const key of Object.keys(breakdown)) breakdown[key] = round((breakdown[key] ?? 0) / n, 2);
    return { commands: n, perCommand: round(lines.length / n, 2), breakdown };
  } finally {
    stop();
    await orm.close(true);
  }
}

/** The statements `work` sends through a logging ORM instance of its own (opened on `url`), classified. */
export async function loggedStatements(url: string, work: (orm: Awaited<ReturnType<typeof openDatabase>>) => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const orm = await openDatabase(url, { debug: ['query'], colors: false, logger: (m: string) => lines.push(m) });
  try {
    lines.length = 0;
    await work(orm);
    return lines.map((raw) => {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
      const sql = (/\[query\]\s*(.*?)(?:\s*\[took [^\]]*\])?$/s.exec(line)?.[1] ?? line).replace(/\s+/g, ' ').trim();
      return sql.length > 60 ? `${sql.slice(0, 57)}...` : sql;
    });
  } finally {
    await orm.close(true);
  }
}
