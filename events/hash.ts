import { createHash } from 'node:crypto';
import type { LeafEvent } from './leaf';

/**
 * The hash chain of earlier versions: one chain over the whole (then single) log, in position order.
 * Kept, byte for byte, for the migrations that built it (Migration20261121000005HashChain) and that
 * checked it one last time before each organisation got its own Merkle tree
 * (Migration20261204000001OrganisationLogs). The log's tamper evidence is now events/leaf.ts and
 * events/merkle.ts; nothing else should use this file.
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

/** Everything about an event that the chain protected, exactly as stored: the same fields as a leaf. */
export type HashedEvent = LeafEvent;

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
