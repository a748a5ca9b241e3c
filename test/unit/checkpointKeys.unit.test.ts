import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSignerKey, openNote, signNote, verifierFromKey } from '../../events/note';
import { CheckpointKeyError, LOCAL_KEY_NAME, loadCheckpointKeys, type KeySettings } from '../../src/checkpointKeys';
import { ConfigError, loadConfig } from '../../src/config';

/**
 * Where the checkpoint key comes from: OKR_CHECKPOINT_KEY, a key file, or (outside production) a key
 * the data directory keeps from first use on; production never signs with a key nobody kept.
 */
const dir = () => mkdtempSync(path.join(tmpdir(), 'okr-keys-'));
const settings = (extra: Partial<KeySettings> = {}): KeySettings => ({
  checkpointKey: null,
  checkpointKeyFile: null,
  previousCheckpointKeys: [],
  logOrigin: null,
  production: false,
  dataDir: dir(),
  ...extra,
});

describe('the checkpoint key', () => {
  it('is made once in the data directory (mode 600) and kept: the same key on every later start', () => {
    const s = settings();
    const first = loadCheckpointKeys(s);
    const file = path.join(s.dataDir, 'checkpoint.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^PRIVATE\+KEY\+okr-ledger\.localhost\+[0-9a-f]{8}\+/);
    expect(loadCheckpointKeys(s).verifierKey).toBe(first.verifierKey);
    expect(first.signing.signer.name).toBe(LOCAL_KEY_NAME);
    expect(first.signing.originOf('acme')).toBe(`${LOCAL_KEY_NAME}/acme`);
  });

  it('comes from OKR_CHECKPOINT_KEY or a key file, signs notes its public key opens, and names origins after OKR_LOG_ORIGIN', () => {
    const { signerKey, verifierKey } = generateSignerKey('okr.example.com');
    const fromEnv = loadCheckpointKeys(settings({ checkpointKey: signerKey, logOrigin: 'ledger.example.com' }));
    expect(fromEnv.verifierKey).toBe(verifierKey);
    expect(fromEnv.signing.originOf('acme')).toBe('ledger.example.com/acme');
    const note = signNote('hello\n', [fromEnv.signing.signer]);
    expect(openNote(note, [verifierFromKey(verifierKey)]).text).toBe('hello\n');
    const file = path.join(dir(), 'key');
    writeFileSync(file, `${signerKey}\n`);
    const fromFile = loadCheckpointKeys(settings({ checkpointKeyFile: file, production: true }));
    expect(fromFile.verifierKey).toBe(verifierKey);
    expect(fromFile.signing.originOf('acme')).toBe('okr.example.com/acme'); // the key's name by default
  });

  it('refuses production without a key, a key that is not one, and a file that cannot be read, each saying what to do', () => {
    expect(() => loadCheckpointKeys(settings({ production: true }))).toThrow(CheckpointKeyError);
    expect(() => loadCheckpointKeys(settings({ production: true }))).toThrow(/keys generate/);
    expect(() => loadCheckpointKeys(settings({ checkpointKey: 'not a key' }))).toThrow(/OKR_CHECKPOINT_KEY is not a checkpoint signing key.*keys generate/);
    expect(() => loadCheckpointKeys(settings({ checkpointKeyFile: path.join(dir(), 'missing') }))).toThrow(/cannot be read/);
    // A public key is not a signing key.
    expect(() => loadCheckpointKeys(settings({ checkpointKey: generateSignerKey('x').verifierKey }))).toThrow(CheckpointKeyError);
  });
});

describe('the checkpoint settings', () => {
  it('are read from the environment, the file path resolved', () => {
    const config = loadConfig({ OKR_CHECKPOINT_KEY_FILE: 'keys/checkpoint.key', OKR_LOG_ORIGIN: 'okr.example.com' });
    expect(config.checkpointKeyFile).toBe(path.resolve('keys/checkpoint.key'));
    expect(config.logOrigin).toBe('okr.example.com');
    expect(loadConfig({}).checkpointKey).toBeNull();
  });

  it('refuse both a key and a key file, and an origin with spaces or a trailing slash', () => {
    expect(() => loadConfig({ OKR_CHECKPOINT_KEY: 'a', OKR_CHECKPOINT_KEY_FILE: 'b' })).toThrow(ConfigError);
    expect(() => loadConfig({ OKR_LOG_ORIGIN: 'okr example' })).toThrow(/OKR_LOG_ORIGIN/);
    expect(() => loadConfig({ OKR_LOG_ORIGIN: 'okr.example.com/' })).toThrow(/OKR_LOG_ORIGIN/);
  });
});
