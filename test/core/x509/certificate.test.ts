import { createHash, KeyObject, sign, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import {
  createCA,
  type RawExtension,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { derTlv } from '../../../packages/core/src/testkit/shared.js';
import {
  derToPem,
  escapeRfc4514Value,
  formatIpAddress,
  parseCertificate,
  parseCertificateChain,
  parseDistinguishedName,
  pemToDer,
  recordOf,
  splitCertificates,
} from '../../../packages/core/src/x509/certificate.js';
import { DerCursor, decodeOid, readTlv, Tag } from '../../../packages/core/src/x509/der.js';
import { readValidityWindow } from '../../../packages/core/src/x509/time.js';
import { expectClientCertError } from '../../helpers/errors.js';

function expectMalformed(fn: () => unknown): void {
  expectClientCertError(fn, 'certificate_malformed');
}

const utf8 = (s: string): { utf8String: string } => ({ utf8String: s });

const tlvOf = (tag: number, hex: string): Buffer => derTlv(tag, Buffer.from(hex, 'hex'));

/** `der` with TBSCertificate field `index` replaced by `field`, signed again by `issuer` (same algorithm). */
function resigned(der: Buffer, issuer: TestCertificate, index: number, field: Buffer): Buffer {
  const outer = DerCursor.inside(der, readTlv(der, 0, der.length));
  const tbs = DerCursor.inside(der, outer.expect(Tag.SEQUENCE, 'tbs'));
  const algorithm = outer.next('algorithm');
  const fields: Buffer[] = [];
  for (let i = 0; !tbs.done; i++) {
    const next = tbs.next('field');
    fields.push(i === index ? field : der.subarray(next.start, next.end));
  }
  const newTbs = derTlv(0x30, ...fields);
  const signature = sign('sha256', newTbs, { key: KeyObject.from(issuer.keys.privateKey), dsaEncoding: 'der' });
  return derTlv(0x30, newTbs, der.subarray(algorithm.start, algorithm.end), derTlv(0x03, Buffer.from([0]), signature));
}

// ---------------------------------------------------------------------------------------------

describe('core/certificate', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let rsaLeaf: TestCertificate;

  before(async () => {
    root = await createCA({ subject: [{ CN: [utf8('Test Root')] }, { O: [utf8('Acme')] }] });
    alice = await root.issue({
      serialNumber: '0a1b2c',
      subject: [{ C: [{ printableString: 'US' }] }, { O: [utf8('Acme, Inc.')] }, { CN: [utf8('alice')] }],
      san: [
        { type: 'dns', value: 'alice.example.com' },
        { type: 'dns', value: 'www.alice.example.com' },
        { type: 'url', value: 'spiffe://example.org/ns/default/sa/alice' },
        { type: 'email', value: 'alice@example.com' },
        { type: 'ip', value: '192.0.2.7' },
        { type: 'ip', value: '2001:db8::1' },
        { type: 'dn', value: 'CN=ignored' },
        { type: 'upn', value: 'alice@corp.example' },
      ],
      eku: ['1.3.6.1.5.5.7.3.2'],
    });
    rsaLeaf = await root.issue({ keyType: 'rsa', subject: [{ CN: [utf8('rsa-client')] }], eku: null });
  });

  describe('parseCertificate', () => {
    it('reads subject and issuer in RFC 4514 form and per attribute', () => {
      const cert = parseCertificate(alice.cert);
      expect(cert.subject.rfc4514).to.equal('CN=alice,O=Acme\\, Inc.,C=US');
      expect(cert.subject.toString()).to.equal(cert.subject.rfc4514);
      expect(cert.issuer.rfc4514).to.equal('O=Acme,CN=Test Root');
      expect(cert.subject.get('cn')).to.equal('alice');
      expect(cert.subject.get('CN')).to.equal('alice');
      expect(cert.subject.get('commonName')).to.equal('alice');
      expect(cert.subject.get('2.5.4.10')).to.equal('Acme, Inc.');
      expect(cert.subject.get('OU')).to.equal(undefined);
      expect(cert.subject.get('noSuchName')).to.equal(undefined);
      expect(cert.subject.getAll('O')).to.deep.equal(['Acme, Inc.']);
      expect(cert.subject.attributes).to.deep.equal([
        { type: 'C', oid: '2.5.4.6', value: 'US' },
        { type: 'O', oid: '2.5.4.10', value: 'Acme, Inc.' },
        { type: 'CN', oid: '2.5.4.3', value: 'alice' },
      ]);
      expect(cert.subject.rdns).to.have.length(3);
    });

    it('reads subjectAltName entries and the SPIFFE ID, ignoring other name kinds', () => {
      const cert = parseCertificate(alice.der);
      expect(cert.san).to.deep.equal({
        dns: ['alice.example.com', 'www.alice.example.com'],
        uri: ['spiffe://example.org/ns/default/sa/alice'],
        email: ['alice@example.com'],
        ip: ['192.0.2.7', '2001:db8::1'],
      });
      expect(cert.spiffeId).to.equal('spiffe://example.org/ns/default/sa/alice');
    });

    it('exposes serial, validity, fingerprints, EKU, CA flag, PEM, DER and Node object', () => {
      const node = new X509Certificate(alice.der);
      const cert = parseCertificate(node);
      expect(cert.serialNumber).to.equal('0A1B2C');
      expect(cert.serialNumber).to.equal(node.serialNumber.toUpperCase());
      expect(cert.notBefore.getTime()).to.equal(alice.notBefore.getTime());
      expect(cert.notAfter.getTime()).to.equal(alice.notAfter.getTime());
      expect(cert.notBefore.getTime() % 1000).to.equal(0);
      expect(cert.fingerprints.sha256).to.equal(node.fingerprint256.split(':').join('').toLowerCase());
      expect(cert.fingerprints.sha1).to.equal(node.fingerprint.split(':').join('').toLowerCase());
      expect(cert.extKeyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
      expect(cert.isCA).to.equal(false);
      expect(parseCertificate(root.cert).isCA).to.equal(true);
      expect(cert.raw.equals(alice.der)).to.equal(true);
      expect(cert.pem).to.equal(derToPem(alice.der));
      expect(cert.pem.startsWith('-----BEGIN CERTIFICATE-----\n')).to.equal(true);
      expect(cert.x509).to.equal(node);
      expect(cert.chain).to.deep.equal([]);
      expect(cert.source).to.equal(null);
      expect(cert.verifiedBy).to.equal(null);
    });

    it('reads from the DER alone what node:crypto reads: serial, EKU, CA flag, validity, key and fingerprints', async () => {
      const certificates: Buffer[] = [
        alice.der,
        rsaLeaf.der,
        root.der,
        (await root.intermediate({ subject: 'CN=no certSign', keyUsage: ['cRLSign'] })).der,
        (await root.intermediate({ subject: 'CN=not a CA', ca: false, keyUsage: null })).der,
        (await root.intermediate({ subject: 'CN=no basicConstraints', ca: null })).der,
        (await root.issue({ subject: 'CN=v1', version: 1 })).der,
        (await root.issue({ subject: 'CN=many purposes', eku: ['serverAuth', 'clientAuth', 'any'] })).der,
      ];
      for (const der of certificates) {
        const node = new X509Certificate(der);
        const cert = parseCertificate(der);
        const record = recordOf(cert);
        expect(
          [cert.serialNumber, cert.extKeyUsage, cert.isCA, cert.notBefore.getTime(), cert.notAfter.getTime()],
          node.subject,
        ).to.deep.equal([
          node.serialNumber.toUpperCase(),
          node.keyUsage ?? [],
          node.ca,
          Date.parse(node.validFrom),
          Date.parse(node.validTo),
        ]);
        expect(record.fingerprint256).to.equal(node.fingerprint256);
        expect(record.publicKey.equals(node.publicKey)).to.equal(true);
        expect(record.digest('spki')).to.deep.equal(
          createHash('sha256')
            .update(node.publicKey.export({ type: 'spki', format: 'der' }))
            .digest(),
        );
        // All of that without Node's object.
        expect(record.hasX509).to.equal(false);
        expect(cert.x509.fingerprint256).to.equal(node.fingerprint256);
        expect(record.hasX509).to.equal(true);
      }
    });

    it('serial numbers print as Node prints them; an INTEGER OpenSSL refuses is refused here too', async () => {
      const printed = async (hex: string): Promise<[string, string]> => {
        const der = resigned((await root.issue({ subject: 'CN=serial' })).der, root, 1, tlvOf(0x02, hex));
        return [parseCertificate(der).serialNumber, new X509Certificate(der).serialNumber.toUpperCase()];
      };
      for (const [hex, expected] of [
        ['00', '0'],
        ['7f', '7F'],
        ['0080', '80'],
        ['ff', '-01'],
        ['80', '-80'],
        ['ff7f', '-81'],
        ['0a0b0c', '0A0B0C'],
        ['0102030405060708091011121314151617181920ff', '0102030405060708091011121314151617181920FF'],
      ]) {
        expect(await printed(hex!), hex).to.deep.equal([expected, expected]);
      }
      for (const hex of ['0001', 'ff80', '']) {
        const der = resigned((await root.issue({ subject: 'CN=serial' })).der, root, 1, tlvOf(0x02, hex));
        expectMalformed(() => parseCertificate(der));
        expect(() => new X509Certificate(der), hex).to.throw();
      }
    });

    it('parses RSA certificates and reports an absent EKU as empty', () => {
      const cert = parseCertificate(Buffer.from(rsaLeaf.cert));
      expect(cert.subject.rfc4514).to.equal('CN=rsa-client');
      expect(cert.extKeyUsage).to.deep.equal([]);
      expect(cert.san).to.deep.equal({ dns: [], uri: [], email: [], ip: [] });
      expect(cert.spiffeId).to.equal(null);
    });

    it('escapes RFC 4514 special characters and keeps non-ASCII text', async () => {
      const leaf = await root.issue({
        subject: [
          { C: [{ printableString: 'JP' }] },
          { O: [utf8('#1 "Best" <Co>; a+b\\c')] },
          { OU: [utf8('trailing ')] },
          { L: [utf8(' leading')] },
          { CN: [utf8('José 日本')] },
        ],
      });
      const cert = parseCertificate(leaf.cert);
      expect(cert.subject.rfc4514).to.equal(
        'CN=José 日本,L=\\ leading,OU=trailing\\ ,O=\\#1 \\"Best\\" \\<Co\\>\\; a\\+b\\\\c,C=JP',
      );
      expect(cert.subject.get('O')).to.equal('#1 "Best" <Co>; a+b\\c');
      expect(cert.subject.get('CN')).to.equal('José 日本');
    });

    it('keeps multi-valued RDNs, DC components and attribute order', async () => {
      const leaf = await root.issue({
        subject: [
          { DC: [{ ia5String: 'com' }] },
          { DC: [{ ia5String: 'example' }] },
          { CN: [utf8('a')], '0.9.2342.19200300.100.1.1': [utf8('b')] },
        ],
      });
      const cert = parseCertificate(leaf.cert);
      expect(cert.subject.rfc4514).to.equal('CN=a+UID=b,DC=example,DC=com');
      expect(cert.subject.rdns.map((rdn) => rdn.map((a) => a.type))).to.deep.equal([['DC'], ['DC'], ['CN', 'UID']]);
      expect(cert.subject.getAll('dc')).to.deep.equal(['com', 'example']);
      expect(cert.subject.getAll('DomainComponent')).to.deep.equal(['com', 'example']);
      expect(cert.subject.get('uid')).to.equal('b');
    });

    it('writes types outside the RFC 4514 table as OID=#hex but gives friendly access', async () => {
      const leaf = await root.issue({
        subject: [
          { '1.2.840.113549.1.9.1': [{ ia5String: 'a@b.c' }] },
          { '2.5.4.5': [{ printableString: '42' }] },
          { '2.5.4.4': [utf8('Smith')] },
          { '1.2.3.4': [utf8('x')] },
          { CN: [utf8('bob')] },
        ],
      });
      const cert = parseCertificate(leaf.cert);
      expect(cert.subject.rfc4514).to.equal(
        'CN=bob,1.2.3.4=#0c0178,2.5.4.4=#0c05536d697468,2.5.4.5=#13023432,1.2.840.113549.1.9.1=#16056140622e63',
      );
      expect(cert.subject.get('emailAddress')).to.equal('a@b.c');
      expect(cert.subject.get('EMAIL')).to.equal('a@b.c');
      expect(cert.subject.get('serialNumber')).to.equal('42');
      expect(cert.subject.get('SN')).to.equal('Smith');
      expect(cert.subject.get('surname')).to.equal('Smith');
      expect(cert.subject.get('1.2.3.4')).to.equal('x');
      expect(cert.subject.attributes.map((a) => a.type)).to.deep.equal([
        'emailAddress',
        'serialNumber',
        'SN',
        '1.2.3.4',
        'CN',
      ]);
    });

    it('decodes every string type used in names and hex-encodes non-string values', async () => {
      const leaf = await root.issue({
        subject: [
          { CN: ['#1404636166e9'] }, // TeletexString, read as latin1
          { CN: ['#12083132333420353637'] }, // NumericString
          { CN: [{ bmpString: 'bmp é' }] },
          { CN: [{ universalString: 'uni é' }] },
          { CN: ['#3003020101'] }, // a SEQUENCE: no string form
        ],
      });
      const cert = parseCertificate(leaf.cert);
      expect(cert.subject.getAll('CN')).to.deep.equal(['café', '1234 567', 'bmp é', 'uni é', '#3003020101']);
      expect(cert.subject.rfc4514.split(',')[0]).to.equal('CN=#3003020101');
      // OpenSSL refuses VisibleString in names and the generator cannot write astral
      // UniversalString, so those are checked on a bare Name.
      const len = (n: number): string => n.toString(16).padStart(2, '0');
      const name = (value: string): string => {
        const v = value.length / 2; // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, value } } }
        const der = `30${len(9 + v)}31${len(7 + v)}30${len(5 + v)}0603550403${value}`;
        return parseDistinguishedName(Buffer.from(der, 'hex')).get('CN')!;
      };
      expect(name('1a0376697a')).to.equal('viz');
      expect(name('1c080001f60000000041')).to.equal('😀A');
      expect(name('1e04d83dde00')).to.equal('😀'); // BMPString carrying a surrogate pair
      expectMalformed(() => name('1e02d83d')); // lone surrogate
      expectMalformed(() => name('1c040000d800')); // surrogate code point in UTF-32
      expectMalformed(() => name('1c0400110000')); // beyond U+10FFFF
      expectMalformed(() => name('12016a')); // letter in NumericString
      expectMalformed(() => name('1a0109')); // control character in VisibleString
    });

    it('reads an empty subject', async () => {
      const leaf = await root.issue({ subject: [], san: [{ type: 'dns', value: 'only.example' }] });
      const cert = parseCertificate(leaf.cert);
      expect(cert.subject.rfc4514).to.equal('');
      expect(cert.subject.attributes).to.deep.equal([]);
      expect(cert.san.dns).to.deep.equal(['only.example']);
    });

    it('returns no SPIFFE ID unless exactly one URI SAN has the spiffe scheme', async () => {
      const two = await root.issue({
        subject: 'CN=two',
        san: [
          { type: 'url', value: 'spiffe://a/x' },
          { type: 'url', value: 'spiffe://a/y' },
        ],
      });
      const https = await root.issue({ subject: 'CN=https', san: [{ type: 'url', value: 'https://a/x' }] });
      const upper = await root.issue({ subject: 'CN=upper', san: [{ type: 'url', value: 'SPIFFE://a/x' }] });
      expect(parseCertificate(two.cert).spiffeId).to.equal(null);
      expect(parseCertificate(https.cert).spiffeId).to.equal(null);
      expect(parseCertificate(upper.cert).spiffeId).to.equal('SPIFFE://a/x');
    });

    it('serializes to a plain JSON view', () => {
      const json = JSON.parse(JSON.stringify(parseCertificate(alice.cert))) as Record<string, unknown>;
      expect(json.subject).to.equal('CN=alice,O=Acme\\, Inc.,C=US');
      expect(json.serialNumber).to.equal('0A1B2C');
      expect(json).to.not.have.property('raw');
    });

    it('rejects malformed input with certificate_malformed', () => {
      const der = alice.der;
      expectMalformed(() => parseCertificate(Buffer.alloc(0)));
      expectMalformed(() => parseCertificate(''));
      expectMalformed(() => parseCertificate(Buffer.from('garbage that is not DER')));
      expectMalformed(() => parseCertificate(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])));
      expectMalformed(() => parseCertificate(der.subarray(0, der.length - 1)));
      expectMalformed(() => parseCertificate(der.subarray(0, 100)));
      expectMalformed(() => parseCertificate(Buffer.concat([der, Buffer.from([0x00])])));
      expectMalformed(() => parseCertificate(Buffer.concat([der, der])));
      expectMalformed(() => parseCertificate('-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n'));
      expectMalformed(() => parseCertificate(alice.cert.replace('-----END CERTIFICATE-----', '')));
      expectMalformed(() => parseCertificate(alice.cert + root.cert));
      expectMalformed(() => parseCertificate(alice.cert.trimEnd() + root.cert));
      expectMalformed(() => parseCertificate('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'));
      expectMalformed(() => parseCertificate(123 as unknown as string));
    });

    it('rejects a certificate whose signature bytes are intact but whose DER is inconsistent', () => {
      // Indefinite length on the outer SEQUENCE: BER, not DER.
      const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), alice.der.subarray(4), Buffer.from([0, 0])]);
      expectMalformed(() => parseCertificate(indefinite));
      // A length that claims more than the buffer holds.
      const long = Buffer.from(alice.der);
      long[3] = 0xff;
      expectMalformed(() => parseCertificate(long));
    });
  });

  describe('eager validation', () => {
    const rawSan = (hexValue: string): RawExtension => ({
      oid: '2.5.29.17',
      critical: false,
      value: Buffer.from(hexValue, 'hex'),
    });

    it('rejects at parse time what OpenSSL accepts but the model cannot represent', async () => {
      const cases = [
        rawSan('3005820361e962'), // 8-bit byte in a dNSName (IA5String)
        rawSan('300a87080102030405060708'), // 8-byte iPAddress (only valid in name constraints)
        rawSan('3003820161ff'), // trailing byte inside the extension value
      ];
      for (const extension of cases) {
        const broken = await root.issue({ subject: 'CN=broken', extensions: [extension] });
        expect(() => new X509Certificate(broken.der)).to.not.throw();
        expectMalformed(() => parseCertificate(broken.der));
      }
    });

    it('rejects duplicate extensions', async () => {
      const twice = await root.issue({
        subject: 'CN=twice',
        san: [{ type: 'dns', value: 'a.example' }],
        extensions: [rawSan('3003820162')],
      });
      expectMalformed(() => parseCertificate(twice.der));
    });

    it('accepts GeneralName kinds it does not model without reading them', async () => {
      const odd = await root.issue({ subject: 'CN=odd', extensions: [rawSan('300588032a0304')] }); // registeredID
      expect(parseCertificate(odd.der).san).to.deep.equal({ dns: [], uri: [], email: [], ip: [] });
    });
  });

  describe('PEM helpers and chains', () => {
    it('round-trips PEM and DER and tolerates text around blocks', () => {
      expect(pemToDer(alice.cert).equals(alice.der)).to.equal(true);
      expect(pemToDer(derToPem(alice.der)).equals(alice.der)).to.equal(true);
      // The kit's PEM ends in a newline; without it the words follow the END line directly.
      const noisy = `subject=CN=alice\r\n${alice.cert.trimEnd().split('\n').join('\r\n')}trailing words\n`;
      expect(pemToDer(noisy).equals(alice.der)).to.equal(true);
      const lines = derToPem(alice.der).split('\n');
      expect(lines.slice(1, -2).every((line) => line.length <= 64)).to.equal(true);
    });

    it('splits bundles, DER, concatenated DER and arrays in order', () => {
      const chain = parseCertificateChain(`${alice.cert}\n${root.cert}`);
      expect(chain.map((c) => c.subject.get('CN'))).to.deep.equal(['alice', 'Test Root']);
      expect(parseCertificateChain([alice.der, root.der]).map((c) => c.subject.get('CN'))).to.deep.equal([
        'alice',
        'Test Root',
      ]);
      expect(parseCertificateChain(Buffer.concat([alice.der, root.der]))).to.have.length(2);
      expect(parseCertificateChain([alice.cert, root.cert])).to.have.length(2);
      expect(parseCertificateChain('')).to.deep.equal([]);
      expect(parseCertificateChain([])).to.deep.equal([]);
      const withKey = `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${alice.cert}`;
      expect(splitCertificates(withKey)).to.have.length(1);
      expectMalformed(() => parseCertificateChain('no certificates here'));
      expectMalformed(() => parseCertificateChain(Buffer.concat([alice.der, Buffer.from([0x30])])));
    });
  });

  describe('building blocks', () => {
    it('escapes RFC 4514 values', () => {
      expect(escapeRfc4514Value('')).to.equal('');
      expect(escapeRfc4514Value(' ')).to.equal('\\ ');
      expect(escapeRfc4514Value('#a#')).to.equal('\\#a#');
      expect(escapeRfc4514Value('a\u0000b')).to.equal('a\\00b');
      expect(escapeRfc4514Value('line\nbreak')).to.equal('line\\0abreak');
      expect(escapeRfc4514Value('x=y')).to.equal('x=y');
    });

    it('formats IP addresses per RFC 5952', () => {
      const v6 = (text: string): Uint8Array => {
        const groups = text.split(':').map((g) => parseInt(g, 16));
        return new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
      };
      expect(formatIpAddress(new Uint8Array([10, 0, 0, 1]))).to.equal('10.0.0.1');
      expect(formatIpAddress(v6('2001:0db8:0:0:0:0:0:1'))).to.equal('2001:db8::1');
      expect(formatIpAddress(v6('0:0:0:0:0:0:0:0'))).to.equal('::');
      expect(formatIpAddress(v6('0:0:0:0:0:0:0:1'))).to.equal('::1');
      expect(formatIpAddress(v6('2001:db8:0:1:1:1:1:1'))).to.equal('2001:db8:0:1:1:1:1:1');
      expect(formatIpAddress(v6('2001:0:0:1:0:0:0:1'))).to.equal('2001:0:0:1::1');
      expect(formatIpAddress(v6('2001:db8:0:0:1:0:0:1'))).to.equal('2001:db8::1:0:0:1');
      expect(formatIpAddress(v6('fe80:0:0:0:0:0:0:0'))).to.equal('fe80::');
      expect(formatIpAddress(v6('0:0:0:0:0:ffff:c000:0207'))).to.equal('::ffff:192.0.2.7');
      expectMalformed(() => formatIpAddress(new Uint8Array(5)));
    });

    it('reads validity times from the DER exactly, as UTCTime or GeneralizedTime', () => {
      const time = (tag: number, text: string): Buffer =>
        Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text, 'latin1')]);
      const window = (notBefore: Buffer, notAfter: Buffer) => {
        const body = Buffer.concat([notBefore, notAfter]);
        const der = Buffer.concat([Buffer.from([0x30, body.length]), body]);
        return readValidityWindow(der, readTlv(der, 0, der.length));
      };
      const utc = (text: string) => time(0x17, text);
      const generalized = (text: string) => time(0x18, text);
      expect(window(utc('240105010203Z'), generalized('20240229000000Z'))).to.deep.equal({
        from: Date.UTC(2024, 0, 5, 1, 2, 3),
        until: Date.UTC(2024, 1, 29),
      });
      // RFC 5280 §4.1.2.5: UTCTime years 50-99 are 19xx; 99991231235959Z is "no expiration".
      expect(window(utc('500101000000Z'), generalized('99991231235959Z'))).to.deep.equal({
        from: Date.UTC(1950, 0, 1),
        until: Date.UTC(9999, 11, 31, 23, 59, 59),
      });
      expect(window(utc('490101000000Z'), generalized('20261125023718.25Z')).until).to.equal(
        Date.UTC(2026, 10, 25, 2, 37, 18),
      );
      for (const [notBefore, notAfter] of [
        [utc('240230000000Z'), utc('250101000000Z')], // Feb 30
        [utc('240101240000Z'), utc('250101000000Z')], // hour 24
        [utc('2401010000Z'), utc('250101000000Z')], // no seconds
        [utc('240101000000+0100'), utc('250101000000Z')], // not Z
        [generalized('20240101000000.0Z'), utc('250101000000Z')], // trailing zero in the fraction
        [time(0x13, '240101000000Z'), utc('250101000000Z')], // not a time type
      ] as const) {
        expectMalformed(() => window(notBefore, notAfter));
      }
      expectMalformed(() => window(utc('240101000000Z'), Buffer.alloc(0))); // notAfter missing
    });

    it('decodes OIDs strictly, including large arcs', () => {
      const oid = (bytes: number[]): string => decodeOid(Buffer.from(bytes), 0, bytes.length);
      expect(oid([0x55, 0x04, 0x03])).to.equal('2.5.4.3');
      expect(oid([0x55, 0x04, 0x7f])).to.equal('2.5.4.127');
      expect(oid([0x55, 0x04, 0x81, 0x00])).to.equal('2.5.4.128');
      expect(oid([0x55, 0x1d, 0x11])).to.equal('2.5.29.17');
      expect(oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01])).to.equal('1.2.840.113549.1.9.1');
      expect(oid([0x09, 0x92, 0x26])).to.equal('0.9.2342');
      expect(oid([0x88, 0x37])).to.equal('2.999');
      // 2.25.<2^64>: beyond double precision.
      expect(oid([0x69, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).to.equal(
        '2.25.18446744073709551616',
      );
      expectMalformed(() => oid([]));
      expectMalformed(() => oid([0x55, 0x84]));
      expectMalformed(() => oid([0x55, 0x80, 0x01]));
    });

    it('reads TLVs strictly', () => {
      expect(readTlv(Buffer.from([0x04, 0x81, 0x80, ...new Array(128).fill(0)]), 0, 131).end).to.equal(131);
      expectMalformed(() => readTlv(Buffer.from([0x04, 0x81, 0x05, 0]), 0, 4)); // non-minimal
      expectMalformed(() => readTlv(Buffer.from([0x04, 0x82, 0x00, 0x80]), 0, 4)); // leading zero
      expectMalformed(() => readTlv(Buffer.from([0x04, 0x85, 1, 1, 1, 1, 1]), 0, 7)); // too long
      expectMalformed(() => readTlv(Buffer.from([0x1f, 0x01, 0x00]), 0, 3)); // high tag
      expectMalformed(() => readTlv(Buffer.from([0x04]), 0, 1));
    });

    it('parses a DER Name on its own and rejects bad string contents', () => {
      // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "a" } } }
      const name = Buffer.from('300c310a300806035504030c0161', 'hex');
      expect(parseDistinguishedName(name).rfc4514).to.equal('CN=a');
      expectMalformed(() => parseDistinguishedName(Buffer.from('300c310a300806035504030c01ff', 'hex'))); // bad UTF-8
      expectMalformed(() => parseDistinguishedName(Buffer.from('300c310a30080603550403130180', 'hex'))); // 8-bit Printable
      expectMalformed(() => parseDistinguishedName(Buffer.from('300c310a300806035504031e0161', 'hex'))); // odd BMP
      expectMalformed(() => parseDistinguishedName(Buffer.from('30023100', 'hex'))); // empty RDN
      expectMalformed(() => parseDistinguishedName(Buffer.from('300e310c300a06035504030c01610500', 'hex'))); // extra field
    });
  });
});
