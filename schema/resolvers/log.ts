import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { rejected } from '../../domain/errors';
import { EVENT_TYPES, type RecordedEvent } from '../../events/catalogue';
import type { Context } from '../context';
import { DateTime, EventConnection, type Event } from '../types';

export const EVENTS_PAGE_DEFAULT = 50;
export const EVENTS_PAGE_MAX = 500;

/** Cursors are opaque to clients: base64url of the event's log position. */
export const encodeCursor = (position: number): string => Buffer.from(`okr:${position}`).toString('base64url');

export function decodeCursor(cursor: string): number {
  const match = /^okr:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw rejected('CURSOR_INVALID', 'after must be a cursor returned by a previous page (edges.cursor or pageInfo.endCursor).');
  return Number(match[1]);
}

export function toEventNode(e: RecordedEvent): Event {
  return {
    position: String(e.position),
    streamId: e.streamId,
    version: e.version,
    type: e.type,
    data: e.data,
    recordedAt: e.recordedAt,
    actor: e.metadata.actor ?? null,
  };
}

@Resolver()
export class LogResolver {
  @Query(() => EventConnection, { description: 'The log itself, in delivery order, for analysts replaying history.' })
  async events(
    @Arg('first', () => Int, { nullable: true, description: `Page size, 1-${EVENTS_PAGE_MAX} (default ${EVENTS_PAGE_DEFAULT}).` })
    first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('streamId', () => String, { nullable: true }) streamId: string | null,
    @Arg('quarterId', () => ID, { nullable: true }) quarterId: string | null,
    @Arg('types', () => [String], { nullable: true }) types: string[] | null,
    @Arg('until', () => DateTime, { nullable: true, description: 'Only events recorded at or before this instant.' })
    until: Date | null,
    @Ctx() ctx: Context,
  ): Promise<EventConnection> {
    const size = first ?? EVENTS_PAGE_DEFAULT;
    if (!Number.isInteger(size) || size < 1 || size > EVENTS_PAGE_MAX) {
      throw rejected('PAGE_SIZE_INVALID', `first must be from 1 to ${EVENTS_PAGE_MAX}.`);
    }
    const unknown = (types ?? []).filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      throw rejected('EVENT_TYPE_UNKNOWN', `Unknown event type(s): ${unknown.join(', ')}. Known: ${EVENT_TYPES.join(', ')}.`);
    }
    const page = await ctx.log.readAll({
      organisationId: ctx.organisationId,
      after: after != null ? decodeCursor(after) : 0,
      streamId: streamId ?? undefined,
      quarterId: quarterId ?? undefined,
      types: types ?? undefined,
      until: until ?? undefined,
      limit: size + 1,
    });
    const edges = page.slice(0, size).map((e) => ({ cursor: encodeCursor(e.position), node: toEventNode(e) }));
    return { edges, pageInfo: { hasNextPage: page.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
