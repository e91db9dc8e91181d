import { createHash, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { createCA } from '../../../packages/core/src/testkit/index.js';
import { parseCertificate, releaseLayout } from '../../../packages/core/src/x509/certificate.js';
import { derivedKey, factsOf } from '../../../packages/core/src/x509/facts.js';
import { KeyUsageBit } from '../../../packages/core/src/x509/oids.js';
import { expectClientCertError } from '../../helpers/errors.js';

describe('core/x509/facts', () => {
  let der: Buffer;
  let caDer: Buffer;
  before(async () => {
    const ca = await createCA({ subject: 'CN=Facts Root' });
    caDer = ca.der;
    der = (await ca.issue({ subject: 'CN=facts leaf', keyUsage: ['digitalSignature', 'keyAgreement'] })).der;
  });

  it('is one record per certificate object, each value computed once', () => {
    const x509 = new X509Certificate(der);
    const record = factsOf(x509);
    expect(factsOf(x509)).to.equal(record);
    expect(record.path).to.equal(record.path);
    expect(record.extensions).to.equal(record.extensions);
    expect(record.digest('sha256')).to.equal(record.digest('sha256'));
    expect(record.publicKey).to.equal(record.publicKey);
    expect(factsOf(new X509Certificate(der))).to.not.equal(record);
  });

  it('is the record behind a parsed certificate', () => {
    const certificate = parseCertificate(der);
    const record = factsOf(certificate.x509);
    expect(record.subject).to.equal(certificate.subject);
    expect(record.fingerprints).to.equal(certificate.fingerprints);
    expect(record.digest('sha256').toString('hex')).to.equal(certificate.fingerprints.sha256);
  });

  it('keyUsage is a mask where bit n of the BIT STRING is 1 << n, the convention path validation uses', () => {
    const record = factsOf(new X509Certificate(der));
    expect(record.keyUsage).to.equal(KeyUsageBit.digitalSignature | KeyUsageBit.keyAgreement);
    expect(record.keyUsage).to.equal(record.path.keyUsage);
    expect((factsOf(new X509Certificate(caDer)).keyUsage as number) & KeyUsageBit.keyCertSign).to.equal(
      KeyUsageBit.keyCertSign,
    );
  });

  it('digests: of the DER, and SHA-256 of the SubjectPublicKeyInfo as encoded', () => {
    const x509 = new X509Certificate(der);
    const record = factsOf(x509);
    expect(record.digest('sha1').toString('hex').toUpperCase()).to.equal(x509.fingerprint.replaceAll(':', ''));
    expect(record.fingerprint256).to.equal(x509.fingerprint256);
    expect(record.digest('spki')).to.deep.equal(
      createHash('sha256')
        .update(x509.publicKey.export({ type: 'spki', format: 'der' }))
        .digest(),
    );
  });

  it('remembers signature verdicts per issuer record', () => {
    const record = factsOf(new X509Certificate(der));
    const issuer = factsOf(new X509Certificate(caDer));
    expect(record.signatureBy(issuer)).to.equal(undefined);
    record.rememberSignature(issuer, true);
    expect(record.signatureBy(issuer)).to.equal(true);
    expect(record.signatureBy(factsOf(new X509Certificate(caDer)))).to.equal(undefined);
  });

  it('derived values: computed once per key, for the layers above x509', () => {
    const record = factsOf(new X509Certificate(der));
    const SERIAL_LENGTH = derivedKey<number>('serial length');
    let computed = 0;
    const read = (): number =>
      record.derived(SERIAL_LENGTH, (r) => {
        computed++;
        return r.tbs.serialNumber.end - r.tbs.serialNumber.valueStart;
      });
    expect(read()).to.be.greaterThan(0);
    expect(read()).to.equal(read());
    expect(computed).to.equal(1);
  });

  it('keeps the copy of the DER it derives from private', () => {
    const bytes = Buffer.from(der);
    const certificate = parseCertificate(bytes);
    bytes.fill(0);
    expect(factsOf(certificate.x509).der).to.deep.equal(der);
  });

  it('a certificate whose framing breaks fails the same way on every read', () => {
    const x509 = new X509Certificate(der);
    // Node's object is fine; ask the record about different bytes by breaking its copy's framing.
    const record = factsOf(x509);
    record.der[1] = 0x80; // indefinite length: not DER
    let first: unknown;
    try {
      record.tbs;
    } catch (error) {
      first = error;
    }
    expectClientCertError(() => record.tbs, 'certificate_malformed');
    expect(() => record.tbs)
      .to.throw()
      .that.equals(first);
  });

  it('releaseLayout (what a cached decision keeps): every value reads the same after the layout is dropped', async () => {
    const root = await createCA({ subject: 'CN=Release Root' });
    const leaf = await root.issue({
      subject: 'CN=alice,O=Acme',
      san: { dns: ['alice.example'], uri: ['spiffe://example.org/alice'] },
    });
    const read = (cert: ReturnType<typeof parseCertificate>) => {
      const record = factsOf(cert.x509);
      return {
        subject: cert.subject.rfc4514,
        issuer: cert.issuer.rfc4514,
        san: JSON.stringify(cert.san),
        spiffe: cert.spiffeId,
        keyUsage: record.keyUsage,
        path: JSON.stringify(record.path, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
        basicConstraints: record.extension('2.5.29.19')?.critical,
        validity: record.validity,
      };
    };
    const fresh = parseCertificate(leaf.der);
    const released = parseCertificate(leaf.der);
    const before = read(released);
    releaseLayout(released);
    expect(read(released)).to.deep.equal(before);
    // Released before anything was derived: values are read again from the DER, the same.
    const early = parseCertificate(leaf.der);
    releaseLayout(early);
    expect(read(early)).to.deep.equal(read(fresh));
  });
});
