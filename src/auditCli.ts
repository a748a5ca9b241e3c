import { readFileSync } from 'node:fs';
import { quarterDigest } from '../events/audit';
import { AuditRangeError, TreeInconsistentError } from '../events/errors';
import { generateSignerKey, NoteFormatError } from '../events/note';
import { checkConsistency, checkEventInclusion } from '../events/offline';
import { AuditService } from './audit';
import { LOCAL_KEY_NAME } from './checkpointKeys';
import { EXIT_FAILED, EXIT_OK, UsageError, checkpointKeysOf, configFrom, stringFlag, withDatabase, type CliCommand, type FlagSpec, type Invocation } from './cliSupport';
import { organisationOption } from './config';
import { sqlOf } from './database';
import { quarterExists } from './export';

/*
 * `npm run okr -- audit ...` and `keys generate`: what an auditor runs. Commands that read the log
 * (verify, digest, checkpoint, prove, consistency) use the database as `npm start` finds it; the checks
 * of saved files (check-event, check-consistency) and public-key never connect to any database.
 */

const organisationFlag: FlagSpec = {
  name: 'organisation',
  kind: 'string',
  placeholder: 'id',
  description: 'Organisation whose log to read (default: OKR_ORGANISATION, else "default").',
};

/** A whole number flag (at least `min`), or null when absent. */
function countFlag(invocation: Invocation, name: string, command: CliCommand, min = 1): number | null {
  const raw = stringFlag(invocation, name);
  if (raw === null) return null;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min} (got "${raw}").`, command);
  }
  return value;
}

/** Runs `work` with the audit service of the configured database and key; range errors are refusals (exit 1). */
async function withAudit(invocation: Invocation, work: (audit: AuditService, organisationId: string) => Promise<number>): Promise<number> {
  const config = configFrom(invocation.env);
  const keys = checkpointKeysOf(config);
  const organisationId = organisationOption(stringFlag(invocation, 'organisation'), config.organisationId);
  return withDatabase(config, invocation.io, async (orm) => {
    try {
      return await work(new AuditService(orm, keys, invocation.now), organisationId);
    } catch (error) {
      if (error instanceof AuditRangeError || error instanceof TreeInconsistentError) {
        invocation.io.err(`${error.message}\n`);
        return EXIT_FAILED;
      }
      throw error;
    }
  });
}

/** A file's content, or a usage error naming the flag. */
function fileFlag(invocation: Invocation, name: string, command: CliCommand): string {
  const file = stringFlag(invocation, name);
  if (file === null) throw new UsageError(`--${name} is required.`, command);
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`--${name} ${file} cannot be read: ${(error as Error).message}`, command);
  }
}

/** --public-key: the key itself (name+id+key) or a file holding it. */
function publicKeyFlag(invocation: Invocation, command: CliCommand): string {
  const value = stringFlag(invocation, 'public-key');
  if (value === null) throw new UsageError('--public-key is required: the key itself (from `audit public-key`) or a file holding it.', command);
  if (/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(value.trim())) return value.trim();
  try {
    return readFileSync(value, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`--public-key is neither a key nor a readable file: ${(error as Error).message}`, command);
  }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export const auditVerifyCommand: CliCommand = {
  words: ['audit', 'verify'],
  summary: 'Recompute one organisation\'s Merkle tree and compare it with the stored tree and its signed checkpoints.',
  details: [
    'Begins at the last verified checkpoint (only what was appended since is recomputed) unless --full.',
    'When the log matches, a checkpoint is signed at the size verified. Exit 0 when it matches, 1 when it does not',
    '(the first position that no longer matches is printed).',
  ],
  flags: [organisationFlag, { name: 'full', kind: 'boolean', description: 'Recompute the whole log, from its first event.' }],
  run: (invocation) =>
    withAudit(invocation, async (audit, organisationId) => {
      const result = await audit.verify(organisationId, { full: invocation.flags.get('full') === true });
      invocation.io.out(json(result));
      if (!result.ok) invocation.io.err(`The log of ${organisationId} does not match at position ${result.firstBrokenPosition}: ${result.reason}\n`);
      return result.ok ? EXIT_OK : EXIT_FAILED;
    }),
};

export const auditDigestCommand: CliCommand = {
  words: ['audit', 'digest'],
  summary: 'Print a digest of one quarter\'s events for an auditor to keep and compare later.',
  details: [
    'The digest is SHA-256 over the quarter\'s leaf hashes (the events\' leaves in the organisation\'s Merkle tree),',
    'in log order: it changes if any of the quarter\'s events is changed, removed or added, and only then.',
    'Keep the printed JSON; run it again later and compare. Exit 1 when the organisation has no such quarter.',
  ],
  flags: [
    { name: 'quarter', kind: 'string', placeholder: 'id', description: 'The quarter, e.g. 2027-Q1 (required).', required: true },
    organisationFlag,
  ],
  async run(invocation) {
    const quarterId = stringFlag(invocation, 'quarter');
    if (!quarterId) throw new UsageError('--quarter is required.', auditDigestCommand);
    const config = configFrom(invocation.env);
    const organisationId = organisationOption(stringFlag(invocation, 'organisation'), config.organisationId);
    return withDatabase(config, invocation.io, async (orm) => {
      if (!(await quarterExists(orm, organisationId, quarterId))) {
        invocation.io.err(`Organisation ${organisationId} has no quarter ${quarterId}.\n`);
        return EXIT_FAILED;
      }
      invocation.io.out(json(await quarterDigest(sqlOf(orm.em.fork()), organisationId, quarterId)));
      return EXIT_OK;
    });
  },
};

export const auditCheckpointCommand: CliCommand = {
  words: ['audit', 'checkpoint'],
  summary: 'Sign a checkpoint of the organisation\'s log at its current size and print the signed note.',
  details: [
    'Keep the note byte for byte (e.g. `npm run -s okr -- audit checkpoint > checkpoint.txt`): later events and',
    'checkpoints can be checked against it without the database. When nothing was appended since the latest',
    'checkpoint, that one is printed. Exit 1 while the log is empty.',
  ],
  flags: [organisationFlag],
  run: (invocation) =>
    withAudit(invocation, async (audit, organisationId) => {
      const checkpoint = await audit.record(organisationId);
      if (checkpoint === null) {
        invocation.io.err(`The log of ${organisationId} is empty: there is nothing to sign yet.\n`);
        return EXIT_FAILED;
      }
      invocation.io.out(checkpoint.note);
      return EXIT_OK;
    }),
};

export const auditProveCommand: CliCommand = {
  words: ['audit', 'prove'],
  summary: 'Print the inclusion proof of one event: {"position", "treeSize", "leafHash", "hashes"}.',
  details: ['Hashes in standard base64, in RFC 9162 order (position N is leaf index N-1). --tree-size defaults to the whole log;', 'give the size of the checkpoint you kept.'],
  flags: [
    { name: 'position', kind: 'string', placeholder: 'n', description: 'The event\'s position in the organisation\'s log (required).', required: true },
    { name: 'tree-size', kind: 'string', placeholder: 'm', description: 'The tree size to prove it in (default: the whole log).' },
    organisationFlag,
  ],
  run(invocation) {
    const position = countFlag(invocation, 'position', auditProveCommand);
    if (position === null) throw new UsageError('--position is required.', auditProveCommand);
    const treeSize = countFlag(invocation, 'tree-size', auditProveCommand);
    return withAudit(invocation, async (audit, organisationId) => {
      invocation.io.out(json(await audit.inclusion(organisationId, position, treeSize)));
      return EXIT_OK;
    });
  },
};

export const auditConsistencyCommand: CliCommand = {
  words: ['audit', 'consistency'],
  summary: 'Print the consistency proof between two tree sizes: {"from", "to", "hashes"}.',
  details: ['Hashes in standard base64, in RFC 9162 order. --to defaults to the whole log.'],
  flags: [
    { name: 'from', kind: 'string', placeholder: 'm', description: 'The older tree size, e.g. that of a checkpoint you kept (required).', required: true },
    { name: 'to', kind: 'string', placeholder: 'n', description: 'The newer tree size (default: the whole log).' },
    organisationFlag,
  ],
  run(invocation) {
    const from = countFlag(invocation, 'from', auditConsistencyCommand);
    if (from === null) throw new UsageError('--from is required.', auditConsistencyCommand);
    const to = countFlag(invocation, 'to', auditConsistencyCommand);
    return withAudit(invocation, async (audit, organisationId) => {
      invocation.io.out(json(await audit.consistency(organisationId, from, to)));
      return EXIT_OK;
    });
  },
};

export const auditPublicKeyCommand: CliCommand = {
  words: ['audit', 'public-key'],
  summary: 'Print the public key checkpoints are signed with (signed-note verifier form); no database needed.',
  details: ['The origin of the organisation\'s checkpoints goes to stderr.'],
  flags: [organisationFlag],
  async run(invocation) {
    const config = configFrom(invocation.env);
    const keys = checkpointKeysOf(config);
    const organisationId = organisationOption(stringFlag(invocation, 'organisation'), config.organisationId);
    invocation.io.out(`${keys.verifierKey}\n`);
    invocation.io.err(`Checkpoints of ${organisationId} have the origin "${keys.signing.originOf(organisationId)}" (key from ${keys.source}).\n`);
    return EXIT_OK;
  },
};

const verdictOut = (invocation: Invocation, verdict: { ok: boolean; message: string }): number => {
  (verdict.ok ? invocation.io.out : invocation.io.err)(`${verdict.ok ? 'OK' : 'FAILED'}: ${verdict.message}\n`);
  return verdict.ok ? EXIT_OK : EXIT_FAILED;
};

export const auditCheckEventCommand: CliCommand = {
  words: ['audit', 'check-event'],
  summary: 'Check an exported event against a saved checkpoint with its inclusion proof, without any database.',
  details: [
    'The event line is one line of `npm run okr -- export --format ndjson`; the proof is `audit prove` at the',
    'checkpoint\'s tree size. Exit 0 when they agree, 1 when they do not (the reason is printed). Files may be - (stdin).',
  ],
  flags: [
    { name: 'checkpoint', kind: 'string', placeholder: 'file', description: 'The signed checkpoint you kept (required).', required: true },
    { name: 'public-key', kind: 'string', placeholder: 'key|file', description: 'The public key, or a file holding it (required).', required: true },
    { name: 'event', kind: 'string', placeholder: 'file', description: 'A file holding the exported event line (required).', required: true },
    { name: 'proof', kind: 'string', placeholder: 'file', description: 'The inclusion proof JSON (required).', required: true },
  ],
  async run(invocation) {
    const c = auditCheckEventCommand;
    const input = { checkpoint: fileFlag(invocation, 'checkpoint', c), publicKey: publicKeyFlag(invocation, c), eventLine: fileFlag(invocation, 'event', c), proof: fileFlag(invocation, 'proof', c) };
    return verdictOut(invocation, checkEventInclusion(input));
  },
};

export const auditCheckConsistencyCommand: CliCommand = {
  words: ['audit', 'check-consistency'],
  summary: 'Check that a newer saved checkpoint extends an older one, with a consistency proof, without any database.',
  details: ['The proof is `audit consistency --from <older size> --to <newer size>`. Exit 0 when it holds, 1 when it does not.'],
  flags: [
    { name: 'older', kind: 'string', placeholder: 'file', description: 'The older signed checkpoint (required).', required: true },
    { name: 'newer', kind: 'string', placeholder: 'file', description: 'The newer signed checkpoint (required).', required: true },
    { name: 'public-key', kind: 'string', placeholder: 'key|file', description: 'The public key, or a file holding it (required).', required: true },
    { name: 'proof', kind: 'string', placeholder: 'file', description: 'The consistency proof JSON (required).', required: true },
  ],
  async run(invocation) {
    const c = auditCheckConsistencyCommand;
    const input = { older: fileFlag(invocation, 'older', c), newer: fileFlag(invocation, 'newer', c), publicKey: publicKeyFlag(invocation, c), proof: fileFlag(invocation, 'proof', c) };
    return verdictOut(invocation, checkConsistency(input));
  },
};

export const keysGenerateCommand: CliCommand = {
  words: ['keys', 'generate'],
  summary: 'Make a checkpoint signing key: the private key on stdout, its public key on stderr.',
  details: [
    'Keep the private key secret and give it to the server as OKR_CHECKPOINT_KEY or in OKR_CHECKPOINT_KEY_FILE',
    '(e.g. `npm run -s okr -- keys generate --name okr.example.com > checkpoint.key`). Publish the public key.',
  ],
  flags: [{ name: 'name', kind: 'string', placeholder: 'name', description: `The key's name, e.g. your deployment's host (default ${LOCAL_KEY_NAME}); no spaces or "+".` }],
  async run(invocation) {
    const name = stringFlag(invocation, 'name')?.trim() ?? LOCAL_KEY_NAME;
    try {
      const key = generateSignerKey(name);
      invocation.io.out(`${key.signerKey}\n`);
      invocation.io.err(`public key: ${key.verifierKey}\n`);
      return EXIT_OK;
    } catch (error) {
      if (error instanceof NoteFormatError) throw new UsageError(`--name ${error.message}`, keysGenerateCommand);
      throw error;
    }
  },
};

export const AUDIT_COMMANDS: readonly CliCommand[] = [
  auditVerifyCommand,
  auditDigestCommand,
  auditCheckpointCommand,
  auditProveCommand,
  auditConsistencyCommand,
  auditPublicKeyCommand,
  auditCheckEventCommand,
  auditCheckConsistencyCommand,
  keysGenerateCommand,
];
