import { SCHEMA_VERSION, type EventType } from './catalogue';

/**
 * Upcasters turn a payload stored under an older schema version into the next version's shape.
 * Keyed by event type, then by the version they upgrade FROM. None exist yet: every event type is
 * still at version 1. When a shape changes, freeze the old one here, bump SCHEMA_VERSION, and add
 * a test that starts from the old serialized JSON.
 */
type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;
const UPCASTERS: Partial<Record<EventType, Record<number, Upcaster>>> = {};

export class UnknownEventVersion extends Error {
  constructor(type: string, version: number) {
    super(`No upcaster takes ${type} from schema version ${version} to ${SCHEMA_VERSION[type as EventType] ?? '?'}.`);
    this.name = 'UnknownEventVersion';
  }
}

export function upcast(type: string, schemaVersion: number, data: Record<string, unknown>): Record<string, unknown> {
  const current = SCHEMA_VERSION[type as EventType];
  if (current === undefined) throw new UnknownEventVersion(type, schemaVersion);
  let version = schemaVersion;
  let payload = data;
  while (version < current) {
    const step = UPCASTERS[type as EventType]?.[version];
    if (step === undefined) throw new UnknownEventVersion(type, version);
    payload = step(payload);
    version += 1;
  }
  if (version > current) throw new UnknownEventVersion(type, schemaVersion);
  return payload;
}
