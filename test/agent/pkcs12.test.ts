import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import forge from 'node-forge';
import { request } from 'undici';
import {
  type CredentialOptions,
  createCredentialStore,
  createDispatcher,
  createHttpsAgent,
  loadClientCredential,
} from '../../packages/agent/src/index.js';
import { MAX_ITERATIONS } from '../../packages/agent/src/pkcs12.js';
import { createCA, type KeyPair, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { httpsGet, type MtlsServer, startMtlsServer, tempDir } from './helpers.js';

// PKCS#12 files as the real `openssl` (OpenSSL 3) writes them, for every scheme it writes by default
// or on request, read back by the agent. The passphrase becomes different bytes per scheme: UTF-8
// for PBES2 (PBKDF2 + AES), a BMPString for the MAC and the old PKCS#12 PBE (3DES, RC2).

const ASCII = 's3cret';
const NON_ASCII = 'pässwörd-日本';
const EMPTY = '';
const PASSPHRASES = [ASCII, NON_ASCII, EMPTY];

interface Scheme {
  name: string;
  args: string[];
  /** Needs OpenSSL 3's legacy provider to write (RC2, RC4, 2-key 3DES). */
  legacy?: boolean;
}

const SCHEMES: Scheme[] = [
  { name: 'OpenSSL 3 default: PBES2 AES-256-CBC, PBKDF2-SHA256, MAC SHA-256', args: [] },
  { name: '-legacy (OpenSSL 1.1 default): 3DES key, RC2-40 certificates, MAC SHA-1', args: ['-legacy'], legacy: true },
  { name: 'AES-128-CBC key and certificates', args: ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC'] },
  { name: 'PKCS#12 3DES key, AES-256 certificates', args: ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'AES-256-CBC'] },
  { name: 'AES-256 key, RC2-40 certificates, MAC SHA-1', args: ['-legacy', '-keypbe', 'AES-256-CBC'], legacy: true },
  { name: '-descert: AES-256 key, PKCS#12 3DES certificates', args: ['-descert'] },
  { name: 'PBES2 with 3DES (DES-EDE3-CBC)', args: ['-keypbe', 'DES-EDE3-CBC', '-certpbe', 'DES-EDE3-CBC'] },
  {
    name: 'PBES2 Camellia-256 key, ARIA-128 certificates',
    args: ['-keypbe', 'CAMELLIA-256-CBC', '-certpbe', 'ARIA-128-CBC'],
  },
  {
    name: 'PKCS#12 RC2-128 key, 2-key 3DES certificates',
    args: ['-legacy', '-keypbe', 'PBE-SHA1-RC2-128', '-certpbe', 'PBE-SHA1-2DES'],
    legacy: true,
  },
  { name: 'MAC SHA-512', args: ['-macalg', 'sha512'] },
  { name: 'one iteration (-noiter -nomaciter)', args: ['-noiter', '-nomaciter'] },
  // OpenSSL 3 leaves the certificates unencrypted with -nomac unless -certpbe is given.
  { name: 'no MAC (-nomac): AES-256 key, certificates not encrypted', args: ['-nomac'] },
  {
    name: 'no MAC (-nomac -certpbe AES-256-CBC): AES-256 key and certificates',
    args: ['-nomac', '-certpbe', 'AES-256-CBC'],
  },
  { name: 'no MAC (-nomac -legacy): 3DES key, certificates not encrypted', args: ['-legacy', '-nomac'], legacy: true },
  { name: 'not encrypted (-keypbe NONE -certpbe NONE), MAC SHA-256', args: ['-keypbe', 'NONE', '-certpbe', 'NONE'] },
];

function loadError(options: CredentialOptions): { code: string; message: string } {
  try {
    loadClientCredential(options);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected the load to fail');
}

// ------------------------------------------------------------------ a PKCS#12 assembler, for what
// the openssl CLI cannot write: a PBES2 key with the SHA-1 PRF (OpenSSL 1.0, older tools), a MAC
// over the NULL empty password (PKCS12_create(NULL), Windows), separate MAC and key passwords.
// Every file it makes is also read by `openssl pkcs12` in the tests, as a check on the assembler.

const A = forge.asn1;
const seq = (...value: forge.asn1.Asn1[]) => A.create(A.Class.UNIVERSAL, A.Type.SEQUENCE, true, value);
const oid = (dotted: string) => A.create(A.Class.UNIVERSAL, A.Type.OID, false, A.oidToDer(dotted).getBytes());
const octets = (bytes: Buffer) => A.create(A.Class.UNIVERSAL, A.Type.OCTETSTRING, false, bytes.toString('binary'));
const explicit0 = (value: forge.asn1.Asn1) => A.create(A.Class.CONTEXT_SPECIFIC, 0, true, [value]);
const integer = (n: number) => A.create(A.Class.UNIVERSAL, A.Type.INTEGER, false, A.integerToDer(n).getBytes());
const der = (node: forge.asn1.Asn1) => Buffer.from(A.toDer(node).getBytes(), 'binary');
const fromDer = (bytes: Buffer) => A.fromDer(forge.util.createBuffer(bytes.toString('binary')));
/** The node at a path of child indexes. */
const at = (node: forge.asn1.Asn1, ...path: number[]): forge.asn1.Asn1 =>
  path.reduce((n, i) => (n.value as forge.asn1.Asn1[])[i]!, node);

function safeBag(type: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq(oid(type), explicit0(value));
}
const certBag = (cert: TestCertificate) =>
  safeBag('1.2.840.113549.1.12.10.1.3', seq(oid('1.2.840.113549.1.9.22.1'), explicit0(octets(cert.der))));
const keyBag = (cert: TestCertificate) =>
  safeBag('1.2.840.113549.1.12.10.1.1', fromDer(createPrivateKey(cert.key).export({ type: 'pkcs8', format: 'der' })));
const shroudedKeyBag = (encryptedPkcs8: Buffer) => safeBag('1.2.840.113549.1.12.10.1.2', fromDer(encryptedPkcs8));

/** A PFX with the bags in one unencrypted SafeContents and a SHA-256 MAC over `macPassword` (null: the NULL password). */
function assemblePfx(bags: forge.asn1.Asn1[], macPassword: string | null): Buffer {
  const safeContents = der(seq(...bags));
  const authSafe = der(seq(seq(oid('1.2.840.113549.1.7.1'), explicit0(octets(safeContents)))));
  const salt = randomBytes(8);
  const key = forge.pkcs12.generateKey(
    macPassword,
    forge.util.createBuffer(salt.toString('binary')),
    3,
    2048,
    32,
    forge.md.sha256.create(),
  );
  const mac = createHmac('sha256', Buffer.from(key.getBytes(), 'binary')).update(authSafe).digest();
  const macData = seq(
    seq(seq(oid('2.16.840.1.101.3.4.2.1'), A.create(A.Class.UNIVERSAL, A.Type.NULL, false, '')), octets(mac)),
    octets(salt),
    integer(2048),
  );
  return der(seq(integer(3), seq(oid('1.2.840.113549.1.7.1'), explicit0(octets(authSafe))), macData));
}

/** `openssl pkcs8 -topk8` with the given options: an EncryptedPrivateKeyInfo (DER). */
function opensslPkcs8(cert: TestCertificate, passphrase: string, args: string[]): Buffer {
  return execFileSync('openssl', ['pkcs8', '-topk8', '-outform', 'DER', '-passout', `pass:${passphrase}`, ...args], {
    input: cert.key,
  });
}

/** Whether `openssl pkcs12` itself reads the file with this passphrase (MAC verified, contents decrypted). */
function opensslReads(file: string, passphrase: string): boolean {
  return (
    spawnSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${passphrase}`, '-noout'], { stdio: 'ignore' })
      .status === 0
  );
}

// ------------------------------------------------------------------ damage

/** The file with one byte changed at each of `count` positions spread over it, one file per position. */
function* flips(pfx: Buffer, count: number): Generator<{ at: number; bytes: Buffer }> {
  for (let i = 0; i < count; i++) {
    const at = Math.floor(((i + 0.5) * pfx.length) / count);
    const bytes = Buffer.from(pfx);
    bytes[at] = bytes[at]! ^ 0x5a;
    yield { at, bytes };
  }
}

describe('agent: PKCS#12 files written by openssl, every scheme × key type × passphrase', () => {
  let root: TestCA;
  let issuing: TestCA;
  let serverCert: TestCertificate;
  const leaves: Record<'rsa' | 'ec256' | 'ec384', TestCertificate> = {} as never;
  const dir = tempDir();
  let legacyProvider = true;
  let legacyWhy = '';
  let counter = 0;

  /** `openssl pkcs12 -export` of a test-kit certificate (with its issuing CA) into the temp dir. */
  function opensslPfx(cert: TestCertificate, passphrase: string, args: string[]): string {
    const n = ++counter;
    const certFile = join(dir.path, `${n}.crt`);
    const keyFile = join(dir.path, `${n}.key`);
    const chainFile = join(dir.path, `${n}.chain.crt`);
    const out = join(dir.path, `${n}.pfx`);
    writeFileSync(certFile, cert.cert);
    writeFileSync(keyFile, cert.key);
    writeFileSync(chainFile, cert.chain.join(''));
    execFileSync(
      'openssl',
      [
        'pkcs12',
        '-export',
        '-in',
        certFile,
        '-inkey',
        keyFile,
        ...(cert.chain.length > 0 ? ['-certfile', chainFile] : []),
        '-out',
        out,
        '-passout',
        `pass:${passphrase}`,
        ...args,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return out;
  }

  function needsLegacy(context: Mocha.Context, scheme: { legacy?: boolean }): void {
    if (!scheme.legacy || legacyProvider) return;
    const message = `openssl cannot write -legacy PKCS#12 here (${legacyWhy}): install OpenSSL 3's legacy provider`;
    if (process.env.CI === 'true') throw new Error(message);
    console.log(`      skipped: ${message}`);
    context.skip();
  }

  function expectLoaded(file: string, passphrase: string | undefined, cert: TestCertificate, where: string): void {
    const credential = loadClientCredential({ pfx: file, ...(passphrase === undefined ? {} : { passphrase }) });
    expect(credential.thumbprints.sha256, where).to.equal(cert.sha256);
    expect(credential.subject, where).to.equal(cert.x509.subject.split('\n').reverse().join(','));
    expect(
      credential.chain.map((c) => c.fingerprints.sha256.toLowerCase()),
      where,
    ).to.deep.equal([issuing.sha256]);
    expect(credential.files, where).to.deep.equal([file]);
    const key = createPrivateKey(credential.tlsOptions().key);
    const expected = createPrivateKey(cert.key);
    expect(key.asymmetricKeyType, where).to.equal(expected.asymmetricKeyType);
    expect(key.asymmetricKeyDetails, where).to.deep.equal(expected.asymmetricKeyDetails);
    expect(
      key.export({ type: 'pkcs8', format: 'der' }).equals(expected.export({ type: 'pkcs8', format: 'der' })),
      where,
    ).to.equal(true);
  }

  before(async () => {
    root = await createCA({ subject: 'CN=PFX Root' });
    issuing = await root.intermediate({ subject: 'CN=PFX Issuing' });
    serverCert = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
      'verify',
    ])) as KeyPair;
    leaves.rsa = await issuing.issue({ keyType: 'rsa', subject: 'CN=rsa-client,O=Acme' });
    leaves.ec256 = await issuing.issue({ subject: 'CN=ec256-client,O=Acme' });
    leaves.ec384 = await issuing.issue({ keyPair: p384, subject: 'CN=ec384-client,O=Acme' });
    expect(createPrivateKey(leaves.ec384.key).asymmetricKeyDetails?.namedCurve).to.equal('secp384r1');
    try {
      opensslPfx(leaves.ec256, ASCII, ['-legacy']);
    } catch (error) {
      legacyProvider = false;
      legacyWhy = String((error as { stderr?: Buffer }).stderr ?? error).split('\n')[0]!;
    }
  });

  after(() => dir.remove());

  for (const scheme of SCHEMES) {
    it(`${scheme.name}: RSA, EC P-256 and P-384 load with an ASCII, a non-ASCII and an empty passphrase; a wrong one is credential_passphrase`, function () {
      needsLegacy(this, scheme);
      for (const [keyName, cert] of Object.entries(leaves)) {
        for (const passphrase of PASSPHRASES) {
          const file = opensslPfx(cert, passphrase, scheme.args);
          expectLoaded(file, passphrase, cert, `${keyName} with ${JSON.stringify(passphrase)}`);
          if (passphrase === EMPTY) expectLoaded(file, undefined, cert, `${keyName} with no passphrase option`);
        }
      }
      const encrypted = !scheme.args.includes('NONE');
      for (const [written, given] of [
        [ASCII, 'S3cret'],
        [NON_ASCII, 'passwörd-日本'],
        [ASCII, undefined],
        [EMPTY, ASCII],
      ] as const) {
        const file = opensslPfx(leaves.ec256, written, scheme.args);
        const error = loadError({ pfx: file, ...(given === undefined ? {} : { passphrase: given }) });
        const where = `written with ${JSON.stringify(written)}, given ${JSON.stringify(given)}`;
        expect(error.code, `${where}: ${error.message}`).to.equal('credential_passphrase');
        expect(error.message, where).to.include(file).and.include('set the passphrase option');
        if (given === undefined) expect(error.message, where).to.match(/none was given/);
        else expect(error.message, where).to.include(`wrong passphrase for file "${file}"`);
        // Without a MAC, the encrypted parts are what refuses the passphrase, and the message names them.
        if (scheme.args.includes('-nomac')) expect(error.message, where).to.match(/does not decrypt/);
        else if (encrypted && given !== undefined)
          expect(error.message, where).to.match(/integrity check \(MAC-SHA\d+\) fails with it and .* does not decrypt/);
      }
    });
  }

  it('a passphrase outside the BMP (surrogate pairs in UTF-16) in PBES2 and in PKCS#12 PBE', function () {
    needsLegacy(this, { legacy: true });
    const passphrase = 'clé-🔑-鍵';
    for (const args of [[], ['-legacy']]) {
      expectLoaded(
        opensslPfx(leaves.ec384, passphrase, args),
        passphrase,
        leaves.ec384,
        `${args.join(' ')} ${passphrase}`,
      );
    }
  });

  it('an empty passphrase as a NULL password (no BMP bytes: PKCS12_create(NULL), Windows) as well as "" (00 00: openssl -passout pass:)', () => {
    // What openssl writes for -passout pass: is the two-zero-byte form; the assembler writes the other.
    const nullMac = join(dir.path, 'null-mac.pfx');
    writeFileSync(nullMac, assemblePfx([certBag(leaves.rsa), certBag(issuing), keyBag(leaves.rsa)], null));
    const emptyMac = join(dir.path, 'empty-mac.pfx');
    writeFileSync(emptyMac, assemblePfx([certBag(leaves.rsa), certBag(issuing), keyBag(leaves.rsa)], ''));
    for (const file of [nullMac, emptyMac]) {
      expect(opensslReads(file, ''), `openssl reads ${file}`).to.equal(true);
      expectLoaded(file, '', leaves.rsa, file);
      expectLoaded(file, undefined, leaves.rsa, file);
      expect(loadError({ pfx: file, passphrase: ASCII }).code).to.equal('credential_passphrase');
    }
  });

  it('PBES2 with the SHA-1 PRF (the parameter left out, its default) and a non-ASCII passphrase', () => {
    const file = join(dir.path, 'prf-sha1.pfx');
    const key = opensslPkcs8(leaves.ec256, NON_ASCII, ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1']);
    // The PRF really is left out: the PBKDF2 parameters hold only salt and iteration count.
    const pbkdf2Params = at(fromDer(key), 0, 1, 0, 1);
    expect((pbkdf2Params.value as forge.asn1.Asn1[]).length).to.equal(2);
    writeFileSync(file, assemblePfx([certBag(leaves.ec256), certBag(issuing), shroudedKeyBag(key)], NON_ASCII));
    expect(opensslReads(file, NON_ASCII)).to.equal(true);
    expectLoaded(file, NON_ASCII, leaves.ec256, 'SHA-1 PRF');
    expect(loadError({ pfx: file, passphrase: ASCII }).code).to.equal('credential_passphrase');
  });

  it('separate MAC and key passwords (the shape of openssl -twopass) → the MAC password is credential_passphrase naming -twopass', () => {
    const file = join(dir.path, 'twopass.pfx');
    const key = opensslPkcs8(leaves.ec256, 'key-password', ['-v2', 'aes-256-cbc']);
    writeFileSync(file, assemblePfx([certBag(leaves.ec256), shroudedKeyBag(key)], 'mac-password'));
    let error = loadError({ pfx: file, passphrase: 'mac-password' });
    expect(error.code).to.equal('credential_passphrase');
    expect(error.message)
      .to.include(file)
      .and.include('-twopass')
      .and.include('the private key (PBES2 (PBKDF2-SHA256, AES-256-CBC))');
    // The key password opens the key but fails the MAC: from the file alone that is damage, and the message names -twopass too.
    error = loadError({ pfx: file, passphrase: 'key-password' });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(file).and.include('-twopass');
    expect(loadError({ pfx: file, passphrase: 'neither' }).code).to.equal('credential_passphrase');
  });

  for (const scheme of [SCHEMES[0]!, SCHEMES[1]!, SCHEMES[5]!]) {
    it(`${scheme.name}: every single changed byte and every truncation → credential_malformed naming the file, never a crash or "wrong passphrase"`, function () {
      needsLegacy(this, scheme);
      const file = opensslPfx(leaves.rsa, NON_ASCII, scheme.args);
      const pfx = readFileSync(file);
      const damaged = join(dir.path, 'damaged.pfx');
      let damagedMac = 0;
      for (const { at, bytes } of flips(pfx, 48)) {
        writeFileSync(damaged, bytes);
        const error = loadError({ pfx: damaged, passphrase: NON_ASCII });
        expect(error.code, `byte ${at} of ${pfx.length}: ${error.message}`).to.equal('credential_malformed');
        expect(error.message).to.include(damaged);
        if (/is damaged: its integrity check \(MAC\) fails although the passphrase opens/.test(error.message))
          damagedMac++;
      }
      // Most changes land in encrypted or signed bytes, where only the MAC notices.
      expect(damagedMac).to.be.greaterThan(24);
      for (const length of [0, 1, 2, 10, Math.floor(pfx.length / 2), pfx.length - 1]) {
        writeFileSync(damaged, pfx.subarray(0, length));
        const error = loadError({ pfx: damaged, passphrase: NON_ASCII });
        expect(error.code, `truncated to ${length}`).to.equal('credential_malformed');
        expect(error.message).to.include(damaged).and.include('export or copy it again');
      }
    });
  }

  it('an OID with an arc too large for node-forge (a changed byte seen in the flip test) → credential_malformed, not a thrown Error', () => {
    const pfx = readFileSync(opensslPfx(leaves.rsa, NON_ASCII, SCHEMES[0]!.args));
    // The first pkcs7-data OID (1.2.840.113549.1.7.1), same length, its second arc made 56 bits long.
    const data = Buffer.from('06092a864886f70d010701', 'hex');
    const at = pfx.indexOf(data);
    expect(at).to.be.greaterThan(0);
    const damaged = Buffer.from(pfx);
    Buffer.from('06092affffffffffffff7f', 'hex').copy(damaged, at);
    const file = join(dir.path, 'huge-oid.pfx');
    writeFileSync(file, damaged);
    const error = loadError({ pfx: file, passphrase: NON_ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(file).and.include('OID value too large');
  });

  /** The file with the last ciphertext byte of its shrouded key changed (CBC padding broken), nothing else. */
  function damageKeyCiphertext(file: string): void {
    const pfx = fromDer(readFileSync(file));
    const authSafeHolder = at(pfx, 1, 1, 0);
    const authSafe = fromDer(Buffer.from(authSafeHolder.value as string, 'binary'));
    for (const info of authSafe.value as forge.asn1.Asn1[]) {
      if (A.derToOid(at(info, 0).value as string) !== '1.2.840.113549.1.7.1') continue; // encrypted parts hold certificates
      const safeContentsHolder = at(info, 1, 0);
      const safeContents = fromDer(Buffer.from(safeContentsHolder.value as string, 'binary'));
      for (const bag of safeContents.value as forge.asn1.Asn1[]) {
        if (A.derToOid(at(bag, 0).value as string) !== '1.2.840.113549.1.12.10.1.2') continue;
        const ciphertext = at(bag, 1, 0, 1); // SafeBag → [0] → EncryptedPrivateKeyInfo → encryptedData
        const bytes = Buffer.from(ciphertext.value as string, 'binary');
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x5a;
        ciphertext.value = bytes.toString('binary');
      }
      safeContentsHolder.value = der(safeContents).toString('binary');
    }
    authSafeHolder.value = der(authSafe).toString('binary');
    writeFileSync(file, der(pfx));
  }

  it('no MAC: a damaged key beside certificates that open → credential_malformed; the key as the only encrypted part cannot be told from a wrong passphrase', () => {
    const both = opensslPfx(leaves.rsa, ASCII, ['-nomac', '-certpbe', 'AES-256-CBC']);
    damageKeyCiphertext(both);
    let error = loadError({ pfx: both, passphrase: ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message)
      .to.include(both)
      .and.match(/is damaged: the passphrase opens the certificates .* but not the private key/);
    const keyOnlyEncrypted = opensslPfx(leaves.rsa, ASCII, ['-nomac']);
    damageKeyCiphertext(keyOnlyEncrypted);
    error = loadError({ pfx: keyOnlyEncrypted, passphrase: ASCII });
    expect(error.code).to.equal('credential_passphrase');
    expect(error.message)
      .to.include(keyOnlyEncrypted)
      .and.include('the file has no integrity MAC, so damage would look the same');
  });

  it('a key-only (-nocerts) or certificate-only (-nokeys) file → credential_malformed that says what is missing and how to export it', () => {
    const keyOnly = join(dir.path, 'key-only.pfx');
    const keyFile = join(dir.path, 'key-only.key');
    writeFileSync(keyFile, leaves.ec256.key);
    execFileSync(
      'openssl',
      ['pkcs12', '-export', '-nocerts', '-inkey', keyFile, '-out', keyOnly, '-passout', `pass:${NON_ASCII}`],
      { stdio: 'ignore' },
    );
    let error = loadError({ pfx: keyOnly, passphrase: NON_ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message)
      .to.include(keyOnly)
      .and.include('contains no certificate')
      .and.include('openssl pkcs12 -export -in cert.pem -inkey key.pem');
    const certOnly = opensslPfx(leaves.ec256, NON_ASCII, ['-nokeys']);
    error = loadError({ pfx: certOnly, passphrase: NON_ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message)
      .to.include(certOnly)
      .and.include('contains no private key')
      .and.include('export it with its key');
  });

  it('schemes openssl writes on request that the loader does not read → credential_malformed naming the algorithm and the fix', function () {
    let file = opensslPfx(leaves.ec256, ASCII, ['-macalg', 'sha224']);
    let error = loadError({ pfx: file, passphrase: ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(file).and.include('SHA-224').and.include('-macalg sha256');
    needsLegacy(this, { legacy: true });
    file = opensslPfx(leaves.ec256, ASCII, ['-legacy', '-keypbe', 'PBE-SHA1-RC4-128']);
    for (const passphrase of [ASCII, 'wrong']) {
      error = loadError({ pfx: file, passphrase });
      expect(error.code).to.equal('credential_malformed');
      expect(error.message).to.include(file).and.include('RC4-128').and.include('export it again with AES');
    }
  });

  it(`more than ${MAX_ITERATIONS} iterations (a damaged or hostile file asking for unbounded work) → credential_malformed, without doing the work`, () => {
    const bytes = readFileSync(opensslPfx(leaves.ec256, ASCII, ['-noiter', '-nomaciter']));
    // Rewrite the MAC's iteration count (absent with -nomaciter: 1) to one past the bound.
    const pfx = fromDer(bytes);
    const macData = at(pfx, 2);
    macData.value = [at(macData, 0), at(macData, 1), integer(MAX_ITERATIONS + 1)];
    const file = join(dir.path, 'iterations.pfx');
    writeFileSync(file, der(pfx));
    const error = loadError({ pfx: file, passphrase: ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message)
      .to.include(file)
      .and.include(`asks for ${MAX_ITERATIONS + 1} key-derivation iterations`);
  });

  it('PEM or base64 text given as the pfx → credential_malformed saying what it is and what to do', () => {
    const pem = join(dir.path, 'not.pfx');
    writeFileSync(pem, leaves.ec256.cert + leaves.ec256.key);
    let error = loadError({ pfx: pem, passphrase: ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(pem).and.include('is PEM text').and.include('cert and key options');
    const base64 = join(dir.path, 'base64.pfx');
    writeFileSync(base64, readFileSync(opensslPfx(leaves.ec256, ASCII, [])).toString('base64'));
    error = loadError({ pfx: base64, passphrase: ASCII });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(base64).and.include('is base64 text').and.include("Buffer.from(text, 'base64')");
  });

  describe('end to end: the loaded PFX authenticates to a real server that requires the certificate', () => {
    let server: MtlsServer;

    before(async () => {
      // The server trusts only the root: the intermediate must come out of the PFX.
      server = await startMtlsServer(serverCert, root.cert);
    });

    after(() => server.close());

    it('OpenSSL 3 AES PFX with a non-ASCII passphrase: loadClientCredential + undici, load options + https.Agent', async () => {
      const file = opensslPfx(leaves.ec384, NON_ASCII, []);
      const dispatcher = createDispatcher(loadClientCredential({ pfx: file, passphrase: NON_ASCII }), {
        ca: root.cert,
      });
      const agent = createHttpsAgent({ pfx: file, passphrase: NON_ASCII, watch: false }, { ca: root.cert });
      try {
        const viaUndici = await request(`${server.url}/undici`, { dispatcher });
        expect(viaUndici.statusCode).to.equal(200);
        expect(await viaUndici.body.json()).to.deep.equal({
          subject: 'CN=ec384-client,O=Acme',
          sha256: leaves.ec384.sha256,
          authorized: true,
        });
        const viaHttps = await httpsGet(server.url, agent, '/https');
        expect(viaHttps.status).to.equal(200);
        expect(JSON.parse(viaHttps.body)).to.deep.equal({
          subject: 'CN=ec384-client,O=Acme',
          sha256: leaves.ec384.sha256,
          authorized: true,
        });
      } finally {
        await dispatcher.close();
        agent.destroy();
      }
    });

    it('a credential store directory with an OpenSSL 3 AES PFX and a -legacy PFX, both with a non-ASCII passphrase', async function () {
      needsLegacy(this, { legacy: true });
      const storeDir = tempDir();
      writeFileSync(join(storeDir.path, 'modern.pfx'), readFileSync(opensslPfx(leaves.rsa, NON_ASCII, [])));
      writeFileSync(join(storeDir.path, 'old.p12'), readFileSync(opensslPfx(leaves.ec256, NON_ASCII, ['-legacy'])));
      const store = createCredentialStore({ directory: storeDir.path, passphrase: NON_ASCII, watch: false });
      try {
        for (const [id, cert] of [
          ['modern', leaves.rsa],
          ['old', leaves.ec256],
        ] as const) {
          const dispatcher = createDispatcher({ store, id }, { ca: root.cert });
          try {
            const res = await request(`${server.url}/${id}`, { dispatcher });
            expect(res.statusCode, id).to.equal(200);
            expect(((await res.body.json()) as { sha256: string }).sha256, id).to.equal(cert.sha256);
          } finally {
            await dispatcher.close();
          }
        }
        expect(server.seen.slice(-2).map((s) => s.authorized)).to.deep.equal([true, true]);
      } finally {
        store.close();
        storeDir.remove();
      }
    });

    it('a wrong passphrase fails at load time, before any request (credential_passphrase from createDispatcher)', () => {
      const file = opensslPfx(leaves.ec256, NON_ASCII, []);
      let error: { code?: string; message?: string } = {};
      try {
        createDispatcher({ pfx: file, passphrase: 'pässwörd', watch: false }, { ca: root.cert });
      } catch (caught) {
        error = caught as typeof error;
      }
      expect(error.code).to.equal('credential_passphrase');
      expect(error.message).to.include(file);
    });
  });
});
