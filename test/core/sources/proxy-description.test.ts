/**
 * proxy-description.ts: the proxy's description of a forwarded certificate (DN, serial,
 * fingerprints) compared with the certificate. The DN strings below are what OpenSSL's
 * XN_FLAG_RFC2253 writes for these certificates (nginx `$ssl_client_s_dn`, checked against real
 * nginx in test/interop/description-headers.test.ts); every unreadable value must fail closed.
 */
import { expect } from 'chai';
import type { ClientCertificate } from '../../../packages/core/src/model.js';
import type { DescriptionField, ForwardedDescription } from '../../../packages/core/src/sources/headers.js';
import {
  descriptionDiffersMessage,
  descriptionMismatch,
  descriptionUnreadableMessage,
  xfccIssuerMatches,
  xfccSubjectMatches,
} from '../../../packages/core/src/sources/proxy-description.js';
import { parseXfcc } from '../../../packages/core/src/sources/xfcc.js';
import { createCA, type JsonName, type TestCA } from '../../../packages/core/src/testkit/index.js';
import { parseCertificate, parseDistinguishedName } from '../../../packages/core/src/x509/certificate.js';

const UID = '0.9.2342.19200300.100.1.1';
const DC = '0.9.2342.19200300.100.1.25';
const SENTINEL = 'SeNtInEl';

/** A root whose own name is exotic: a multi-valued RDN, a BMPString, an escaped comma, non-ASCII. */
const ROOT_NAME: JsonName = [
  { CN: [{ utf8String: 'Zürich Root, Ltd.' }] },
  { O: [{ bmpString: 'Ωmega' }], OU: [{ utf8String: 'ops' }] },
];
/** OpenSSL's rendering of ROOT_NAME: most specific RDN first, a multi-valued RDN in reverse order. */
const ROOT_DN = 'OU=ops+O=\\CE\\A9mega,CN=Z\\C3\\BCrich Root\\, Ltd.';

interface Case {
  title: string;
  subject: JsonName;
  /** OpenSSL's RFC 2253 rendering of `subject`. */
  dn: string;
}

const CASES: Case[] = [
  {
    title: 'non-ASCII UTF-8 (\\XX escapes)',
    subject: [{ CN: [{ utf8String: 'José Müller' }] }],
    dn: 'CN=Jos\\C3\\A9 M\\C3\\BCller',
  },
  {
    title: 'RFC 2253 specials , + " \\ ; < > and an unescaped =',
    subject: [{ CN: [{ utf8String: 'a,b+c"d\\e;f<g>h=i' }] }],
    dn: 'CN=a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h=i',
  },
  {
    title: 'a multi-valued RDN and DC components',
    subject: [{ [DC]: ['org'] }, { [DC]: ['example'] }, { CN: ['multi'], [UID]: ['u123'] }],
    dn: 'UID=u123+CN=multi,DC=example,DC=org',
  },
  {
    title: 'emailAddress, a leading "#", leading and trailing spaces',
    subject: [{ E: ['a@b.c'] }, { CN: [{ utf8String: '#hash' }] }, { O: [{ utf8String: ' padded ' }] }],
    dn: 'O=\\ padded\\ ,CN=\\#hash,emailAddress=a@b.c',
  },
  {
    title: 'an unknown OID (#hex DER) and control characters',
    subject: [{ '1.3.6.1.4.1.99999.1': [{ utf8String: 'custom' }] }, { CN: [{ utf8String: 'tab\there\x7fdel' }] }],
    dn: 'CN=tab\\09here\\7Fdel,1.3.6.1.4.1.99999.1=#0C06637573746F6D',
  },
  {
    title: 'OpenSSL names beyond RFC 4514 (street, serialNumber, name, jurisdictionC, organizationIdentifier)',
    subject: [
      { '2.5.4.97': ['NTRUS-123'] },
      { '1.3.6.1.4.1.311.60.2.1.3': ['US'] },
      { '2.5.4.41': ['nm'] },
      { '2.5.4.5': ['SN1'] },
      { '2.5.4.9': ['Main St'] },
    ],
    dn: 'street=Main St,serialNumber=SN1,name=nm,jurisdictionC=US,organizationIdentifier=NTRUS-123',
  },
  {
    title: 'BMPString, UniversalString and a 4-byte UTF-8 character',
    subject: [
      { O: [{ bmpString: 'Ωmega' }] },
      { OU: [{ universalString: 'Ünï' }] },
      { CN: [{ utf8String: 'smile 😀' }] },
    ],
    dn: 'CN=smile \\F0\\9F\\98\\80,OU=\\C3\\9Cn\\C3\\AF,O=\\CE\\A9mega',
  },
];

let root: TestCA;
const certs: ClientCertificate[] = [];
let alice: ClientCertificate;
let bob: ClientCertificate;
let empty: ClientCertificate;
let highSerial: ClientCertificate;

function expectAgrees(cert: ClientCertificate, description: ForwardedDescription): void {
  expect(descriptionMismatch(cert, description)).to.equal(null);
}

function expectDiffers(cert: ClientCertificate, description: ForwardedDescription, field: DescriptionField): void {
  expect(descriptionMismatch(cert, description)).to.equal(descriptionDiffersMessage(field));
}

function expectUnreadable(cert: ClientCertificate, description: ForwardedDescription, field: DescriptionField): void {
  expect(descriptionMismatch(cert, description)).to.equal(descriptionUnreadableMessage(field));
}

/** The header as Node hands it over when the proxy writes UTF-8 bytes: one Latin-1 character per byte. */
const asNodeHeader = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('proxy description', () => {
  before(async () => {
    root = await createCA({ subject: ROOT_NAME });
    for (const c of CASES) certs.push(parseCertificate((await root.issue({ subject: c.subject })).der));
    alice = parseCertificate((await root.issue({ subject: 'CN=alice,O=Acme\\, Inc.,C=US' })).der);
    bob = parseCertificate((await root.issue({ subject: 'CN=bob,O=Acme\\, Inc.,C=US' })).der);
    empty = parseCertificate((await root.issue({ subject: [], san: { dns: ['nameless.example'] } })).der);
    highSerial = parseCertificate((await root.issue({ subject: 'CN=serial', serialNumber: 'A1B2C3' })).der);
  });

  describe('DNs as OpenSSL writes them (RFC 2253)', () => {
    CASES.forEach((c, i) => {
      it(`agrees: ${c.title}`, () => {
        expectAgrees(certs[i]!, { subjectDn: c.dn, issuerDn: ROOT_DN });
      });
    });

    it('the issuer: a multi-valued RDN in either order, but not split into two RDNs', () => {
      expectAgrees(alice, { issuerDn: ROOT_DN });
      expectAgrees(alice, { issuerDn: 'O=\\CE\\A9mega+OU=ops,CN=Z\\C3\\BCrich Root\\, Ltd.' });
      expectDiffers(alice, { issuerDn: 'OU=ops,O=\\CE\\A9mega,CN=Z\\C3\\BCrich Root\\, Ltd.' }, 'issuerDn');
      expectDiffers(alice, { issuerDn: 'O=\\CE\\A9mega+OU=ops+OU=ops,CN=Z\\C3\\BCrich Root\\, Ltd.' }, 'issuerDn');
    });

    it('other spellings of the same name: hex case, hex escapes of ASCII, type aliases and OIDs, #hex of a string', () => {
      const jose = certs[0]!;
      expectAgrees(jose, { subjectDn: 'CN=Jos\\c3\\a9 M\\c3\\bcller' });
      expectAgrees(jose, { subjectDn: 'cn=Jos\\C3\\A9 M\\C3\\BCller' });
      expectAgrees(jose, { subjectDn: 'commonName=Jos\\C3\\A9 M\\C3\\BCller' });
      expectAgrees(jose, { subjectDn: '2.5.4.3=\\4Aos\\C3\\A9 M\\C3\\BCller' });
      expectAgrees(jose, { subjectDn: 'CN=#0C0D4A6F73C3A9204DC3BC6C6C6572' }); // UTF8String "José Müller"
      expectAgrees(alice, { subjectDn: 'CN=alice,O=Acme\\, Inc.,C=US' });
      expectAgrees(alice, { subjectDn: 'CN=alice, O=Acme\\2C Inc., C=US' });
    });

    it('a proxy that writes UTF-8 instead of \\XX escapes (bytes arrive as Latin-1 characters)', () => {
      expectAgrees(certs[0]!, { subjectDn: asNodeHeader('CN=José Müller') });
      expectAgrees(alice, { issuerDn: asNodeHeader('OU=ops+O=Ωmega,CN=Zürich Root\\, Ltd.') });
      expectDiffers(certs[0]!, { subjectDn: asNodeHeader('CN=Jose Müller') }, 'subjectDn');
      // Not UTF-8 as bytes: text a framework (or the test kit's envoyXfcc) decoded already.
      expectAgrees(certs[0]!, { subjectDn: 'CN=Jos\xe9 M\xfcller' });
      expectAgrees(certs[6]!, { subjectDn: 'CN=smile 😀,OU=Ünï,O=Ωmega' });
      expectDiffers(certs[0]!, { subjectDn: 'CN=Jos\xe9 M\xfcllex' }, 'subjectDn');
    });

    it('HAProxy %{+Q}: one pair of quotes around the whole RFC 2253 name', () => {
      expectAgrees(alice, { subjectDn: '"CN=alice,O=Acme\\, Inc.,C=US"' });
      expectAgrees(certs[1]!, { subjectDn: `"${CASES[1]!.dn}"` });
      // HAProxy's default one-line form cannot be compared: refused, not guessed at.
      expectUnreadable(alice, { subjectDn: '"/C=US/O=Acme, Inc./CN=alice"' }, 'subjectDn');
      expectUnreadable(alice, { subjectDn: '/C=US/O=Acme, Inc./CN=alice' }, 'subjectDn');
    });

    it('a non-string value (#hex DER) compares as the model holds it', () => {
      // SEQUENCE { SET { SEQUENCE { OID 1.2.3.4, INTEGER 5 } } }
      const name = parseDistinguishedName(Buffer.from('300c310a300806032a0304020105', 'hex'));
      expect(name.attributes[0]!.value).to.equal('#020105');
      const cert = { subject: name, raw: alice.raw } as unknown as ClientCertificate; // only the subject is compared
      expectAgrees(cert, { subjectDn: '1.2.3.4=#020105' });
      expectDiffers(cert, { subjectDn: '1.2.3.4=#020106' }, 'subjectDn');
      expect(xfccSubjectMatches('1.2.3.4=#020105', cert)).to.equal(true);
      expect(xfccSubjectMatches('1.2.3.4=#020106', cert)).to.equal(false);
    });

    it('work is bounded by the certificate: a DN longer than any rendering of its names differs unparsed', async () => {
      // Parsed, this would be unreadable (the final ";"); its length alone already says it is not the name.
      const huge = `CN=${'a\\C3\\A9'.repeat(9000)};`;
      expect(huge.length).to.be.greaterThan(8 * alice.raw.length + 256);
      expectDiffers(alice, { subjectDn: huge }, 'subjectDn');
      expectDiffers(alice, { issuerDn: huge }, 'issuerDn');
      expect(xfccSubjectMatches(huge, alice)).to.equal(false);
      expectUnreadable(alice, { subjectDn: `CN=${'a'.repeat(2000)};` }, 'subjectDn'); // within the bound: parsed
      // The longest renderings still fit: 64 four-byte characters (\XX four times each) in every attribute.
      const wide = '😀'.repeat(64);
      const cert = parseCertificate(
        (
          await root.issue({
            subject: [{ O: [{ utf8String: wide }] }, { OU: [{ utf8String: wide }], CN: [{ utf8String: wide }] }],
          })
        ).der,
      );
      const escaped = '\\F0\\9F\\98\\80'.repeat(64);
      expectAgrees(cert, { subjectDn: `CN=${escaped}+OU=${escaped},O=${escaped}`, issuerDn: ROOT_DN });
      expect(xfccSubjectMatches(`OU=${escaped}+CN=${escaped},O=${escaped}`, cert)).to.equal(true);
    });

    it('a final lone backslash is an escaped trailing space whose space HTTP trimmed', async () => {
      const cert = parseCertificate(
        (await root.issue({ subject: [{ O: [{ utf8String: 'trailing ' }] }, { CN: ['t'] }] })).der,
      );
      expectAgrees(cert, { subjectDn: 'CN=t,O=trailing\\ ' });
      expectAgrees(cert, { subjectDn: 'CN=t,O=trailing\\' }); // as Node hands it over
      expectDiffers(cert, { subjectDn: 'CN=t,O=trailing' }, 'subjectDn');
      expectDiffers(cert, { subjectDn: 'CN=t,O=trailing\\\\' }, 'subjectDn'); // an escaped backslash
      // Inside XFCC's quotes nothing is trimmed: there a final backslash is the DN's unquoted "\\".
      const backslash = parseCertificate(
        (await root.issue({ subject: [{ O: [{ utf8String: 'trailing\\' }] }, { CN: ['t'] }] })).der,
      );
      expect(xfccSubjectMatches('CN=t,O=trailing\\', backslash)).to.equal(true);
      expect(xfccSubjectMatches('CN=t,O=trailing\\', cert)).to.equal(false);
      expect(xfccSubjectMatches('CN=t,O=trailing\\ ', cert)).to.equal(true);
    });

    it('the empty name: the proxy sent no subject header (DescriptionHeaders.required)', () => {
      expectAgrees(empty, { subjectDn: '' });
      expectDiffers(alice, { subjectDn: '' }, 'subjectDn');
      expectDiffers(empty, { subjectDn: 'CN=alice' }, 'subjectDn');
    });
  });

  describe('the DN of another certificate is refused', () => {
    it('another subject, a prefix or an extension of it, another case, another order', () => {
      expectDiffers(alice, { subjectDn: 'CN=bob,O=Acme\\, Inc.,C=US' }, 'subjectDn');
      expectDiffers(bob, { subjectDn: alice.subject.rfc4514 }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice,O=Acme\\, Inc.' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice,O=Acme\\, Inc.,C=US,DC=extra' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=Alice,O=Acme\\, Inc.,C=US' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'C=US,O=Acme\\, Inc.,CN=alice' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice+O=Acme\\, Inc.,C=US' }, 'subjectDn');
      // An unescaped comma is an RDN boundary, not part of the value.
      expectUnreadable(alice, { subjectDn: 'CN=alice,O=Acme, Inc.,C=US' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice,O=Acme, L=Inc.,C=US' }, 'subjectDn');
      expectDiffers(alice, { subjectDn: 'CN=alice\\,O=Acme\\, Inc.,C=US' }, 'subjectDn');
    });

    it('another issuer', () => {
      expectDiffers(alice, { issuerDn: 'CN=Other Root' }, 'issuerDn');
      expectDiffers(alice, { issuerDn: alice.subject.rfc4514 }, 'issuerDn');
    });
  });

  describe('unreadable DNs fail closed', () => {
    const malformed = [
      'CN',
      'CN=a,',
      'CN=a,,',
      '=a',
      ',CN=a',
      'CN=a+',
      'CN=a\\q',
      'CN=\\zz',
      'CN=#',
      'CN=#0',
      'CN=#zz',
      'CN=#0C03616263 x',
      'NOSUCHTYPE=a',
      'CN=\\C3',
      'CN="unterminated',
      'CN=a;b',
      'CN=a<b',
      'CN=a"b',
      '1.2=a+=b',
      'CN=#0C0361626364',
      ' ',
      `CN=${SENTINEL}\\zz`,
      `${SENTINEL}=x`,
    ];
    for (const value of malformed) {
      it(`refuses ${JSON.stringify(value)}`, () => {
        expectUnreadable(alice, { subjectDn: value }, 'subjectDn');
        expectUnreadable(alice, { issuerDn: value }, 'issuerDn');
      });
    }

    it('messages never echo the header', () => {
      for (const value of malformed) expect(descriptionMismatch(alice, { subjectDn: value })).to.not.include(SENTINEL);
      expect(descriptionMismatch(alice, { subjectDn: `CN=${SENTINEL}` })).to.equal(
        descriptionDiffersMessage('subjectDn'),
      );
    });
  });

  describe('serial numbers', () => {
    it('any case, leading zeros and colons', () => {
      const serial = alice.serialNumber;
      for (const value of [
        serial,
        serial.toLowerCase(),
        `00${serial}`,
        serial.match(/../g)!.join(':'),
        `0:${serial.toLowerCase()}`,
      ]) {
        expectAgrees(alice, { serial: value });
      }
    });

    it('a serial with the high bit set (DER adds a 00 octet; nginx and ALB leave it out or keep it)', () => {
      expect(highSerial.serialNumber.replace(/^0+/, '')).to.equal('A1B2C3');
      for (const value of ['A1B2C3', '00A1B2C3', 'a1:b2:c3', '00:A1:B2:C3'])
        expectAgrees(highSerial, { serial: value });
      expectDiffers(highSerial, { serial: 'A1B2C4' }, 'serial');
      expectDiffers(highSerial, { serial: 'A1B2C300' }, 'serial');
    });

    it("another certificate's serial is refused; a value that is not hex fails closed", () => {
      expectDiffers(alice, { serial: bob.serialNumber }, 'serial');
      for (const value of ['xyz', '-1A', '0x1A', '1A 2B', `${alice.serialNumber}, ${alice.serialNumber}`, ':']) {
        expectUnreadable(alice, { serial: value }, 'serial');
      }
    });
  });

  describe('fingerprints', () => {
    it('SHA-256 and SHA-1 in any case, with or without colons', () => {
      const { sha1, sha256 } = alice.fingerprints;
      expectAgrees(alice, { sha256, sha1 });
      expectAgrees(alice, { sha256: sha256.toUpperCase(), sha1: sha1.toUpperCase() });
      expectAgrees(alice, { sha256: sha256.match(/../g)!.join(':'), sha1: sha1.toUpperCase().match(/../g)!.join(':') });
    });

    it("another certificate's fingerprint is refused; a wrong length or non-hex fails closed", () => {
      expectDiffers(alice, { sha256: bob.fingerprints.sha256 }, 'sha256');
      expectDiffers(alice, { sha1: bob.fingerprints.sha1 }, 'sha1');
      expectUnreadable(alice, { sha256: alice.fingerprints.sha1 }, 'sha256');
      expectUnreadable(alice, { sha1: alice.fingerprints.sha256 }, 'sha1');
      expectUnreadable(alice, { sha256: `${alice.fingerprints.sha256.slice(0, 63)}g` }, 'sha256');
      expectUnreadable(alice, { sha256: Buffer.from(alice.fingerprints.sha256, 'hex').toString('base64') }, 'sha256');
    });
  });

  describe('several fields', () => {
    it('all agree → null; an empty description agrees', () => {
      expectAgrees(alice, {
        subjectDn: 'CN=alice,O=Acme\\, Inc.,C=US',
        issuerDn: ROOT_DN,
        serial: alice.serialNumber,
        sha256: alice.fingerprints.sha256,
        sha1: alice.fingerprints.sha1,
      });
      expectAgrees(alice, {});
    });

    it('one field that disagrees is enough, whichever it is', () => {
      const good: ForwardedDescription = {
        subjectDn: 'CN=alice,O=Acme\\, Inc.,C=US',
        issuerDn: ROOT_DN,
        serial: alice.serialNumber,
        sha256: alice.fingerprints.sha256,
        sha1: alice.fingerprints.sha1,
      };
      const bad: ForwardedDescription = {
        subjectDn: 'CN=bob,O=Acme\\, Inc.,C=US',
        issuerDn: 'CN=Other',
        serial: bob.serialNumber,
        sha256: bob.fingerprints.sha256,
        sha1: bob.fingerprints.sha1,
      };
      for (const field of ['subjectDn', 'issuerDn', 'serial', 'sha256', 'sha1'] as const) {
        expectDiffers(alice, { ...good, [field]: bad[field] }, field);
      }
      // Fingerprints are checked first: the message names the most decisive field.
      expectDiffers(alice, bad, 'sha256');
    });

    it('the messages are fixed text naming the field', () => {
      expect(descriptionDiffersMessage('subjectDn')).to.equal(
        "The proxy's subject DN does not match the forwarded certificate.",
      );
      expect(descriptionUnreadableMessage('issuerDn')).to.equal(
        "The proxy's issuer DN is not an RFC 4514 (RFC 2253) name, so it cannot vouch for the forwarded certificate.",
      );
    });
  });

  describe("xfccSubjectMatches (Envoy's XFCC Subject)", () => {
    /** The Subject as Envoy writes it: OpenSSL's RFC 2253 text inside quotes, unescaped; then parsed back. */
    const viaXfcc = (rfc2253: string): string => parseXfcc(`Hash=00;Subject="${rfc2253}";URI=`)[0]!.subject!;

    CASES.forEach((c, i) => {
      it(`matches its own certificate: ${c.title}`, () => {
        expect(xfccSubjectMatches(viaXfcc(c.dn), certs[i]!)).to.equal(true);
        expect(xfccSubjectMatches(viaXfcc(c.dn), alice)).to.equal(false);
      });
    });

    it('XFCC unquoting loses the DN\'s \\\\ and \\" escapes, and the match still holds', () => {
      const specials = certs[1]!;
      expect(viaXfcc(CASES[1]!.dn)).to.equal('CN=a\\,b\\+c"d\\e\\;f\\<g\\>h=i');
      expect(descriptionMismatch(specials, { subjectDn: viaXfcc(CASES[1]!.dn) })).to.not.equal(null); // no longer RFC 2253
      expect(xfccSubjectMatches(viaXfcc(CASES[1]!.dn), specials)).to.equal(true);
      expect(xfccSubjectMatches(viaXfcc(CASES[1]!.dn.replace('h=i', 'h=j')), specials)).to.equal(false);
    });

    it('a subject made of XFCC delimiters, ending in a backslash', async () => {
      const cert = parseCertificate(
        (await root.issue({ subject: [{ O: ['Acme'] }, { CN: [{ utf8String: 'x";Cert="forged",By=y;z\\' }] }] })).der,
      );
      const dn = 'CN=x\\"\\;Cert=\\"forged\\"\\,By=y\\;z\\\\,O=Acme';
      expect(xfccSubjectMatches(viaXfcc(dn), cert)).to.equal(true);
      expect(xfccSubjectMatches(viaXfcc('CN=x\\"\\;Cert=\\"forged\\"\\,By=y\\;z,O=Acme'), cert)).to.equal(false);
    });

    it('the ambiguity XFCC unquoting leaves: CN "a\\" then O=b, and CN "a,O=b", give one Subject', async () => {
      const trailing = parseCertificate(
        (await root.issue({ subject: [{ O: ['b'] }, { CN: [{ utf8String: 'a\\' }] }] })).der,
      );
      const comma = parseCertificate((await root.issue({ subject: [{ CN: [{ utf8String: 'a,O=b' }] }] })).der);
      expect(viaXfcc('CN=a\\\\,O=b')).to.equal(viaXfcc('CN=a\\,O=b'));
      expect(xfccSubjectMatches(viaXfcc('CN=a\\\\,O=b'), trailing)).to.equal(true);
      expect(xfccSubjectMatches(viaXfcc('CN=a\\,O=b'), comma)).to.equal(true);
      expect(xfccSubjectMatches('CN=a\\,O=c', trailing)).to.equal(false);
    });

    it("xfccIssuerMatches: the Issuer key against the certificate's issuer", () => {
      expect(xfccIssuerMatches(viaXfcc(ROOT_DN), alice)).to.equal(true);
      expect(xfccIssuerMatches(viaXfcc('O=\\CE\\A9mega+OU=ops,CN=Z\\C3\\BCrich Root\\, Ltd.'), alice)).to.equal(true);
      expect(xfccIssuerMatches(viaXfcc(alice.subject.rfc4514), alice)).to.equal(false);
      expect(xfccSubjectMatches(viaXfcc(ROOT_DN), alice)).to.equal(false);
    });

    it("the issuer-style multi-valued RDN in any order; the empty subject; Envoy's old one-line form", () => {
      const multi = certs[2]!;
      expect(xfccSubjectMatches('CN=multi+UID=u123,DC=example,DC=org', multi)).to.equal(true);
      expect(xfccSubjectMatches('UID=u123+CN=multi,DC=example,DC=org', multi)).to.equal(true);
      expect(xfccSubjectMatches('UID=u123,CN=multi,DC=example,DC=org', multi)).to.equal(false);
      expect(xfccSubjectMatches(viaXfcc(''), empty)).to.equal(true);
      expect(xfccSubjectMatches('', alice)).to.equal(false);
      expect(xfccSubjectMatches('/C=US/O=Acme, Inc./CN=alice', alice)).to.equal(false);
      expect(xfccSubjectMatches(undefined as unknown as string, alice)).to.equal(false);
    });
  });
});
