import canonicalize from 'canonicalize';
import { leafHash, type Hash } from './merkle';

/**
 * An event exactly as recorded: the bytes of its leaf in the organisation's Merkle tree.
 *
 * Everything the log records about an event is in it (organisation, position, stream, version, type,
 * schema version, the stored payload before any upcasting, metadata, recorded time), so changing any
 * of it changes the leaf. It is also the line `okr export --format ndjson` writes, so anyone holding an
 * exported line can recompute its leaf hash without the database.
 */
export interface LeafEvent {
  organisationId: string;
  /** The organisation's log position, from 1; leaf index position - 1. */
  position: number;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  /** The payload as stored (its shape at schemaVersion). */
  data: unknown;
  /** Actor, correlation, causation and idempotency key as stored (the organisation is above). */
  metadata: unknown;
  /** ISO-8601 UTC with milliseconds. */
  recordedAt: string;
}

/** The leaf's bytes: RFC 8785 (JCS) canonical JSON of the event's fields. */
export function leafText(event: LeafEvent): string {
  const text = canonicalize({
    organisationId: event.organisationId,
    position: event.position,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt,
  });
  if (text === undefined) throw new TypeError('An event must be JSON to be a leaf.');
  return text;
}

/** RFC 6962 leaf hash of the event: SHA-256(0x00 || leaf bytes). */
export const eventLeafHash = (event: LeafEvent): Hash => leafHash(leafText(event));

/** What an exported line must hold to be read back as a leaf; the reason when it does not. */
export function parseLeafLine(line: string): LeafEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'the event line is not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'the event line is not a JSON object';
  const v = value as Record<string, unknown>;
  const strings = ['organisationId', 'streamId', 'type', 'recordedAt'] as const;
  for (const key of strings) if (typeof v[key] !== 'string') return `the event line has no string "${key}"`;
  for (const key of ['position', 'version', 'schemaVersion'] as const) {
    if (typeof v[key] !== 'number' || !Number.isSafeInteger(v[key]) || (v[key] as number) < 1) return `the event line has no whole number "${key}" (1 or more)`;
  }
  if (!('data' in v) || !('metadata' in v)) return 'the event line has no "data" or no "metadata"';
  const extra = Object.keys(v).filter((k) => !LEAF_KEYS.has(k));
  if (extra.length > 0) return `the event line has fields a leaf does not: ${extra.join(', ')}`;
  // Byte for byte the leaf: no duplicated key, reordering or other spelling can give the line a second reading.
  if (leafText(v as unknown as LeafEvent) !== line) return 'the event line is not in canonical form (RFC 8785): it is not an event line as exported';
  return v as unknown as LeafEvent;
}

const LEAF_KEYS = new Set(['organisationId', 'position', 'streamId', 'version', 'type', 'schemaVersion', 'data', 'metadata', 'recordedAt']);
