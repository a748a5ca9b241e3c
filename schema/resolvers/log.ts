import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { rejected } from '../../domain/errors';
import { EVENT_TYPES, type RecordedEvent } from '../../events/catalogue';
import type { LogFilter } from '../../events/store';
import type { Context } from '../context';
import { eventId } from '../ids';
import { DateTime, EventConnection, asNode, type Event } from '../types';
import { askedAt } from './support';

export const EVENTS_PAGE_DEFAULT = 50;
export const EVENTS_PAGE_MAX = 500;

/**
 * Cursors are opaque to clients: base64url of the event's position in its organisation's log. The prefix
 * changed when positions became per organisation, so a cursor kept from before is refused, never misread.
 */
export const encodeCursor = (position: number): string => Buffer.from(`okr.org:${position}`).toString('base64url');

export function decodeCursor(cursor: string, argument = 'after'): number {
  const match = /^okr\.org:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw rejected(
      'CURSOR_INVALID',
      `${argument} must be a cursor returned by a previous page (edges.cursor, pageInfo.startCursor or pageInfo.endCursor).`,
    );
  }
  return Number(match[1]);
}

export function toEventNode(e: RecordedEvent): Event {
  return asNode('Event', {
    id: eventId(e.streamId, e.version),
    position: String(e.position),
    streamId: e.streamId,
    version: e.version,
    type: e.type,
    data: e.data,
    recordedAt: e.recordedAt,
    actor: e.metadata.actor ?? null,
  });
}

function pageSize(name: 'first' | 'last', value: number | null): number {
  const size = value ?? EVENTS_PAGE_DEFAULT;
  if (!Number.isInteger(size) || size < 1 || size > EVENTS_PAGE_MAX) {
    throw rejected('PAGE_SIZE_INVALID', `${name} must be from 1 to ${EVENTS_PAGE_MAX}.`);
  }
  return size;
}

@Resolver()
export class LogResolver {
  @Query(() => EventConnection, {
    description:
      'The log itself, in delivery order, for analysts replaying history. A Relay connection: first/after page forwards, ' +
      'last/before backwards (last, or before without first).',
  })
  async events(
    @Arg('first', () => Int, { nullable: true, description: `Page size, 1-${EVENTS_PAGE_MAX} (default ${EVENTS_PAGE_DEFAULT}).` })
    first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('streamId', () => String, { nullable: true }) streamId: string | null,
    @Arg('quarterId', () => ID, { nullable: true, description: 'A versioned quarter id (2027-Q1@<instant>) also means until: <instant>.' })
    quarterId: string | null,
    @Arg('types', () => [String], { nullable: true }) types: string[] | null,
    @Arg('until', () => DateTime, { nullable: true, description: 'Only events recorded at or before this instant.' })
    until: Date | null,
    @Arg('last', () => Int, { nullable: true, description: `Page size from the end, 1-${EVENTS_PAGE_MAX} (default ${EVENTS_PAGE_DEFAULT}).` })
    last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Ctx() ctx: Context,
  ): Promise<EventConnection> {
    if (first != null && last != null) {
      throw rejected('PAGE_DIRECTION_AMBIGUOUS', 'Pass first (with after) to page forwards or last (with before) to page backwards, not both.');
    }
    const backwards = last != null || (before != null && first == null);
    const size = backwards ? pageSize('last', last) : pageSize('first', first);
    const unknown = (types ?? []).filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      throw rejected('EVENT_TYPE_UNKNOWN', `Unknown event type(s): ${unknown.join(', ')}. Known: ${EVENT_TYPES.join(', ')}.`);
    }
    const asked = askedAt(ctx, { quarterId }, until, 'until');
    const afterPosition = after != null ? decodeCursor(after, 'after') : null;
    const beforePosition = before != null ? decodeCursor(before, 'before') : null;
    const filter: Omit<LogFilter, 'organisationId'> = {
      streamId: streamId ?? undefined,
      quarterId: asked.ids.quarterId ?? undefined,
      types: types ?? undefined,
      until: asked.at ?? undefined,
    };
    const page = await ctx.log.readAll({
      ...filter,
      after: afterPosition ?? 0,
      before: beforePosition ?? undefined,
      newestFirst: backwards,
      limit: size + 1,
    });
    const more = page.length > size;
    const events = page.slice(0, size);
    if (backwards) events.reverse();
    const edges = events.map((e) => ({ cursor: encodeCursor(e.position), node: toEventNode(e) }));
    // Whether the filtered log holds events beyond the page, whichever way it was paged: the
    // direction paged in is known from the extra row; the other needs a look past the cursor.
    const exists = async (bound: Omit<LogFilter, 'organisationId'>) => (await ctx.log.readAll({ ...filter, ...bound, limit: 1 })).length > 0;
    const startsAt = events[0]?.position ?? (afterPosition ?? 0) + 1;
    const endsAt = events.at(-1)?.position ?? (beforePosition === null ? null : beforePosition - 1);
    const hasPreviousPage = backwards ? more || (afterPosition !== null && (await exists({ before: startsAt }))) : afterPosition !== null && (await exists({ before: startsAt }));
    const hasNextPage = backwards
      ? endsAt !== null && beforePosition !== null && (await exists({ after: endsAt }))
      : more || (beforePosition !== null && endsAt !== null && (await exists({ after: endsAt })));
    return {
      edges,
      pageInfo: {
        hasPreviousPage,
        hasNextPage,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }
}
