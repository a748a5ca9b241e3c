import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the tlog checkpoint body they
 * carry (c2sp.org/tlog-checkpoint). Key texts use the golang.org/x/mod/sumdb/note encoding, so
 * keys and notes interoperate with Go's note package and the witness ecosystem.
 *
 * Everything that arrives as text is parsed strictly (canonical base64, canonical decimal): a
 * signed byte string must have exactly one reading, or two parties could agree on a signature
 * yet disagree on what it says.
 */

/** Malformed input: a note, checkpoint or key text that does not follow its format. */
export class NoteFormatError extends Error {
  override name = 'NoteFormatError';
}

/** A well-formed note that is not trusted: no known key signed it, or a known key's signature is bad. */
export class NoteVerificationError extends Error {
  override name = 'NoteVerificationError';
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  extensions: string[];
}

export interface NoteSigner {
  name: string;
  keyId: Buffer;
  verifierKey: string;
  sign(message: Buffer): Buffer;
}

export interface NoteVerifier {
  name: string;
  keyId: Buffer;
  verify(message: Buffer, signature: Buffer): boolean;
}

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';
/** Go's limit; the spec asks for at least 16. Bounds the work an untrusted note can cause. */
const MAX_SIGNATURES = 100;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Non-empty, no Unicode space (Go's unicode.IsSpace, which includes U+0085) and no '+'. */
function isValidName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && !CONTROL.test(name) && !LONE_SURROGATE.test(name);
}

/** Standard padded base64, rejecting anything Buffer.from would silently skip or repair. */
function decodeBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function checkTextChars(text: string, what: string): void {
  if (CONTROL.test(text)) throw new NoteFormatError(`${what} contains a control character other than newline`);
  if (LONE_SURROGATE.test(text)) throw new NoteFormatError(`${what} is not valid Unicode (lone surrogate)`);
}

// --- checkpoints ---

/** The checkpoint body: origin, decimal size and base64 root, each on its own line, then any extension lines. */
export function formatCheckpoint(c: { origin: string; size: number; root: Buffer; extensions?: readonly string[] }): string {
  const extensions = c.extensions ?? [];
  if (c.origin === '' || c.origin.includes('\n')) throw new NoteFormatError('checkpoint origin must be one non-empty line');
  if (!Number.isInteger(c.size) || c.size < 0 || c.size > 2 ** 53) throw new NoteFormatError(`checkpoint size must be a non-negative integer, got ${c.size}`);
  if (!Buffer.isBuffer(c.root) || c.root.length !== 32) throw new NoteFormatError('checkpoint root must be a 32-byte hash');
  for (const e of extensions) {
    if (e === '' || e.includes('\n')) throw new NoteFormatError('checkpoint extension lines must be single non-empty lines');
  }
  const text = [c.origin, String(c.size), c.root.toString('base64'), ...extensions].map((l) => `${l}\n`).join('');
  checkTextChars(text, 'checkpoint');
  return text;
}

/** Parses a checkpoint body (the text of an opened note, not the signed note itself). */
export function parseCheckpoint(text: string): Checkpoint {
  checkTextChars(text, 'checkpoint');
  if (!text.endsWith('\n')) throw new NoteFormatError('checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    throw new NoteFormatError('checkpoint needs an origin, a size and a root hash line');
  }
  if (origin === '') throw new NoteFormatError('checkpoint origin is empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeText)) throw new NoteFormatError(`checkpoint size ${JSON.stringify(sizeText)} is not a canonical decimal`);
  const size = Number(sizeText);
  // Past 2^53 a decimal no longer names one number; the tree itself stops there too.
  if (size > 2 ** 53 || String(size) !== sizeText) throw new NoteFormatError(`checkpoint size ${sizeText} is too large`);
  const root = decodeBase64(rootText);
  if (root?.length !== 32) throw new NoteFormatError('checkpoint root is not a base64 32-byte hash');
  if (extensions.some((e) => e === '')) throw new NoteFormatError('checkpoint extension lines must be non-empty');
  return { origin, size, root, extensions };
}

// --- keys ---

/** C2SP key id for Ed25519: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function keyIdOf(name: string, publicKey: Buffer): Buffer {
  if (!isValidName(name)) throw new NoteFormatError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32) throw new NoteFormatError('an Ed25519 public key is 32 bytes');
  const digest = createHash('sha256').update(name, 'utf8').update(Buffer.of(0x0a, ALG_ED25519)).update(publicKey).digest();
  return digest.subarray(0, 4);
}

function verifierKeyText(name: string, publicKey: Buffer): string {
  const encoded = Buffer.concat([Buffer.of(ALG_ED25519), publicKey]).toString('base64');
  return `${name}+${keyIdOf(name, publicKey).toString('hex')}+${encoded}`;
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
}

/** A fresh Ed25519 key pair as signer (secret) and verifier (public) key texts. */
export function generateSignerKey(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidName(name)) throw new NoteFormatError(`invalid key name ${JSON.stringify(name)}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const pub = rawPublicKey(publicKey);
  const encodedSeed = Buffer.concat([Buffer.of(ALG_ED25519), seed]).toString('base64');
  return { signerKey: `PRIVATE+KEY+${name}+${keyIdOf(name, pub).toString('hex')}+${encodedSeed}`, verifierKey: verifierKeyText(name, pub) };
}

/**
 * Splits `<name>+<key id>+<base64 key>` into its parts; the base64 part may itself contain '+',
 * so only the first two separators count.
 */
function splitKey(text: string, what: string): { name: string; keyId: Buffer; key: Buffer } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new NoteFormatError(`${what} is not <name>+<key id>+<key>`);
  const name = text.slice(0, first);
  const idText = text.slice(first + 1, second);
  if (!isValidName(name)) throw new NoteFormatError(`${what} has an invalid key name`);
  if (!/^[0-9a-f]{8}$/.test(idText)) throw new NoteFormatError(`${what} key id must be 8 lowercase hex digits`);
  const key = decodeBase64(text.slice(second + 1));
  if (key === undefined) throw new NoteFormatError(`${what} key is not standard base64`);
  if (key[0] !== ALG_ED25519) throw new NoteFormatError(`${what} uses an unsupported algorithm (only Ed25519, 0x01)`);
  if (key.length !== 33) throw new NoteFormatError(`${what} Ed25519 key must be 32 bytes`);
  return { name, keyId: Buffer.from(idText, 'hex'), key: key.subarray(1) };
}

/** A signer from `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`, the key id checked against the derived public key. */
export function signerFromKey(signerKey: string): NoteSigner {
  const prefix = 'PRIVATE+KEY+';
  if (!signerKey.startsWith(prefix)) throw new NoteFormatError('signer key must start with PRIVATE+KEY+');
  const { name, keyId, key: seed } = splitKey(signerKey.slice(prefix.length), 'signer key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } catch {
    throw new NoteFormatError('signer key is not a usable Ed25519 seed');
  }
  const pub = rawPublicKey(createPublicKey(privateKey));
  if (!keyIdOf(name, pub).equals(keyId)) throw new NoteFormatError('signer key id does not match its key');
  return {
    name,
    keyId,
    verifierKey: verifierKeyText(name, pub),
    sign: (message) => sign(null, message, privateKey),
  };
}

/** A verifier from `<name>+<key id>+<base64(0x01 || public key)>`, the key id checked against the key. */
export function verifierFromKey(verifierKey: string): NoteVerifier {
  const { name, keyId, key } = splitKey(verifierKey, 'verifier key');
  if (!keyIdOf(name, key).equals(keyId)) throw new NoteFormatError('verifier key id does not match its key');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, key]), format: 'der', type: 'spki' });
  } catch {
    throw new NoteFormatError('verifier key is not a usable Ed25519 public key');
  }
  return {
    name,
    keyId,
    verify: (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return verify(null, message, publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}

// --- notes ---

/** Signs `text` (which must end in a newline) with every signer: text, a blank line, one signature line each. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new NoteFormatError('note text must end with a newline');
  checkTextChars(text, 'note text');
  if (signers.length === 0) throw new NoteFormatError('a signed note needs at least one signer');
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    if (!isValidName(s.name)) throw new NoteFormatError(`invalid signer name ${JSON.stringify(s.name)}`);
    if (s.keyId.length !== 4) throw new NoteFormatError(`signer ${s.name} key id is not 4 bytes`);
    const signature = Buffer.concat([s.keyId, s.sign(message)]).toString('base64');
    return `${SIG_PREFIX}${s.name} ${signature}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/** A signed note split into its text and its signature lines, nothing verified yet. Throws NoteFormatError. */
export function parseNote(note: string): { text: string; signatures: { name: string; keyId: Buffer; signature: Buffer }[] } {
  checkTextChars(note, 'note');
  // The text may hold blank lines itself; signature lines never are, so the last blank line splits.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteFormatError('note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw new NoteFormatError('note signatures must be lines ending in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteFormatError(`note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteFormatError('note signature line does not start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? '' : rest.slice(0, space);
    const bytes = decodeBase64(rest.slice(space + 1));
    if (!isValidName(name) || bytes === undefined || bytes.length < 5) throw new NoteFormatError('malformed note signature line');
    return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Opens a signed note against the known verifiers. Signatures by unknown keys are ignored (that is
 * how keys rotate and witnesses cosign); one bad signature by a known key rejects the whole note.
 * Returns the text and the known keys whose signatures verified, in note order, each once.
 */
export function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): { text: string; signatures: { name: string; keyId: Buffer }[] } {
  const { text, signatures: parsed } = parseNote(note);
  const message = Buffer.from(text, 'utf8');
  const verified: { name: string; keyId: Buffer }[] = [];
  for (const sig of parsed) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId.equals(sig.keyId));
    if (matches.length === 0) continue;
    const label = `${sig.name}+${sig.keyId.toString('hex')}`;
    if (matches.length > 1) throw new NoteVerificationError(`ambiguous key ${label}: several verifiers share its name and id`);
    if (!(matches[0] as NoteVerifier).verify(message, sig.signature)) throw new NoteVerificationError(`invalid signature for key ${label}`);
    if (!verified.some((v) => v.name === sig.name && v.keyId.equals(sig.keyId))) verified.push({ name: sig.name, keyId: Buffer.from(sig.keyId) });
  }
  if (verified.length === 0) throw new NoteVerificationError('note has no verifiable signatures by a known key');
  return { text, signatures: verified };
}
