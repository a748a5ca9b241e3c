import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckpointSigning } from '../events/checkpoints';
import { generateSignerKey, signerFromKey, verifierFromKey, NoteFormatError, type NoteVerifier } from '../events/note';

/** The key every checkpoint of this deployment is signed with, and how its origins are named. */
export interface CheckpointKeys {
  signing: CheckpointSigning;
  /** This deployment's own key (signing.verifiers holds it first, then the earlier keys it accepts). */
  verifier: NoteVerifier;
  /** The public key in signed-note verifier form: <name>+<key id>+<base64(0x01 || key)>. */
  verifierKey: string;
  /** Where the key came from, for the start-up log line (never the key itself). */
  source: string;
}

/** The key name of a key local development mode makes. */
export const LOCAL_KEY_NAME = 'okr-ledger.localhost';

export class CheckpointKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointKeyError';
  }
}

/**
 * Each organisation's checkpoint origin: `<prefix>/<organisation>`, the prefix naming the deployment
 * (OKR_LOG_ORIGIN, else the key's name). Line breaks cannot occur: organisation ids are printable.
 */
export const originOf = (prefix: string, organisationId: string): string => `${prefix}/${organisationId}`;

/** Keys from a signer key text (OKR_CHECKPOINT_KEY or a key file's content), and the earlier keys still accepted. */
export function checkpointKeysFrom(
  signerKey: string,
  options: { originPrefix?: string | null; source: string; previousKeys?: readonly string[] },
): CheckpointKeys {
  let signer;
  try {
    signer = signerFromKey(signerKey.trim());
  } catch (error) {
    if (error instanceof NoteFormatError) {
      throw new CheckpointKeyError(`${options.source} is not a checkpoint signing key (${error.message}); make one with \`npm run okr -- keys generate\`.`);
    }
    throw error;
  }
  const prefix = options.originPrefix?.trim() || signer.name;
  const verifier = verifierFromKey(signer.verifierKey);
  const previous = (options.previousKeys ?? []).map((key) => {
    try {
      return verifierFromKey(key);
    } catch (error) {
      throw new CheckpointKeyError(`OKR_CHECKPOINT_PREVIOUS_KEYS holds "${key}", which is not a public key (${(error as Error).message}).`);
    }
  });
  return {
    signing: { signer, verifiers: [verifier, ...previous], originOf: (organisationId) => originOf(prefix, organisationId) },
    verifier,
    verifierKey: signer.verifierKey,
    source: options.source,
  };
}

/** A key that lives as long as the process: for tests and tools that sign nothing anyone keeps. */
export function ephemeralCheckpointKeys(name = LOCAL_KEY_NAME): CheckpointKeys {
  return checkpointKeysFrom(generateSignerKey(name).signerKey, { source: 'a key made for this process only' });
}

export interface KeySettings {
  checkpointKey: string | null;
  checkpointKeyFile: string | null;
  /** Public keys of earlier checkpoint keys whose checkpoints stay accepted (verifier form). */
  previousCheckpointKeys: readonly string[];
  logOrigin: string | null;
  production: boolean;
  dataDir: string;
}

/**
 * The deployment's checkpoint key: OKR_CHECKPOINT_KEY, else the file OKR_CHECKPOINT_KEY_FILE names;
 * outside production, else `<data dir>/checkpoint.key`, made on first use (mode 600). Production without
 * a key refuses to start: checkpoints signed by a key nobody kept could never be checked again.
 */
export function loadCheckpointKeys(settings: KeySettings): CheckpointKeys {
  const originPrefix = settings.logOrigin;
  const previousKeys = settings.previousCheckpointKeys;
  if (settings.checkpointKey !== null) return checkpointKeysFrom(settings.checkpointKey, { originPrefix, previousKeys, source: 'OKR_CHECKPOINT_KEY' });
  if (settings.checkpointKeyFile !== null) {
    let text: string;
    try {
      text = readFileSync(settings.checkpointKeyFile, 'utf8');
    } catch (error) {
      throw new CheckpointKeyError(`OKR_CHECKPOINT_KEY_FILE ${settings.checkpointKeyFile} cannot be read: ${(error as Error).message}`);
    }
    return checkpointKeysFrom(text, { originPrefix, previousKeys, source: settings.checkpointKeyFile });
  }
  if (settings.production) {
    throw new CheckpointKeyError(
      'OKR_ENV=production needs the checkpoint signing key: set OKR_CHECKPOINT_KEY or OKR_CHECKPOINT_KEY_FILE (make one with `npm run okr -- keys generate --name <your deployment>`).',
    );
  }
  const file = path.join(settings.dataDir, 'checkpoint.key');
  if (!existsSync(file)) {
    mkdirSync(settings.dataDir, { recursive: true });
    try {
      writeFileSync(file, `${generateSignerKey(LOCAL_KEY_NAME).signerKey}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    } catch (error) {
      // Another process (the server, the command line) made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return checkpointKeysFrom(readFileSync(file, 'utf8'), { originPrefix, previousKeys, source: file });
}
