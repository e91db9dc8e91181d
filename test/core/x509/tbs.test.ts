import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { createCA } from '../../../packages/core/src/testkit/index.js';
import { parseCertificate } from '../../../packages/core/src/x509/certificate.js';
import { certificateFacts } from '../../../packages/core/src/x509/extensions.js';
import { factsOf } from '../../../packages/core/src/x509/facts.js';
import { readExtensionFrames, readExtensions, readTbs } from '../../../packages/core/src/x509/tbs.js';
import { expectClientCertError } from '../../helpers/errors.js';

/** The DER with the first occurrence of `from` (hex) replaced by `to` (same length). */
function patched(der: Buffer, from: string, to: string): Buffer {
  const at = der.indexOf(Buffer.from(from, 'hex'));
  expect(at, `${from} in the certificate`).to.be.greaterThan(0);
  const copy = Buffer.from(der);
  Buffer.from(to, 'hex').copy(copy, at);
  return copy;
}

describe('core/x509/tbs', () => {
  let der: Buffer;
  before(async () => {
    const ca = await createCA({ subject: 'CN=TBS Root' });
    der = (await ca.issue({ subject: 'CN=tbs leaf', san: { dns: ['leaf.test'] } })).der;
  });

  it('finds every field in one walk', () => {
    const layout = readTbs(der);
    const x509 = new X509Certificate(der);
    expect(
      der.subarray(layout.serialNumber.valueStart, layout.serialNumber.end).toString('hex').toUpperCase(),
    ).to.equal(
      x509.serialNumber.toUpperCase().padStart((layout.serialNumber.end - layout.serialNumber.valueStart) * 2, '0'),
    );
    expect(layout.version).to.not.equal(undefined);
    expect(layout.extensions).to.not.equal(undefined);
    expect(layout.certificate.end).to.equal(der.length);
    expect(der.subarray(layout.subjectPublicKeyInfo.start, layout.subjectPublicKeyInfo.end)).to.deep.equal(
      x509.publicKey.export({ type: 'spki', format: 'der' }),
    );
  });

  it('refuses trailing bytes and a truncated certificate', () => {
    expectClientCertError(() => readTbs(Buffer.concat([der, Buffer.from([0])])), 'certificate_malformed');
    expectClientCertError(() => readTbs(der.subarray(0, der.length - 1)), 'certificate_malformed');
  });

  it('reads extensions at two strictnesses: a non-DER criticality flag is framing for parsing, malformed for path validation', () => {
    // keyUsage, critical: OID 2.5.29.15 then BOOLEAN TRUE; 0x01 is BER "true", not DER.
    const lax = patched(der, '0603551d0f0101ff', '0603551d0f010101');
    const { extensions } = readTbs(lax);
    const frames = readExtensionFrames(lax, extensions!);
    expect(frames.length).to.equal(readExtensionFrames(der, readTbs(der).extensions!).length);
    expectClientCertError(() => readExtensions(lax, extensions!), 'certificate_malformed');
    expect(readExtensions(der, readTbs(der).extensions!).find((e) => e.oid === '2.5.29.15')?.critical).to.equal(true);

    const certificate = parseCertificate(lax); // the model reads the SAN only: still parses
    expect(certificate.san.dns).to.deep.equal(['leaf.test']);
    expect(certificateFacts(certificate.x509).malformed).to.equal('non-DER BOOLEAN');
    expect(factsOf(certificate.x509).keyUsage).to.equal('malformed');
  });

  it('refuses an extension twice at both strictnesses', () => {
    // Rename keyUsage (2.5.29.15) to the subjectAltName OID (2.5.29.17) the leaf already has.
    const twice = patched(der, '0603551d0f', '0603551d11');
    const { extensions } = readTbs(twice);
    expectClientCertError(() => readExtensionFrames(twice, extensions!), 'certificate_malformed');
    expectClientCertError(() => parseCertificate(twice), 'certificate_malformed');
  });

  it('an empty extension list: accepted by default, refused where RFC 5280 SIZE (1..MAX) is asked for', () => {
    const list = Buffer.from('3000', 'hex');
    const tlv = { tag: 0x30, start: 0, valueStart: 2, end: 2 };
    expect(readExtensions(list, tlv, { wrapped: false })).to.deep.equal([]);
    expectClientCertError(
      () => readExtensions(list, tlv, { wrapped: false, allowEmpty: false }),
      'certificate_malformed',
    );
  });
});
