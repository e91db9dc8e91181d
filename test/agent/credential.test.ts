import { createPrivateKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import forge from 'node-forge';
import { type CredentialOptions, loadClientCredential } from '../../packages/agent/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { forgePfx, opensslPfx, tempDir } from './helpers.js';

function loadError(options: CredentialOptions): { code: string; message: string; status: number } {
  try {
    loadClientCredential(options);
  } catch (error) {
    return error as { code: string; message: string; status: number };
  }
  throw new Error('expected the load to fail');
}

describe('agent: loadClientCredential', () => {
  let rsaRoot: TestCA;
  let rsaInter: TestCA;
  let ecRoot: TestCA;
  let rsa: TestCertificate;
  let ec: TestCertificate;
  let other: TestCertificate;
  let expired: TestCertificate;
  const dir = tempDir();

  before(async () => {
    rsaRoot = await createCA({ keyType: 'rsa', subject: 'CN=RSA Root' });
    rsaInter = await rsaRoot.intermediate({ keyType: 'rsa', subject: 'CN=RSA Issuing' });
    rsa = await rsaInter.issue({ keyType: 'rsa', subject: 'CN=rsa-client,O=Acme' });
    ecRoot = await createCA({ subject: 'CN=EC Root' });
    ec = await ecRoot.issue({ subject: 'CN=ec-client,O=Acme' });
    other = await ecRoot.issue({ subject: 'CN=other' });
    expired = await ecRoot.issue({
      subject: 'CN=expired',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    mkdirSync(dir.path, { recursive: true });
  });

  after(() => dir.remove());

  it('loads an RSA PFX made by node-forge (AES-256 and legacy 3DES), with the chain ordered and thumbprints as Azure shows them', () => {
    for (const legacy of [false, true]) {
      const file = join(dir.path, `rsa-${legacy}.pfx`);
      writeFileSync(file, forgePfx(rsa, 's3cret', { legacy }));
      const credential = loadClientCredential({ pfx: file, passphrase: 's3cret' });
      expect(credential.subject).to.equal('CN=rsa-client,O=Acme');
      expect(credential.issuer).to.equal('CN=RSA Issuing');
      expect(credential.keyType).to.equal('rsa');
      expect(credential.chain.map((c) => c.subject.rfc4514)).to.deep.equal(['CN=RSA Issuing']);
      expect(credential.thumbprints.sha1).to.equal(rsa.x509.fingerprint.replace(/:/g, ''));
      expect(credential.thumbprints.sha1).to.match(/^[0-9A-F]{40}$/);
      expect(credential.thumbprints.sha256).to.equal(rsa.sha256);
      expect(credential.notAfter.getTime()).to.equal(rsa.notAfter.getTime());
      expect(credential.files).to.deep.equal([file]);
      const tls = credential.tlsOptions();
      expect(tls.cert).to.equal(rsa.cert + rsaInter.cert);
      expect(createPrivateKey(tls.key).asymmetricKeyType).to.equal('rsa');
    }
  });

  it('loads an EC PFX made by openssl (PBES2/AES-256, SHA-256 MAC) and an RSA one, from a Buffer', () => {
    const credential = loadClientCredential({ pfx: opensslPfx(ec, 'pw'), passphrase: 'pw' });
    expect(credential.subject).to.equal('CN=ec-client,O=Acme');
    expect(credential.keyType).to.equal('ec');
    expect(credential.files).to.deep.equal([]);
    expect(credential.origin).to.equal('the pfx option (PKCS#12 bytes)');
    const rsaCredential = loadClientCredential({ pfx: opensslPfx(rsa, 'pw'), passphrase: 'pw', id: 'backend' });
    expect(rsaCredential.id).to.equal('backend');
    expect(rsaCredential.chain).to.have.length(1);
  });

  it('loads PEM cert + key + chain from files and from text, and an encrypted key with its passphrase', () => {
    writeFileSync(join(dir.path, 'c.pem'), rsa.cert);
    writeFileSync(join(dir.path, 'k.pem'), rsa.key);
    writeFileSync(join(dir.path, 'chain.pem'), rsaInter.cert);
    const fromFiles = loadClientCredential({
      cert: join(dir.path, 'c.pem'),
      key: join(dir.path, 'k.pem'),
      chain: join(dir.path, 'chain.pem'),
    });
    expect(fromFiles.files).to.have.length(3);
    expect(fromFiles.chain).to.have.length(1);
    const fromText = loadClientCredential({ cert: ec.cert, key: ec.key });
    expect(fromText.subject).to.equal('CN=ec-client,O=Acme');
    expect(fromText.chain).to.deep.equal([]);
    const encrypted = createPrivateKey(ec.key).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'kp',
    }) as string;
    expect(loadClientCredential({ cert: ec.cert, key: encrypted, passphrase: 'kp' }).keyType).to.equal('ec');
  });

  it('wrong PFX passphrase → credential_passphrase naming the file (forge and openssl PFX)', () => {
    const file = join(dir.path, 'wrong.pfx');
    for (const bytes of [forgePfx(rsa, 'right'), opensslPfx(ec, 'right')]) {
      writeFileSync(file, bytes);
      const error = loadError({ pfx: file, passphrase: 'wrong' });
      expect(error.code).to.equal('credential_passphrase');
      expect(error.message).to.include(file);
      expect(error.status).to.equal(500);
    }
  });

  it('encrypted PEM key: missing or wrong passphrase → credential_passphrase naming the key file', () => {
    const keyFile = join(dir.path, 'enc.key');
    writeFileSync(
      keyFile,
      createPrivateKey(ec.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'kp' }),
    );
    for (const passphrase of [undefined, 'nope']) {
      const error = loadError({ cert: ec.cert, key: keyFile, ...(passphrase ? { passphrase } : {}) });
      expect(error.code).to.equal('credential_passphrase');
      expect(error.message).to.include(keyFile);
    }
  });

  it('a key that does not match the certificate → credential_key_mismatch naming both files', () => {
    const certFile = join(dir.path, 'mm.crt');
    const keyFile = join(dir.path, 'mm.key');
    writeFileSync(certFile, ec.cert);
    writeFileSync(keyFile, other.key);
    const error = loadError({ cert: certFile, key: keyFile });
    expect(error.code).to.equal('credential_key_mismatch');
    expect(error.message).to.include(certFile).and.include(keyFile);
  });

  it('a PFX whose key matches none of its certificates → credential_key_mismatch', () => {
    const file = join(dir.path, 'mm.pfx');
    // node-forge, unlike openssl, writes a key and a certificate that do not belong together.
    const otherRsaKey = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 }).privateKey;
    const asn1 = forge.pkcs12.toPkcs12Asn1(otherRsaKey, [forge.pki.certificateFromPem(rsa.cert)], 'pw', {
      algorithm: 'aes256',
    });
    writeFileSync(file, Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'));
    const error = loadError({ pfx: file, passphrase: 'pw' });
    expect(error.code).to.equal('credential_key_mismatch');
    expect(error.message).to.include(file);
  });

  it('an expired certificate → credential_expired (unless allowExpired)', () => {
    const file = join(dir.path, 'expired.pfx');
    writeFileSync(file, opensslPfx(expired, 'pw'));
    const error = loadError({ pfx: file, passphrase: 'pw' });
    expect(error.code).to.equal('credential_expired');
    expect(error.message).to.include(file).and.include('CN=expired');
    expect(loadClientCredential({ pfx: file, passphrase: 'pw', allowExpired: true }).subject).to.equal('CN=expired');
    expect(loadError({ cert: expired.cert, key: expired.key }).code).to.equal('credential_expired');
  });

  it('a missing file or a directory → credential_unreadable naming it', () => {
    const missing = join(dir.path, 'nope', 'client.pfx');
    let error = loadError({ pfx: missing, passphrase: 'x' });
    expect(error.code).to.equal('credential_unreadable');
    expect(error.message).to.include(missing).and.include('does not exist');
    error = loadError({ cert: ec.cert, key: join(dir.path, 'missing.key') });
    expect(error.code).to.equal('credential_unreadable');
    expect(error.message).to.include(join(dir.path, 'missing.key'));
    error = loadError({ cert: dir.path, key: ec.key });
    expect(error.code).to.equal('credential_unreadable');
    expect(error.message).to.include('is a directory');
  });

  it('garbage content → credential_malformed naming the file', () => {
    const garbage = join(dir.path, 'garbage.pfx');
    writeFileSync(garbage, 'this is not a PKCS#12 file at all');
    let error = loadError({ pfx: garbage, passphrase: 'x' });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(garbage);
    const garbageCert = join(dir.path, 'garbage.crt');
    writeFileSync(garbageCert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    error = loadError({ cert: garbageCert, key: ec.key });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(garbageCert);
    const garbageKey = join(dir.path, 'garbage.key');
    writeFileSync(garbageKey, 'not a key');
    error = loadError({ cert: ec.cert, key: garbageKey });
    expect(error.code).to.equal('credential_malformed');
    expect(error.message).to.include(garbageKey);
    const empty = join(dir.path, 'empty.crt');
    writeFileSync(empty, '');
    expect(loadError({ cert: empty, key: ec.key }).code).to.equal('credential_malformed');
  });

  it('bad option shapes → invalid_option', () => {
    expect(loadError({ pfx: Buffer.alloc(1), cert: 'x', key: 'y' } as unknown as CredentialOptions).code).to.equal(
      'invalid_option',
    );
    expect(loadError({ cert: ec.cert } as unknown as CredentialOptions).code).to.equal('invalid_option');
  });
});
