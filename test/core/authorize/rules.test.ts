import { createHash, webcrypto } from 'node:crypto';
import { expect } from 'chai';
import {
  compileRules,
  evaluateRules,
  type RuleContext,
  type RuleResult,
  type RulesOption,
} from '../../../packages/core/src/authorize/rules.js';
import type { ClientCertificate } from '../../../packages/core/src/model.js';
import {
  createCA,
  createSelfSigned,
  type JsonName,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { verifyChainSync } from '../../../packages/core/src/trust/path/verify.js';
import { parseCertificate } from '../../../packages/core/src/x509/certificate.js';
import { colonHex } from '../../helpers/encodings.js';
import { optionError } from '../../helpers/errors.js';
import { x509 } from '../../helpers/x509.js';

// @peculiar/x509 builds what RFC 4514 strings given to the test kit cannot spell: multi-valued
// RDNs. It also supplies keyUsage for odd X509-SVIDs.

/** A self-signed leaf whose subject is given in DER order as @peculiar/x509 JSON. */
async function withName(name: JsonName): Promise<ClientCertificate> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: new x509.Name(name),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return parseCertificate(Buffer.from(cert.rawData));
}

const NO_PATH: RuleContext = { chain: [] };
const UID = '0.9.2342.19200300.100.1.1';

/** Evaluates, asserting the synchronous path (no predicate configured, or a synchronous one). */
function evaluate(rules: RulesOption, cert: ClientCertificate, context: RuleContext = NO_PATH): RuleResult {
  const result = evaluateRules(compileRules(rules), cert, context);
  expect(result instanceof Promise, 'synchronous result').to.equal(false);
  return result as RuleResult;
}

function passes(rules: RulesOption, cert: ClientCertificate, context?: RuleContext): boolean {
  return evaluate(rules, cert, context).ok;
}

/** The label of the failure, or 'ok'. */
function failedCheck(rules: RulesOption, cert: ClientCertificate, context?: RuleContext): string {
  const result = evaluate(rules, cert, context);
  return result.ok ? 'ok' : result.failed;
}

describe('rules', () => {
  let root: TestCA;
  let issuing: TestCA;
  let alice: TestCertificate;
  let aliceCert: ClientCertificate;
  let bobCert: ClientCertificate;
  let bareCert: ClientCertificate;
  /** The verified path of alice: alice, issuing CA, root. */
  let aliceContext: RuleContext;

  before(async () => {
    root = await createCA({ subject: 'CN=Contoso Root,O=Contoso,C=US' });
    issuing = await root.intermediate({ subject: 'CN=Contoso Issuing CA,O=Contoso,C=US' });
    alice = await issuing.issue({
      subject: 'CN=alice,OU=Payments,O=Contoso,C=US',
      serialNumber: '00ab12cd34',
      san: {
        dns: ['alice.api.contoso.com', 'Alice.Internal.Contoso.com'],
        uri: ['https://contoso.com/users/alice'],
        email: ['Alice@Contoso.com'],
        ip: ['10.1.2.3', '2001:db8::5'],
      },
    });
    aliceCert = parseCertificate(alice.der);
    bobCert = parseCertificate(
      (
        await issuing.issue({
          subject: 'CN=bob,OU=Ops,O=Contoso,C=US',
          san: {
            dns: ['a.b.api.contoso.com', 'api.contoso.com'],
            uri: ['https://contoso.com/admins/bob'],
            email: ['alice@contoso.com'],
            ip: ['192.168.1.1', '2001:db9::5'],
          },
        })
      ).der,
    );
    bareCert = parseCertificate((await issuing.issue({ subject: 'CN=bare' })).der);
    const verified = verifyChainSync({ leaf: alice.der, intermediates: alice.chain, trustAnchors: root.cert });
    if (!verified.ok) throw new Error(verified.message);
    aliceContext = { chain: verified.chain };
    expect(aliceCert.serialNumber).to.match(/^0*AB12CD34$/);
  });

  describe('distinguished names', () => {
    it('a string is the whole name, compared by RDNs: spacing and attribute type spelling do not matter', () => {
      for (const subject of [
        'CN=alice,OU=Payments,O=Contoso,C=US',
        'CN=alice, OU=Payments, O=Contoso, C=US',
        'cn=alice,ou=Payments,o=Contoso,c=US',
        'commonName=alice,organizationalUnitName=Payments,organizationName=Contoso,countryName=US',
        '2.5.4.3=alice,OID.2.5.4.11=Payments,O = Contoso,C=US',
      ]) {
        expect(passes({ subject }, aliceCert), subject).to.equal(true);
      }
    });

    it('a string must match every RDN, in order, with exact values', () => {
      for (const subject of [
        'C=US,O=Contoso,OU=Payments,CN=alice', // RDN order is part of a DN
        'CN=alice,O=Contoso,C=US', // a subset is not the name
        'CN=alice,OU=Payments,O=Contoso,C=US,DC=com',
        'CN=Alice,OU=Payments,O=Contoso,C=US', // values are case-sensitive
        'CN=alice,OU=Payments,O=Contoso,C=us',
      ]) {
        expect(failedCheck({ subject }, aliceCert), subject).to.equal('subject');
      }
    });

    it('an object is a partial match: listed attributes present, every value allowed', () => {
      expect(passes({ subject: { O: 'Contoso', C: 'US' } }, aliceCert)).to.equal(true);
      expect(passes({ subject: { o: 'Contoso', countryName: 'US' } }, aliceCert)).to.equal(true);
      expect(passes({ subject: { OU: ['Ops', 'Payments'] } }, aliceCert)).to.equal(true);
      expect(passes({ subject: { O: 'Fabrikam' } }, aliceCert)).to.equal(false);
      expect(passes({ subject: { O: 'Contoso', L: 'Redmond' } }, aliceCert)).to.equal(false);
      expect(passes({ subject: { OU: 'payments' } }, aliceCert)).to.equal(false);
    });

    it('a second value of an attribute cannot smuggle a name past an object rule', async () => {
      const twoOrgs = parseCertificate((await issuing.issue({ subject: 'CN=mallory,O=Contoso,O=Evil' })).der);
      expect(twoOrgs.subject.getAll('O')).to.have.members(['Contoso', 'Evil']);
      expect(passes({ subject: { O: 'Contoso' } }, twoOrgs)).to.equal(false);
      expect(passes({ subject: { O: ['Contoso', 'Evil'] } }, twoOrgs)).to.equal(true);
    });

    it('a list is any-of', () => {
      expect(passes({ subject: ['CN=bob,OU=Ops,O=Contoso,C=US', { OU: 'Payments' }] }, aliceCert)).to.equal(true);
      expect(passes({ subject: ['CN=bob,OU=Ops,O=Contoso,C=US', { OU: 'Ops' }] }, aliceCert)).to.equal(false);
    });

    it('escaped and quoted commas', async () => {
      const acme = parseCertificate((await issuing.issue({ subject: 'CN=a,O=Acme\\, Inc.,C=US' })).der);
      expect(acme.subject.get('O')).to.equal('Acme, Inc.');
      for (const subject of ['CN=a,O=Acme\\, Inc.,C=US', 'CN=a, O="Acme, Inc.", C=US', 'CN=a,O=Acme\\2C Inc.,C=US']) {
        expect(passes({ subject }, acme), subject).to.equal(true);
      }
      expect(passes({ subject: { O: 'Acme, Inc.' } }, acme)).to.equal(true);
      expect(passes({ subject: 'CN=a,O=Acme,C=US' }, acme)).to.equal(false);
      expect(passes({ subject: { O: 'Acme' } }, acme)).to.equal(false);
    });

    it('multi-valued RDNs compare as sets, and differ from separate RDNs', async () => {
      const multi = await withName([{ C: ['US'] }, { O: ['Contoso'] }, { CN: ['alice'], [UID]: ['42'] }]);
      expect(multi.subject.rdns.map((rdn) => rdn.length)).to.deep.equal([1, 1, 2]);
      expect(passes({ subject: 'CN=alice+UID=42,O=Contoso,C=US' }, multi)).to.equal(true);
      expect(passes({ subject: 'uid=42 + cn=alice, O=Contoso, C=US' }, multi)).to.equal(true);
      expect(passes({ subject: 'CN=alice,UID=42,O=Contoso,C=US' }, multi)).to.equal(false);
      expect(passes({ subject: 'CN=alice+UID=43,O=Contoso,C=US' }, multi)).to.equal(false);
      expect(passes({ subject: 'CN=alice,O=Contoso,C=US' }, multi)).to.equal(false);
      expect(passes({ subject: { UID: '42', CN: 'alice' } }, multi)).to.equal(true);
    });

    it('the certificate\'s own RFC 4514 string round-trips, including "#hex" values and .NET names', async () => {
      const email = parseCertificate((await issuing.issue({ subject: 'CN=x,E=ops@contoso.com,O=Contoso' })).der);
      expect(email.subject.rfc4514).to.match(/1\.2\.840\.113549\.1\.9\.1=#/);
      const multi = await withName([{ O: ['Contoso'] }, { CN: ['alice'], [UID]: ['42'] }]);
      for (const cert of [aliceCert, bobCert, email, multi]) {
        expect(
          passes({ subject: cert.subject.rfc4514, issuer: cert.issuer.rfc4514 }, cert),
          cert.subject.rfc4514,
        ).to.equal(true);
      }
      expect(passes({ subject: 'CN=x, E=ops@contoso.com, O=Contoso' }, email)).to.equal(true);
      expect(passes({ subject: 'CN=x, E=dev@contoso.com, O=Contoso' }, email)).to.equal(false);
      expect(passes({ subject: { emailAddress: 'ops@contoso.com' } }, email)).to.equal(true);
    });

    it("issuer is checked against the leaf's issuer name", () => {
      expect(passes({ issuer: 'CN=Contoso Issuing CA,O=Contoso,C=US' }, aliceCert)).to.equal(true);
      expect(passes({ issuer: { CN: 'Contoso Issuing CA' } }, aliceCert)).to.equal(true);
      expect(failedCheck({ issuer: 'CN=Contoso Root,O=Contoso,C=US' }, aliceCert)).to.equal('issuer');
    });
  });

  describe('subject alternative names', () => {
    it('dns: exact names, case-insensitive', () => {
      expect(passes({ san: { dns: 'alice.api.contoso.com' } }, aliceCert)).to.equal(true);
      expect(passes({ san: { dns: ['ALICE.API.CONTOSO.COM'] } }, aliceCert)).to.equal(true);
      expect(passes({ san: { dns: ['alice.internal.contoso.com'] } }, aliceCert)).to.equal(true);
      expect(failedCheck({ san: { dns: ['alice.contoso.com'] } }, aliceCert)).to.equal('san.dns');
      expect(failedCheck({ san: { dns: ['alice.api.contoso.com'] } }, bareCert)).to.equal('san.dns');
    });

    it('dns: "*.example.com" matches exactly one left-most label', async () => {
      const rules = { san: { dns: ['*.API.contoso.com'] } };
      expect(passes(rules, aliceCert)).to.equal(true);
      // bob has a.b.api.contoso.com (two labels) and api.contoso.com (none).
      expect(failedCheck(rules, bobCert)).to.equal('san.dns');
      const literal = parseCertificate(
        (await issuing.issue({ san: { dns: ['*.api.contoso.com', '.api.contoso.com'] } })).der,
      );
      expect(passes(rules, literal), 'a wildcard or empty label in the certificate is not a host label').to.equal(
        false,
      );
      expect(passes({ san: { dns: ['*.contoso.com'] } }, aliceCert)).to.equal(false);
    });

    it('uri: exact, or a prefix with a trailing "*"', () => {
      expect(passes({ san: { uri: 'https://contoso.com/users/alice' } }, aliceCert)).to.equal(true);
      expect(passes({ san: { uri: ['https://contoso.com/users/*'] } }, aliceCert)).to.equal(true);
      expect(failedCheck({ san: { uri: ['https://contoso.com/users/*'] } }, bobCert)).to.equal('san.uri');
      expect(passes({ san: { uri: ['https://contoso.com/users'] } }, aliceCert)).to.equal(false);
      expect(passes({ san: { uri: ['https://contoso.com/Users/*'] } }, aliceCert)).to.equal(false);
    });

    it('email: the domain is case-insensitive, the local part is not; "@domain" allows any mailbox there', () => {
      expect(passes({ san: { email: 'Alice@contoso.com' } }, aliceCert)).to.equal(true);
      expect(passes({ san: { email: ['alice@contoso.com'] } }, aliceCert)).to.equal(false);
      expect(passes({ san: { email: ['alice@contoso.com'] } }, bobCert)).to.equal(true);
      expect(passes({ san: { email: ['@CONTOSO.com'] } }, aliceCert)).to.equal(true);
      expect(failedCheck({ san: { email: ['@mail.contoso.com'] } }, aliceCert)).to.equal('san.email');
    });

    it('ip: addresses and CIDR blocks, IPv4 and IPv6', () => {
      for (const ip of [
        '10.0.0.0/8',
        '10.1.2.3',
        '10.1.2.3/32',
        '2001:db8::/32',
        '2001:DB8:0:0::5',
        '2001:db8::4/126',
      ]) {
        expect(passes({ san: { ip } }, aliceCert), ip).to.equal(true);
      }
      for (const ip of ['192.168.0.0/16', '10.1.2.4', '2001:db9::/32', '2001:db8::6/127', '128.0.0.0/1']) {
        expect(failedCheck({ san: { ip: [ip] } }, aliceCert), ip).to.equal('san.ip');
      }
      expect(passes({ san: { ip: ['2001:db9::/32'] } }, bobCert)).to.equal(true);
      expect(failedCheck({ san: { ip: ['10.0.0.0/8'] } }, bareCert)).to.equal('san.ip');
    });

    it('ip: an IPv4-mapped IPv6 block covers the IPv4 address (node:net BlockList semantics)', () => {
      expect(passes({ san: { ip: ['::ffff:10.0.0.0/104'] } }, aliceCert)).to.equal(true);
      expect(passes({ san: { ip: ['::ffff:11.0.0.0/104'] } }, aliceCert)).to.equal(false);
    });

    it('each kind is its own check, reported in order', () => {
      const rules = {
        san: {
          dns: ['*.api.contoso.com'],
          uri: ['https://contoso.com/users/*'],
          email: ['@contoso.com'],
          ip: ['10.0.0.0/8'],
        },
      };
      expect(passes(rules, aliceCert)).to.equal(true);
      expect(failedCheck({ san: { ...rules.san, ip: ['192.168.0.0/16'] } }, aliceCert)).to.equal('san.ip');
      expect(
        failedCheck({ san: { ...rules.san, email: ['@fabrikam.com'], ip: ['192.168.0.0/16'] } }, aliceCert),
      ).to.equal('san.email');
      expect(failedCheck(rules, bareCert)).to.equal('san.dns');
    });
  });

  describe('SPIFFE', () => {
    const ID = 'spiffe://contoso.com/ns/prod/sa/payments';
    let svid: ClientCertificate;

    async function svidWith(uris: string[]): Promise<ClientCertificate> {
      const cert = parseCertificate((await issuing.issue({ subject: 'CN=workload', san: { uri: uris } })).der);
      expect(cert.san.uri, 'the URIs are written as given').to.deep.equal(uris);
      return cert;
    }

    before(async () => {
      svid = await svidWith([ID]);
    });

    it('one ID, a list of IDs, or a trust domain', () => {
      expect(passes({ spiffe: { id: ID } }, svid)).to.equal(true);
      expect(passes({ spiffe: { ids: ['spiffe://contoso.com/other', ID] } }, svid)).to.equal(true);
      expect(passes({ spiffe: { trustDomain: 'contoso.com' } }, svid)).to.equal(true);
      expect(passes({ spiffe: { trustDomain: 'spiffe://contoso.com' } }, svid)).to.equal(true);
      const notAllowed = [
        { id: 'spiffe://contoso.com/ns/prod/sa/payment' },
        { ids: ['spiffe://contoso.com/ns/prod/sa/payments/x'] },
        { trustDomain: 'fabrikam.com' },
        { trustDomain: 'com' },
      ];
      for (const spiffe of notAllowed) {
        const result = evaluate({ spiffe }, svid);
        expect(result, JSON.stringify(spiffe)).to.deep.equal({
          ok: false,
          failed: 'spiffe',
          message: 'The client certificate SPIFFE ID is not allowed.',
        });
      }
    });

    it('a certificate with two URI SANs, or none, is not an X509-SVID', async () => {
      const two = await svidWith([ID, 'spiffe://contoso.com/other']);
      const result = evaluate({ spiffe: { trustDomain: 'contoso.com' } }, two);
      expect(result).to.include({ ok: false, failed: 'spiffe' });
      expect(result.ok === false && result.message).to.include('exactly one URI SAN');
      expect(failedCheck({ spiffe: { trustDomain: 'contoso.com' } }, bareCert)).to.equal('spiffe');
    });

    it('an invalid SPIFFE ID is rejected even when its trust domain would be allowed', async () => {
      for (const uri of [
        'spiffe://Contoso.com/payments', // upper-case trust domain
        'spiffe://contoso.com/a/../payments', // dot segment
        'spiffe://contoso.com/a/./payments',
        'spiffe://contoso.com:8443/payments', // port
        'spiffe://ops@contoso.com/payments', // userinfo
        'spiffe://contoso.com/payments?x=1', // query
        'spiffe://contoso.com/payments#x', // fragment
        'spiffe://contoso.com/payments/', // empty segment
        'spiffe://contoso.com', // no path: the trust domain's own ID
        'SPIFFE://contoso.com/payments', // the scheme is lower-case
        'https://contoso.com/payments',
      ]) {
        const cert = await svidWith([uri]);
        const result = evaluate({ spiffe: { trustDomain: 'contoso.com' } }, cert);
        expect(result.ok === false && result.message, uri).to.include('not a valid workload ID');
      }
    });

    it('a CA certificate is not an X509-SVID', async () => {
      const ca = parseCertificate((await issuing.intermediate({ subject: 'CN=svid ca', san: { uri: [ID] } })).der);
      expect(ca.isCA).to.equal(true);
      const result = evaluate({ spiffe: { id: ID } }, ca);
      expect(result.ok === false && result.message).to.include('CA certificate');
    });

    it('key usage must be that of a leaf: digitalSignature, no keyCertSign or cRLSign', async () => {
      const { KeyUsageFlags: Flags } = x509;
      const make = async (flags: number | null) =>
        parseCertificate(
          (
            await createSelfSigned({
              subject: 'CN=workload',
              san: { uri: [ID] },
              extensions: flags === null ? [] : [new x509.KeyUsagesExtension(flags, true)],
            })
          ).der,
        );
      const rules = { spiffe: { id: ID } };
      expect(passes(rules, await make(Flags.digitalSignature | Flags.keyAgreement))).to.equal(true);
      for (const [what, flags] of [
        ['keyCertSign', Flags.digitalSignature | Flags.keyCertSign],
        ['cRLSign', Flags.digitalSignature | Flags.cRLSign],
        ['no digitalSignature', Flags.keyEncipherment],
        ['no keyUsage', null],
      ] as const) {
        const cert = await make(flags);
        expect(cert.isCA, what).to.equal(false);
        const result = evaluate(rules, cert);
        expect(result.ok === false && result.message, what).to.include('key usage');
      }
    });

    it('reads keyUsage alone: a malformed keyUsage fails, a malformed other extension is not its concern', async () => {
      const make = async (extensions: InstanceType<typeof x509.Extension>[]) =>
        parseCertificate((await createSelfSigned({ subject: 'CN=workload', san: { uri: [ID] }, extensions })).der);
      const rules = { spiffe: { id: ID } };
      const keyUsage = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
      // keyUsage as an OCTET STRING instead of a BIT STRING.
      const notBits = new x509.Extension('2.5.29.15', true, Uint8Array.from([0x04, 0x01, 0x80]));
      const notBitsResult = evaluate(rules, await make([notBits]));
      expect(notBitsResult.ok === false && notBitsResult.message).to.include('key usage');
      // An empty certificatePolicies is malformed (path validation refuses it); keyUsage is still read.
      const emptyPolicies = new x509.Extension('2.5.29.32', false, Uint8Array.from([0x30, 0x00]));
      expect(passes(rules, await make([keyUsage, emptyPolicies]))).to.equal(true);
      expect(passes(rules, await make([emptyPolicies, keyUsage]))).to.equal(true);
    });
  });

  describe('identities', () => {
    let sha1: string;

    before(() => {
      sha1 = createHash('sha1').update(alice.der).digest('hex');
    });

    it('thumbprints in any notation: SHA-1 as Azure shows it, SHA-256 with or without colons and prefixes', () => {
      const notations = [
        sha1.toUpperCase(), // Azure / Windows Thumbprint
        `sha1:${colonHex(sha1)}`,
        `\u200e${colonHex(sha1).replace(/:/g, ' ')}`, // copied from the Windows certificate dialog
        alice.sha256,
        `SHA256:${colonHex(alice.sha256)}`,
        `SHA256 Fingerprint=${colonHex(alice.sha256)}`,
      ];
      for (const thumbprint of notations) {
        expect(evaluate({ identities: [{ name: 'alice', thumbprint }] }, aliceCert), thumbprint).to.deep.equal({
          ok: true,
          matched: 'alice',
        });
        expect(failedCheck({ identities: [{ thumbprint }] }, bobCert), thumbprint).to.equal('identities');
      }
    });

    it('serial numbers ignore case, colons, 0x and leading zeros', () => {
      for (const serialNumber of ['00AB12CD34', 'ab:12:cd:34', '0xAB12CD34', '0000ab12cd34']) {
        expect(passes({ identities: [{ serialNumber }] }, aliceCert), serialNumber).to.equal(true);
      }
      for (const serialNumber of ['AB12CD35', 'AB12CD3', '12CD34']) {
        expect(passes({ identities: [{ serialNumber }] }, aliceCert), serialNumber).to.equal(false);
      }
    });

    it('commonName, subject, dnsName and issuerSubject claims', () => {
      expect(passes({ identities: [{ commonName: 'alice' }] }, aliceCert)).to.equal(true);
      expect(passes({ identities: [{ commonName: 'Alice' }] }, aliceCert)).to.equal(false);
      expect(passes({ identities: [{ subject: 'CN=alice,OU=Payments,O=Contoso,C=US' }] }, aliceCert)).to.equal(true);
      expect(passes({ identities: [{ subject: 'CN=alice,O=Contoso,C=US' }] }, aliceCert)).to.equal(false);
      expect(passes({ identities: [{ dnsName: 'ALICE.api.contoso.com' }] }, aliceCert)).to.equal(true);
      expect(passes({ identities: [{ dnsName: 'api.contoso.com' }] }, aliceCert)).to.equal(false);
      expect(optionError(() => compileRules({ identities: [{ dnsName: '*.api.contoso.com' }] }))).to.include(
        'san: { dns',
      );
      expect(passes({ identities: [{ issuerSubject: 'CN=Contoso Issuing CA, O=Contoso, C=US' }] }, aliceCert)).to.equal(
        true,
      );
      expect(passes({ identities: [{ issuerSubject: 'CN=Contoso Root,O=Contoso,C=US' }] }, aliceCert)).to.equal(false);
    });

    it('issuerThumbprint is the next certificate in the verified path', () => {
      const issuingSha1 = createHash('sha1').update(issuing.der).digest('hex').toUpperCase();
      expect(compileRules({ identities: [{ issuerThumbprint: issuingSha1 }] }).usesChain).to.equal(true);
      expect(passes({ identities: [{ issuerThumbprint: issuingSha1 }] }, aliceCert, aliceContext)).to.equal(true);
      expect(
        passes({ identities: [{ issuerThumbprint: `sha256:${issuing.sha256}` }] }, aliceCert, aliceContext),
      ).to.equal(true);
      expect(
        passes({ identities: [{ issuerThumbprint: root.sha256 }] }, aliceCert, aliceContext),
        'the root is not the issuer',
      ).to.equal(false);
      expect(passes({ identities: [{ issuerThumbprint: issuingSha1 }] }, aliceCert, NO_PATH), 'no path known').to.equal(
        false,
      );
      expect(() => evaluate({ identities: [{ issuerThumbprint: issuingSha1 }] }, bobCert, aliceContext)).to.throw(
        TypeError,
      );
    });

    it('spki and san claims', () => {
      const spki = createHash('sha256')
        .update(alice.x509.publicKey.export({ type: 'spki', format: 'der' }))
        .digest();
      expect(passes({ identities: [{ spki: spki.toString('base64') }] }, aliceCert)).to.equal(true);
      expect(passes({ identities: [{ spki: `spki-sha256:${spki.toString('hex')}` }] }, bobCert)).to.equal(false);
      // Any-of across SAN kinds: one identity per kind.
      const rules = {
        identities: [
          { name: 'by-ip', san: { ip: ['192.168.0.0/16'] } },
          { name: 'by-uri', san: { uri: ['https://contoso.com/users/*'] } },
        ],
      };
      expect(evaluate(rules, aliceCert)).to.deep.equal({ ok: true, matched: 'by-uri' });
      expect(evaluate(rules, bobCert)).to.deep.equal({ ok: true, matched: 'by-ip' });
      expect(failedCheck(rules, bareCert)).to.equal('identities');
    });

    it('claims of one identity are all-of; the list is any-of and the first match is named', () => {
      const identities = [
        { name: 'wrong-cn', thumbprint: alice.sha256, commonName: 'bob' },
        { commonName: 'bob', issuerSubject: { O: 'Contoso' } },
        { name: 'alice', thumbprint: alice.sha256, commonName: 'alice', issuerSubject: { O: 'Contoso' } },
        { name: 'also-alice', commonName: 'alice' },
      ];
      expect(evaluate({ identities }, aliceCert)).to.deep.equal({ ok: true, matched: 'alice' });
      expect(evaluate({ identities }, bobCert)).to.deep.equal({ ok: true, matched: 'identities[1]' });
      expect(evaluate({ identities: identities.slice(0, 2) }, aliceCert)).to.deep.equal({
        ok: false,
        failed: 'identities',
        message: 'The client certificate matches none of the allowed identities.',
      });
    });
  });

  describe('evaluation order and the predicate', () => {
    it('top-level checks, then identities, then the predicate; the first failure is reported', () => {
      let calls = 0;
      const predicate = () => {
        calls++;
        return true;
      };
      const identities = [{ name: 'bob', commonName: 'bob' }];
      expect(
        failedCheck(
          { subject: { O: 'Fabrikam' }, san: { dns: ['nope.example.com'] }, identities, predicate },
          aliceCert,
        ),
      ).to.equal('subject');
      expect(
        failedCheck(
          { issuer: { O: 'Fabrikam' }, spiffe: { trustDomain: 'contoso.com' }, identities, predicate },
          aliceCert,
        ),
      ).to.equal('issuer');
      expect(
        failedCheck(
          { san: { uri: ['urn:x'] }, spiffe: { trustDomain: 'contoso.com' }, identities, predicate },
          aliceCert,
        ),
      ).to.equal('san.uri');
      expect(failedCheck({ spiffe: { trustDomain: 'contoso.com' }, identities, predicate }, aliceCert)).to.equal(
        'spiffe',
      );
      expect(failedCheck({ subject: { O: 'Contoso' }, identities, predicate }, aliceCert)).to.equal('identities');
      expect(calls, 'the predicate runs only after everything else passed').to.equal(0);
      expect(evaluate({ subject: { O: 'Contoso' }, identities, predicate }, bobCert)).to.deep.equal({
        ok: true,
        matched: 'bob',
      });
      expect(calls).to.equal(1);
    });

    it('with no identities a pass names nothing; an empty rule set passes', () => {
      expect(evaluate({ subject: { O: 'Contoso' } }, aliceCert)).to.deep.equal({ ok: true, matched: null });
      expect(evaluate({}, aliceCert)).to.deep.equal({ ok: true, matched: null });
    });

    it('a synchronous predicate keeps the result synchronous and receives the certificate and context', () => {
      const seen: unknown[] = [];
      const rules = compileRules({
        predicate: (cert, context) => {
          seen.push(cert, context);
          return cert.subject.get('CN') === 'alice';
        },
      });
      expect(rules.hasPredicate).to.equal(true);
      const yes = evaluateRules(rules, aliceCert, aliceContext);
      expect(yes instanceof Promise).to.equal(false);
      expect(yes).to.deep.equal({ ok: true, matched: null });
      expect(seen).to.deep.equal([aliceCert, aliceContext]);
      const no = evaluateRules(rules, bobCert, NO_PATH);
      expect(no instanceof Promise).to.equal(false);
      expect(no).to.deep.equal({
        ok: false,
        failed: 'predicate',
        message: 'The client certificate was rejected by an application rule.',
      });
    });

    it('no predicate: the result is not a Promise', () => {
      const result = evaluateRules(
        compileRules({ subject: { O: 'Contoso' }, identities: [{ commonName: 'alice' }] }),
        aliceCert,
        NO_PATH,
      );
      expect(result instanceof Promise).to.equal(false);
      expect(compileRules({}).hasPredicate).to.equal(false);
    });

    it('an async predicate gives a Promise of the result, keeping the identity name', async () => {
      const rules = compileRules({
        identities: [{ name: 'contoso', issuerSubject: { O: 'Contoso' } }],
        predicate: async (cert) => {
          await new Promise((resolve) => setImmediate(resolve));
          return cert.subject.get('CN') === 'alice'
            ? { ok: true }
            : { ok: false, reason: 'This partner is suspended.' };
        },
      });
      const yes = evaluateRules(rules, aliceCert, NO_PATH);
      expect(yes).to.be.instanceOf(Promise);
      expect(await yes).to.deep.equal({ ok: true, matched: 'contoso' });
      expect(await evaluateRules(rules, bobCert, NO_PATH)).to.deep.equal({
        ok: false,
        failed: 'predicate',
        message: 'This partner is suspended.',
      });
    });

    it('a reason that is not short printable ASCII is replaced by the fixed message', async () => {
      for (const reason of [`bad subject ${'x'.repeat(300)}`, 'line\nbreak', 'CN=é', '']) {
        const result = evaluate({ predicate: () => ({ ok: false, reason }) }, aliceCert);
        expect(result, JSON.stringify(reason)).to.deep.equal({
          ok: false,
          failed: 'predicate',
          message: 'The client certificate was rejected by an application rule.',
        });
      }
    });

    it('a predicate that throws or rejects fails with a fixed message and keeps the error as cause', async () => {
      const boom = new Error(`lookup failed for ${aliceCert.subject.rfc4514}`);
      const thrown = evaluate(
        {
          predicate: () => {
            throw boom;
          },
        },
        aliceCert,
      );
      expect(thrown).to.deep.include({
        ok: false,
        failed: 'predicate',
        message: 'The client certificate could not be checked by an application rule.',
      });
      expect(thrown.ok === false && thrown.cause).to.equal(boom);
      const rejected = await evaluateRules(
        compileRules({
          predicate: async () => {
            throw boom;
          },
        }),
        aliceCert,
        NO_PATH,
      );
      expect(rejected).to.deep.include({ ok: false, failed: 'predicate' });
      expect(rejected.ok === false && rejected.message).not.to.include('alice');
      expect(rejected.ok === false && rejected.cause).to.equal(boom);
    });

    it('only an explicit yes passes', () => {
      for (const verdict of [undefined, null, 1, 'yes', {}, { ok: 'true' }]) {
        const result = evaluate({ predicate: (() => verdict) as never }, aliceCert);
        expect(result.ok, String(verdict)).to.equal(false);
        expect(result.ok === false && result.failed).to.equal('predicate');
      }
    });

    it('failure messages never carry certificate content', () => {
      const rules: RulesOption[] = [
        { subject: { CN: 'x' } },
        { issuer: { CN: 'x' } },
        { san: { dns: ['x.example.com'] } },
        { san: { uri: ['urn:x'] } },
        { san: { email: ['x@example.com'] } },
        { san: { ip: ['192.0.2.1'] } },
        { spiffe: { trustDomain: 'x' } },
        { identities: [{ commonName: 'x' }] },
        { predicate: () => false },
      ];
      for (const rule of rules) {
        const result = evaluate(rule, aliceCert);
        expect(result.ok).to.equal(false);
        const message = result.ok ? '' : result.message;
        for (const content of ['alice', 'Contoso', '10.1.2.3', 'contoso.com']) expect(message).not.to.include(content);
      }
    });
  });

  describe('option errors name the exact option', () => {
    const cases: Array<[RulesOption | unknown, string]> = [
      [null, '"rules"'],
      [{ subjects: 'CN=x' }, '"rules.subjects"'],
      [{ subject: '' }, '"rules.subject"'],
      [{ subject: 'CN=a,Foo=b' }, '"rules.subject"'],
      [{ subject: 'CN=a;O=b' }, '"rules.subject"'],
      [{ subject: 'CN="abc' }, '"rules.subject"'],
      [{ subject: 'CN=#zz' }, '"rules.subject"'],
      [{ subject: 'CN=a\\q' }, '"rules.subject"'],
      [{ subject: 'CN=a\\ff' }, '"rules.subject"'],
      [{ subject: 'just text' }, '"rules.subject"'],
      [{ subject: {} }, '"rules.subject"'],
      [{ subject: { Foo: 'x' } }, '"rules.subject.Foo"'],
      [{ subject: { CN: 'a', commonName: 'b' } }, '"rules.subject.commonName"'],
      [{ subject: { O: [] } }, '"rules.subject.O"'],
      [{ subject: [] }, '"rules.subject"'],
      [{ issuer: ['CN=ok', 42] }, '"rules.issuer[1]"'],
      [{ san: {} }, '"rules.san"'],
      [{ san: { DNS: ['x.com'] } }, '"rules.san.DNS"'],
      [{ san: { dns: [] } }, '"rules.san.dns"'],
      [{ san: { dns: ['ok.example.com', 'a*.example.com'] } }, '"rules.san.dns[1]"'],
      [{ san: { dns: ['x.*.example.com'] } }, '"rules.san.dns[0]"'],
      [{ san: { dns: ['*.com'] } }, '"rules.san.dns[0]"'],
      [{ san: { dns: 'example.com.' } }, '"rules.san.dns"'],
      [{ san: { dns: ['bücher.example'] } }, '"rules.san.dns[0]"'],
      [{ san: { uri: ['spiffe://contoso*'] } }, '"rules.san.uri[0]"'],
      [{ san: { uri: ['https://*.contoso.com/'] } }, '"rules.san.uri[0]"'],
      [{ san: { uri: ['no scheme'] } }, '"rules.san.uri[0]"'],
      [{ san: { email: ['nobody'] } }, '"rules.san.email[0]"'],
      [{ san: { ip: ['10.0.0.0/33'] } }, '"rules.san.ip[0]"'],
      [{ san: { ip: ['10.0.0.0/8', 'fe80::1%eth0'] } }, '"rules.san.ip[1]"'],
      [{ san: { ip: ['not-an-ip'] } }, '"rules.san.ip[0]"'],
      [{ san: { ip: ['10.0.0.0/8/1'] } }, '"rules.san.ip[0]"'],
      [{ spiffe: 'spiffe://contoso.com/x' }, '"rules.spiffe"'],
      [{ spiffe: { id: 'spiffe://contoso.com/x', trustDomain: 'contoso.com' } }, '"rules.spiffe"'],
      [{ spiffe: { trustDomain: 'Contoso.com' } }, '"rules.spiffe.trustDomain"'],
      [{ spiffe: { id: 'spiffe://contoso.com' } }, '"rules.spiffe.id"'],
      [{ spiffe: { ids: ['spiffe://contoso.com/ok', 'spiffe://contoso.com/../x'] } }, '"rules.spiffe.ids[1]"'],
      [{ spiffe: { trustDomains: ['x'] } }, '"rules.spiffe.trustDomains"'],
      [{ identities: [] }, '"rules.identities"'],
      [{ identities: [{ name: 'only-a-name' }] }, '"rules.identities[0]"'],
      [{ identities: [{ commonName: 'a' }, { thumbPrint: 'AB' }] }, '"rules.identities[1].thumbPrint"'],
      [{ identities: [{ thumbprint: 'ABCD' }] }, '"rules.identities[0].thumbprint"'],
      [{ identities: [{ thumbprint: `sha256:${'ab'.repeat(20)}` }] }, '"rules.identities[0].thumbprint"'],
      [{ identities: [{ issuerThumbprint: 'xyz' }] }, '"rules.identities[0].issuerThumbprint"'],
      [{ identities: [{ serialNumber: 'g1' }] }, '"rules.identities[0].serialNumber"'],
      [{ identities: [{ dnsName: '*.contoso.com' }] }, '"rules.identities[0].dnsName"'],
      [{ identities: [{ spki: 'AAAA' }] }, '"rules.identities[0].spki"'],
      [{ identities: [{ subject: { XX: 'a' } }] }, '"rules.identities[0].subject.XX"'],
      [{ identities: [{ san: { ip: ['x'] } }] }, '"rules.identities[0].san.ip[0]"'],
      [
        {
          identities: [
            { name: 'a', commonName: 'a' },
            { name: 'a', commonName: 'b' },
          ],
        },
        '"rules.identities[1].name"',
      ],
      [{ identities: [{ name: '', commonName: 'a' }] }, '"rules.identities[0].name"'],
      [{ predicate: 'yes' }, '"rules.predicate"'],
    ];
    for (const [input, path] of cases) {
      it(`${path}: ${JSON.stringify(input)}`, () => {
        expect(optionError(() => compileRules(input as RulesOption))).to.include(path);
      });
    }

    it("the option path prefix is the caller's (per-route configurations)", () => {
      expect(optionError(() => compileRules({ san: { dns: ['*'] } }, 'routes[2].rules'))).to.include(
        '"routes[2].rules.san.dns[0]"',
      );
    });
  });
});
