import {
  getNullableType,
  isInputObjectType,
  isListType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { rejected } from '../domain/errors';
import { DateTime } from './types';

/*
 * What the API's ids mean, in one place.
 *
 * - Units, objectives and key results have the UUIDs minted when they were created (src/commands.ts);
 *   quarters have their human key (2027-Q1: letters, digits, '.', '_', '-', at most 32 characters, so
 *   never a 36-character UUID). Neither contains ':', '/' or '@'.
 * - Objects that had no id get one of the form `<Type>:<key>`: `CheckIn:<streamId>/<version>` (the
 *   event that recorded the check-in), `Event:<streamId>/<version>` (stable however positions are
 *   numbered), `Retrospective:<unitId>/<quarterId>`. The prefix keeps them apart from each other and
 *   from the ids above.
 * - An object as it was at an instant is another object: `<id>@<instant>`, the instant as
 *   Date.toISOString() writes it, so equal instants give equal ids.
 */

/** Separates an id from the instant of a versioned id. */
const AT = '@';

/** The instant an id names its object at, or null for the object now. */
export interface ParsedId {
  /** The id of the object now. */
  id: string;
  at: Date | null;
}

/** The id of `id`'s object as it was at `at` (the object now when `at` is null). */
export function versioned(id: string, at: Date | null | undefined): string {
  return at == null ? id : `${id}${AT}${at.toISOString()}`;
}

/** Splits a versioned id; an id without '@' names the object now. */
export function parseId(raw: string): ParsedId {
  const i = raw.indexOf(AT);
  if (i < 0) return { id: raw, at: null };
  const id = raw.slice(0, i);
  const instant = raw.slice(i + 1);
  let at: Date;
  try {
    at = DateTime.parseValue(instant) as Date;
  } catch {
    at = new Date(Number.NaN);
  }
  if (id.length === 0 || Number.isNaN(at.getTime())) {
    throw rejected(
      'ID_INVALID',
      `"${raw}" is not an id this API gives out: a versioned id is <id>@<ISO-8601 instant>, e.g. 2026-Q4@2026-11-17T00:00:00.000Z.`,
    );
  }
  return { id, at };
}

/** The refusal for a versioned id where only the object now makes sense (a change, a live feed). */
export function historicalId(field: string, parsed: ParsedId & { at: Date }): Error {
  return rejected(
    'HISTORICAL_ID',
    `${field} names ${parsed.id} as it was at ${parsed.at.toISOString()}; the past cannot change. Pass "${parsed.id}" to change it as it is now.`,
  );
}

/** The kinds of `<Type>:<key>` ids. */
export type KeyedType = 'CheckIn' | 'Event' | 'Retrospective';
const KEYED = /^(CheckIn|Event|Retrospective):(.+)$/;

export const checkInId = (checkInDocId: string): string => `CheckIn:${checkInDocId}`;
export const eventId = (streamId: string, version: number): string => `Event:${streamId}/${version}`;
export const retrospectiveId = (unitId: string, quarterId: string): string => `Retrospective:${unitId}/${quarterId}`;

/** What a `<Type>:<key>` id names; null for any other id. */
export type Keyed =
  | { type: 'CheckIn'; keyResultId: string; docId: string }
  | { type: 'Event'; streamId: string; version: number }
  | { type: 'Retrospective'; unitId: string; quarterId: string };

export function parseKeyed(id: string): Keyed | null {
  const match = KEYED.exec(id);
  if (!match) return null;
  const [, type, key] = match as unknown as [string, KeyedType, string];
  switch (type) {
    case 'CheckIn': {
      const m = /^keyResult-([^/]+)\/([1-9]\d{0,9})$/.exec(key);
      return m ? { type, keyResultId: m[1] as string, docId: key } : null;
    }
    case 'Event': {
      const m = /^([^/]+)\/([1-9]\d{0,9})$/.exec(key);
      return m ? { type, streamId: m[1] as string, version: Number(m[2]) } : null;
    }
    case 'Retrospective': {
      const m = /^([^/]+)\/([^/]+)$/.exec(key);
      return m ? { type, unitId: m[1] as string, quarterId: m[2] as string } : null;
    }
  }
}

/** The first ID in `value` (of GraphQL input type `type`) that is versioned, with where it was found. */
function versionedIdIn(value: unknown, type: GraphQLInputType, path: string): { path: string; parsed: ParsedId & { at: Date } } | null {
  if (value == null) return null;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const items = Array.isArray(value) ? value : [value];
    for (const [i, item] of items.entries()) {
      const found = versionedIdIn(item, nullable.ofType, `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (isInputObjectType(nullable)) {
    for (const field of Object.values(nullable.getFields())) {
      const found = versionedIdIn((value as Record<string, unknown>)[field.name], field.type, `${path}.${field.name}`);
      if (found) return found;
    }
    return null;
  }
  if (isScalarType(nullable) && nullable.name === 'ID' && typeof value === 'string') {
    const parsed = parseId(value);
    return parsed.at === null ? null : { path, parsed: { id: parsed.id, at: parsed.at } };
  }
  return null;
}

/** Refuses a versioned id anywhere in `args` (described by `defs`): changes are made to the present. */
export function refuseVersionedIds(defs: readonly GraphQLArgument[], args: Record<string, unknown>): void {
  for (const def of defs) {
    const found = versionedIdIn(args[def.name], def.type, def.name);
    if (found) throw historicalId(found.path, found.parsed);
  }
}

/**
 * Makes every mutation refuse versioned ids in its arguments (HISTORICAL_ID) before it runs, so a
 * mutation added later cannot forget to.
 */
export function mutationsRefuseVersionedIds(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve) continue;
    field.resolve = (root, args: Record<string, unknown>, context, info) => {
      refuseVersionedIds(field.args, args);
      return resolve(root, args, context, info);
    };
  }
  return schema;
}
