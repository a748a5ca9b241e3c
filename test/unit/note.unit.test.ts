import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  NoteFormatError,
  NoteVerificationError,
  formatCheckpoint,
  generateSignerKey,
  keyIdOf,
  openNote,
  parseCheckpoint,
  signNote,
  signerFromKey,
  verifierFromKey,
  type NoteSigner,
} from '../../events/note';

/**
 * events/note.ts against published notes and keys:
 * - golang/mod sumdb/note/note_test.go: the PeterNeumann and EnochRoot keys, the signed note, and
 *   the malformed inputs that must be refused;
 * - C2SP/C2SP signed-note.md and tlog-checkpoint.md: the example note and checkpoint;
 * - a real sum.golang.org checkpoint from transparency-dev/trillian-tessera
 *   internal/parse/parse_test.go (BenchmarkCheckpointUnsafe; the trailing newline the benchmark
 *   drops is restored), checked against the key pinned in golang/go src/cmd/go/internal/modfetch/key.go.
 */

const PETER_SIGNER = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_KEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const SUMDB_KEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const SUMDB_CHECKPOINT =
  'go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n' +
  '\u2014 sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n';

const peter = verifierFromKey(PETER_KEY);
const enoch = verifierFromKey(ENOCH_KEY);
const names = (opened: { signatures: { name: string; keyId: Buffer }[] }) => opened.signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`);

/** Every proper substring and every one-character bump of a key must be refused (as note_test.go checks). */
function manglings(key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= key.length; i++) for (let j = i + 1; j <= key.length; j++) if (i !== 0 || j !== key.length) out.push(key.slice(i, j));
  for (let i = 0; i < key.length; i++) out.push(key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1));
  return out;
}

describe('keys (golang/mod sumdb/note vectors)', () => {
  it('reads the published verifier and signer keys', () => {
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyId.toString('hex')).toBe('c74f20a3');
    const signer = signerFromKey(PETER_SIGNER);
    expect([signer.name, signer.keyId.toString('hex'), signer.verifierKey]).toEqual(['PeterNeumann', 'c74f20a3', PETER_KEY]);
  });

  it('computes key ids as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    for (const key of [PETER_KEY, ENOCH_KEY, SUMDB_KEY]) {
      const [name, id] = key.split('+') as [string, string];
      const pub = Buffer.from(key.slice(name.length + id.length + 2), 'base64').subarray(1);
      expect(keyIdOf(name, pub).toString('hex')).toBe(id);
      const direct = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.of(1), pub])).digest();
      expect(keyIdOf(name, pub)).toEqual(direct.subarray(0, 4));
    }
    expect(() => keyIdOf('PeterNeumann', Buffer.alloc(31))).toThrow(NoteFormatError);
  });

  it.each([
    ['verifier', PETER_KEY, verifierFromKey],
    ['signer', PETER_SIGNER, signerFromKey],
  ] as const)('refuses every mangling of the %s key', (_kind, key, parse) => {
    const accepted = manglings(key).filter((k) => {
      try {
        parse(k);
        return true;
      } catch (e) {
        expect(e).toBeInstanceOf(NoteFormatError);
        return false;
      }
    });
    expect(accepted).toEqual([]);
  });

  it('refuses wrong lengths, unknown algorithms and non-canonical forms', () => {
    for (const bad of [
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==', // wrong length, id adjusted
      'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // unknown algorithm, id adjusted
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // upper-case id
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW', // base64url
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      '',
    ]) {
      expect(() => verifierFromKey(bad)).toThrow(NoteFormatError);
    }
    expect(() => signerFromKey(PETER_KEY)).toThrow(/PRIVATE\+KEY/);
    expect(() => signerFromKey('PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz')).toThrow(/does not match/);
  });
});

describe('generated keys', () => {
  it('round-trip through their texts, in the published formats', () => {
    const { signerKey, verifierKey } = generateSignerKey('example.com/log42');
    expect(verifierKey).toMatch(/^example\.com\/log42\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/log42\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(Buffer.from(verifierKey.split('+')[2] as string, 'base64')[0]).toBe(1);
    const signer = signerFromKey(signerKey);
    const verifier = verifierFromKey(verifierKey);
    expect(signer.verifierKey).toBe(verifierKey);
    expect(signer.keyId).toEqual(verifier.keyId);
    expect(verifierKey.split('+')[1]).toBe(signerKey.split('+')[3]);
    const message = Buffer.from('hi');
    const sig = signer.sign(message);
    expect(verifier.verify(message, sig)).toBe(true);
    expect(verifier.verify(Buffer.from('hj'), sig)).toBe(false);
    expect(verifier.verify(message, Buffer.from(sig.map((b, i) => (i === 0 ? b ^ 1 : b))))).toBe(false);
    expect(verifier.verify(message, sig.subarray(1))).toBe(false);
  });

  it('refuse names that are empty, spaced or contain +', () => {
    for (const name of ['', 'a b', 'a+b', 'tab\there', 'nbsp\u00a0', 'nel\u0085']) {
      expect(() => generateSignerKey(name)).toThrow(NoteFormatError);
    }
  });
});

describe('signing and opening notes', () => {
  it('signs exactly as Go does', () => {
    expect(signNote(TEXT, [signerFromKey(PETER_SIGNER)])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('returns the signatures by known keys and ignores the rest', () => {
    const note = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    const one = openNote(note, [peter]);
    expect(one.text).toBe(TEXT);
    expect(names(one)).toEqual(['PeterNeumann+c74f20a3']);
    expect(names(openNote(note, [enoch, peter]))).toEqual(['PeterNeumann+c74f20a3', 'EnochRoot+af0cfe78']);
    expect(() => openNote(note, [])).toThrow(NoteVerificationError);
    // Same name or same id as a known key, but not both: an unknown key, so ignored.
    expect(() => openNote(`${TEXT}\n${PETER_SIG.replace('PeterNeumann', 'CarmenSandiego')}`, [peter])).toThrow(/no verifiable signatures/);
    expect(() => openNote(`${TEXT}\n${PETER_SIG.replace('x08g', 'xxxx')}`, [peter])).toThrow(/no verifiable signatures/);
  });

  it('reports each verified key once, however often it signed', () => {
    const abcd = ENOCH_SIG.slice(0, 58) + 'ABCD' + ENOCH_SIG.slice(58);
    const opened = openNote(`${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${abcd}`, [peter]);
    expect(names(opened)).toEqual(['PeterNeumann+c74f20a3']);
  });

  it('rejects the whole note when a known key signature is bad', () => {
    const bad = PETER_SIG.slice(0, 58) + 'ABCD' + PETER_SIG.slice(58);
    expect(() => openNote(`${TEXT}\n${bad}`, [peter])).toThrow(/invalid signature for key PeterNeumann\+c74f20a3/);
    expect(() => openNote(`${TEXT}\n${ENOCH_SIG}${bad}`, [peter, enoch])).toThrow(NoteVerificationError);
    const flipped = PETER_SIG.replace('x08go/ZJ', 'x08go/ZK');
    expect(() => openNote(`${TEXT}\n${PETER_SIG}${flipped}`, [peter])).toThrow(NoteVerificationError);
    expect(() => openNote(`${TEXT.replace('answer', 'answers')}\n${PETER_SIG}`, [peter])).toThrow(NoteVerificationError);
  });

  it('refuses an ambiguous key only when it signed', () => {
    expect(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [enoch, peter, enoch])).toThrow(/ambiguous key EnochRoot\+af0cfe78/);
    expect(names(openNote(`${TEXT}\n${PETER_SIG}`, [enoch, peter, enoch]))).toEqual(['PeterNeumann+c74f20a3']);
  });

  it('refuses malformed notes', () => {
    for (const bad of [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\u0001${TEXT}\n${PETER_SIG}`,
      `\ud800${TEXT}\n${PETER_SIG}`,
      `${TEXT.replace('\n', '\r\n')}\n${PETER_SIG}`,
      `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n- PeterNeumann ${PETER_SIG.slice(15)}`,
      `${TEXT}\n\u2014 PeterNeumann AAAA\n`,
      `${TEXT}\n\u2014 PeterNeumann\n`,
      `${TEXT}\n${PETER_SIG.repeat(101)}`,
    ]) {
      expect(() => openNote(bad, [peter])).toThrow(NoteFormatError);
    }
  });

  it('refuses to sign what could not be opened', () => {
    const signer = signerFromKey(PETER_SIGNER);
    expect(() => signNote('abc', [signer])).toThrow(NoteFormatError);
    expect(() => signNote(TEXT, [])).toThrow(NoteFormatError);
    expect(() => signNote(`a\u0007\n`, [signer])).toThrow(NoteFormatError);
    expect(() => signNote(TEXT, [{ ...signer, name: 'a+b' }])).toThrow(NoteFormatError);
    expect(() => signNote(TEXT, [{ ...signer, keyId: Buffer.alloc(3) }])).toThrow(NoteFormatError);
  });

  it('round-trips any text, blank lines included, with several signers', () => {
    const signers: NoteSigner[] = ['a.example/log', 'witness.example/w1'].map((n) => signerFromKey(generateSignerKey(n).signerKey));
    const verifiers = signers.map((s) => verifierFromKey(s.verifierKey));
    const line = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((l) => !/[\u0000-\u001f]/.test(l));
    fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), (lines) => {
      const text = lines.map((l) => `${l}\n`).join('');
      const opened = openNote(signNote(text, signers), verifiers);
      expect(opened.text).toBe(text);
      expect(opened.signatures.map((s) => s.name)).toEqual(['a.example/log', 'witness.example/w1']);
    }), { numRuns: 50 });
  });
});

describe('checkpoints', () => {
  const root = Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64');

  it('parses the C2SP tlog-checkpoint example, whose note is well-formed though its key is unpublished', () => {
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    expect(parseCheckpoint(body)).toEqual({ origin: 'example.com/behind-the-sofa', size: 20852163, root, extensions: [] });
    expect(formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, root })).toBe(body);
    const note = `${body}\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n`;
    expect(() => openNote(note, [peter])).toThrow(NoteVerificationError);
  });

  it('opens the C2SP signed-note example, whose text holds a blank line', () => {
    const note = 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n\n' +
      '\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    expect(() => openNote(note, [])).toThrow(NoteVerificationError);
  });

  it('verifies a real sum.golang.org checkpoint against the Go toolchain key', () => {
    const sumdb = verifierFromKey(SUMDB_KEY);
    const opened = openNote(SUMDB_CHECKPOINT, [peter, sumdb]);
    expect(names(opened)).toEqual(['sum.golang.org+033de0ae']);
    const cp = parseCheckpoint(opened.text);
    expect([cp.origin, cp.size, cp.root.toString('base64')]).toEqual(['go.sum database tree', 31700353, 'qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=']);
    expect(formatCheckpoint(cp)).toBe(opened.text);
    // A witness cosignature by a key we do not know changes nothing; an edited size breaks the log's signature.
    const cosigned = SUMDB_CHECKPOINT + signNote(opened.text, [signerFromKey(generateSignerKey('witness.example').signerKey)]).slice(opened.text.length + 1);
    expect(names(openNote(cosigned, [sumdb]))).toEqual(['sum.golang.org+033de0ae']);
    expect(() => openNote(SUMDB_CHECKPOINT.replace('31700353', '31700354'), [sumdb])).toThrow(/invalid signature/);
  });

  it('takes sizes up to 2^53, as the tree does', () => {
    const text = formatCheckpoint({ origin: 'o', size: 2 ** 53, root });
    expect(parseCheckpoint(text).size).toBe(2 ** 53);
    expect(() => formatCheckpoint({ origin: 'o', size: 2 ** 53 + 2, root })).toThrow(NoteFormatError);
  });

  it('formats and parses extension lines', () => {
    const text = formatCheckpoint({ origin: 'o', size: 0, root, extensions: ['ext one', 'two'] });
    expect(text).toBe(`o\n0\n${root.toString('base64')}\next one\ntwo\n`);
    expect(parseCheckpoint(text).extensions).toEqual(['ext one', 'two']);
  });

  it.each([
    ['leading zero', 'o\n042\nROOT\n'],
    ['negative size', 'o\n-42\nROOT\n'],
    ['plus sign', 'o\n+42\nROOT\n'],
    ['hex size', 'o\n0x10\nROOT\n'],
    ['exponent', 'o\n1e3\nROOT\n'],
    ['spaced size', 'o\n 42\nROOT\n'],
    ['unsafe size', 'o\n9007199254740993\nROOT\n'],
    ['root not base64', 'o\n42\nthisisnotright\n'],
    ['root of 31 bytes', `o\n42\n${Buffer.alloc(31).toString('base64')}\n`],
    ['root of 33 bytes', `o\n42\n${Buffer.alloc(33).toString('base64')}\n`],
    ['base64url root', 'o\n42\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['unpadded root', 'o\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n'],
    ['non-canonical root', 'o\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n'],
    ['missing root', 'o\n42\n'],
    ['missing origin', '42\nROOT\n'],
    ['empty origin', '\n42\nROOT\n'],
    ['no final newline', 'o\n42\nROOT'],
    ['empty extension', 'o\n42\nROOT\n\next\n'],
    ['carriage return', 'o\r\n42\nROOT\n'],
    ['empty', ''],
  ])('refuses a checkpoint with %s', (_why, text) => {
    expect(() => parseCheckpoint(text.replace('ROOT', root.toString('base64')))).toThrow(NoteFormatError);
  });

  it('refuses to format what it could not parse', () => {
    for (const bad of [
      { origin: '', size: 1, root },
      { origin: 'a\nb', size: 1, root },
      { origin: 'o', size: -1, root },
      { origin: 'o', size: 1.5, root },
      { origin: 'o', size: 1, root: Buffer.alloc(31) },
      { origin: 'o', size: 1, root, extensions: [''] },
    ]) {
      expect(() => formatCheckpoint(bad)).toThrow(NoteFormatError);
    }
  });
});
