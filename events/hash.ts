import { createHash } from 'node:crypto';

/**
 * The log's tamper evidence: one hash chain over the whole log, in position order.
 *
 * Global rather than per stream: appends are already serialised on the head row, so each event can
 * cheaply chain to its predecessor, and one pass over the log then detects an edited, deleted,
 * inserted or reordered event anywhere (a per-stream chain would miss a whole stream removed, or an
 * event moved between streams). The head row keeps the last hash, so a truncated tail shows too.
 */

/** The hash before the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Everything about an event that the chain protects, exactly as stored. */
export interface HashedEvent {
  position: number;
  organisationId: string;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  /** The stored payload (before any upcasting). */
  data: unknown;
  metadata: unknown;
  /** ISO-8601 with milliseconds. */
  recordedAt: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of one event's content alone. */
export function contentHash(e: HashedEvent): string {
  return sha256(
    canonicalJson([e.position, e.organisationId, e.streamId, e.version, e.type, e.schemaVersion, e.data, e.metadata, e.recordedAt]),
  );
}

/** The chain link: the predecessor's hash and this event's content. */
export function chainHash(previous: string, e: HashedEvent): string {
  return sha256(`${previous}${contentHash(e)}`);
}
