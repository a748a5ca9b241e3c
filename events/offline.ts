import { eventLeafHash, parseLeafLine } from './leaf';
import { verifyConsistency, verifyInclusion, type Hash } from './merkle';
import { NoteFormatError, NoteVerificationError, openNote, parseCheckpoint, verifierFromKey, type Checkpoint } from './note';

/*
 * Verification without the database: what an auditor runs on files they kept (a signed checkpoint, the
 * public key, an exported event line, a proof). Only the standard formats are read, so any RFC 6962 /
 * C2SP implementation checks the same bytes. Every function answers a verdict; none throws on bad input.
 */

export interface Verdict {
  ok: boolean;
  /** What was established, or what does not hold, for a person to read. */
  message: string;
}

const fail = (message: string): Verdict => ({ ok: false, message });

/** Decodes a standard-base64 SHA-256 hash; null unless exactly 32 bytes. */
function hashOf(value: unknown): Hash | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes : null;
}

const sizeOf = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null);

/** Opens a signed checkpoint with the public key (signed-note verifier form). */
export function openCheckpoint(note: string, publicKey: string): Checkpoint | string {
  try {
    const verifier = verifierFromKey(publicKey.trim());
    const { text } = openNote(note, [verifier]);
    return parseCheckpoint(text);
  } catch (error) {
    if (error instanceof NoteFormatError || error instanceof NoteVerificationError) return `the checkpoint does not verify with this public key: ${error.message}`;
    throw error;
  }
}

function parseJson(text: string, what: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  return `the ${what} is not a JSON object`;
}

function hashesOf(value: unknown): Hash[] | null {
  if (!Array.isArray(value) || value.length > 128) return null;
  const hashes = value.map(hashOf);
  return hashes.every((h): h is Hash => h !== null) ? hashes : null;
}

/**
 * Checks that an exported event line is in the log the checkpoint commits to: the checkpoint's
 * signature, the event's organisation against the checkpoint's origin, the leaf recomputed from the line,
 * and the inclusion proof from that leaf to the signed root.
 */
export function checkEventInclusion(input: { checkpoint: string; publicKey: string; eventLine: string; proof: string }): Verdict {
  const checkpoint = openCheckpoint(input.checkpoint, input.publicKey);
  if (typeof checkpoint === 'string') return fail(checkpoint);
  const event = parseLeafLine(input.eventLine.trim());
  if (typeof event === 'string') return fail(event);
  if (!checkpoint.origin.endsWith(`/${event.organisationId}`)) {
    return fail(`the checkpoint is of log "${checkpoint.origin}", not of organisation "${event.organisationId}"'s log`);
  }
  const proof = parseJson(input.proof, 'proof');
  if (typeof proof === 'string') return fail(proof);
  const [position, treeSize, hashes] = [sizeOf(proof.position), sizeOf(proof.treeSize), hashesOf(proof.hashes)];
  if (position === null || treeSize === null || hashes === null) return fail('the proof must be {"position", "treeSize", "leafHash", "hashes"} with base64 SHA-256 hashes');
  if (position !== event.position) return fail(`the proof is for position ${position}, the event is at ${event.position}`);
  if (treeSize !== checkpoint.size) return fail(`the proof is for a tree of ${treeSize} events, the checkpoint is of ${checkpoint.size}: ask for a proof at tree size ${checkpoint.size}`);
  if (position < 1 || position > treeSize) return fail(`position ${position} is not in a tree of ${treeSize} events`);
  const leaf = eventLeafHash(event);
  const claimed = hashOf(proof.leafHash);
  if (claimed !== null && !claimed.equals(leaf)) return fail('the event line does not give the proof\'s leaf hash: the line is not the event as recorded');
  if (!verifyInclusion(position - 1, treeSize, leaf, hashes, checkpoint.root)) {
    return fail(`the proof does not lead from this event to the root signed for ${checkpoint.size} events: the event is not in that log as recorded`);
  }
  return { ok: true, message: `event ${position} of "${checkpoint.origin}" is in the log of ${checkpoint.size} events the checkpoint signs` };
}

/**
 * Checks that a later checkpoint extends an earlier one: both signed by the key, of the same log, and
 * the consistency proof leads from the older root to the newer.
 */
export function checkConsistency(input: { older: string; newer: string; publicKey: string; proof: string }): Verdict {
  const older = openCheckpoint(input.older, input.publicKey);
  if (typeof older === 'string') return fail(`the older ${older.replace(/^the /, '')}`);
  const newer = openCheckpoint(input.newer, input.publicKey);
  if (typeof newer === 'string') return fail(`the newer ${newer.replace(/^the /, '')}`);
  if (older.origin !== newer.origin) return fail(`the checkpoints are of different logs ("${older.origin}" and "${newer.origin}")`);
  if (older.size > newer.size) return fail(`the older checkpoint (${older.size} events) is larger than the newer (${newer.size})`);
  const proof = parseJson(input.proof, 'proof');
  if (typeof proof === 'string') return fail(proof);
  const [from, to, hashes] = [sizeOf(proof.from), sizeOf(proof.to), hashesOf(proof.hashes)];
  if (from === null || to === null || hashes === null) return fail('the proof must be {"from", "to", "hashes"} with base64 SHA-256 hashes');
  if (from !== older.size || to !== newer.size) return fail(`the proof is from ${from} to ${to} events, the checkpoints are of ${older.size} and ${newer.size}`);
  if (!verifyConsistency(from, to, hashes, older.root, newer.root)) {
    return fail(`the proof does not show the log of ${to} events extending the log of ${from}: history before ${from} was changed, or the proof is wrong`);
  }
  return { ok: true, message: `the log of ${to} events extends the log of ${from} events ("${newer.origin}"): nothing before ${from} was changed` };
}
