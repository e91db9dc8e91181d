import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { ClientCertificate } from '../../../packages/core/src/model.js';
import {
  createCA,
  createSelfSigned,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { verifyChainSync } from '../../../packages/core/src/trust/path/verify.js';
import { compilePins, matchPins, type PinsOption, type RuleContext } from '../../../packages/core/src/trust/pins.js';
import { parseCertificate } from '../../../packages/core/src/x509/certificate.js';
import { colonHex } from '../../helpers/encodings.js';
import { optionError } from '../../helpers/errors.js';
import { x509 } from '../../helpers/x509.js';

// @peculiar/x509 is used here for what the test kit does not do: a second certificate for an
// existing key (renewal, a re-issued CA), and an SPKI hash computed by a second implementation.

const EC_IMPORT = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' };

/** A new self-signed certificate for the key and subject of `original` (a renewal with the same key). */
async function sameKey(original: TestCertificate, ca: boolean): Promise<TestCertificate & { pem: string }> {
  const pkcs8 = Buffer.from(original.key.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC_IMPORT, true, ['sign']);
  const spki = original.x509.publicKey.export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC_IMPORT, true, ['verify']);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '7e57',
    name: new x509.X509Certificate(original.der).subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: { publicKey, privateKey },
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      ...(ca
        ? [
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(publicKey),
          ]
        : []),
    ],
  });
  const der = Buffer.from(cert.rawData);
  const pem = cert.toString('pem');
  return {
    ...original,
    cert: pem,
    pem,
    der,
    x509: new X509Certificate(der),
    chain: [],
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/** SHA-256 of the SubjectPublicKeyInfo, computed by @peculiar/x509 rather than node:crypto. */
async function spkiSha256(cert: TestCertificate): Promise<Buffer> {
  return Buffer.from(await new x509.X509Certificate(cert.der).publicKey.getThumbprint('SHA-256'));
}

describe('pins', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let otherRoot: TestCA;
  let leaf: TestCertificate;
  let sibling: TestCertificate;
  let stranger: TestCertificate;
  let partner: TestCertificate;
  let renewedPartner: TestCertificate;
  let leafCert: ClientCertificate;
  let strangerCert: ClientCertificate;
  /** The verified path of `leaf`: leaf, intermediate, root. */
  let leafContext: RuleContext;
  let strangerContext: RuleContext;

  const match = (pins: PinsOption, cert: ClientCertificate, context?: RuleContext) =>
    matchPins(compilePins(pins), cert, context);
  const client = (test: TestCertificate) => parseCertificate(test.der);

  function verifiedPath(test: TestCertificate, anchors: string | string[]): RuleContext {
    const result = verifyChainSync({ leaf: test.der, intermediates: test.chain, trustAnchors: anchors });
    if (!result.ok) throw new Error(`fixture did not verify: ${result.message}`);
    return { chain: result.chain };
  }

  before(async () => {
    root = await createCA({ subject: 'CN=Contoso Root,O=Contoso' });
    intermediate = await root.intermediate({ subject: 'CN=Contoso Issuing,O=Contoso' });
    otherRoot = await createCA({ subject: 'CN=Fabrikam Root,O=Fabrikam' });
    const otherIntermediate = await otherRoot.intermediate({ subject: 'CN=Fabrikam Issuing,O=Fabrikam' });
    leaf = await intermediate.issue({ subject: 'CN=alice,O=Contoso' });
    sibling = await intermediate.issue({ subject: 'CN=alice,O=Contoso' });
    stranger = await otherIntermediate.issue({ subject: 'CN=alice,O=Contoso' });
    partner = await createSelfSigned({ subject: 'CN=partner' });
    renewedPartner = await sameKey(partner, false);
    leafCert = client(leaf);
    strangerCert = client(stranger);
    leafContext = verifiedPath(leaf, root.cert);
    strangerContext = verifiedPath(stranger, otherRoot.cert);
    expect(leafContext.chain).to.have.length(3);
  });

  describe('leaf certificate (DER equality)', () => {
    it('matches the very certificate given as PEM, DER bytes or X509Certificate', () => {
      for (const pin of [partner.cert, partner.der, new Uint8Array(partner.der), partner.x509]) {
        expect(match(pin, client(partner))).to.deep.equal({ ok: true, matched: 'pins' });
      }
    });

    it('does not match another certificate, even one with the same subject and key', () => {
      expect(match(partner.cert, client(renewedPartner))).to.include({ ok: false, failed: 'pins' });
      expect(match([leaf.cert], client(sibling))).to.include({ ok: false, failed: 'pins' });
    });

    it('a PEM bundle is one pin per certificate; the result names the list entry', () => {
      const pins = compilePins([stranger.cert, leaf.cert + partner.cert]);
      expect(pins.size).to.equal(3);
      expect(matchPins(pins, client(partner))).to.deep.equal({ ok: true, matched: 'pins[1]' });
      expect(matchPins(pins, leafCert)).to.deep.equal({ ok: true, matched: 'pins[1]' });
      expect(matchPins(pins, strangerCert)).to.deep.equal({ ok: true, matched: 'pins[0]' });
      expect(matchPins(pins, client(sibling)).ok).to.equal(false);
    });

    it('failure has a fixed message and no certificate content', () => {
      const result = match(partner.cert, leafCert);
      expect(result).to.deep.equal({
        ok: false,
        failed: 'pins',
        message: 'The client certificate does not match any pinned certificate or key.',
      });
    });
  });

  describe('SHA-256 fingerprint', () => {
    it('accepts every common notation', () => {
      const notations = [
        leaf.sha256, // bare lower-case hex (Envoy verify_certificate_hash)
        `sha256:${colonHex(leaf.sha256)}`, // prefixed, colons, upper case
        `SHA256:${leaf.sha256.toUpperCase()}`,
        `SHA256 Fingerprint=${colonHex(leaf.sha256)}`, // openssl x509 -fingerprint -sha256
        `\u200e${colonHex(leaf.sha256).replace(/:/g, ' ')}`, // Windows dialog: spaces and an invisible mark
        `  SHA-256: ${leaf.sha256}  `,
      ];
      for (const notation of notations) {
        expect(match(notation, leafCert), notation).to.deep.equal({ ok: true, matched: 'pins' });
        expect(match(notation, client(sibling)).ok, notation).to.equal(false);
      }
    });

    it('refuses SHA-1 for pins, and a prefix that contradicts the length', () => {
      const sha1 = createHash('sha1').update(leaf.der).digest('hex');
      expect(optionError(() => compilePins([sha1])))
        .to.include('"pins[0]"')
        .and.include('SHA-1');
      expect(optionError(() => compilePins(`sha1:${sha1}`))).to.include('"pins"');
      expect(optionError(() => compilePins([partner.cert, `sha1:${leaf.sha256}`])))
        .to.include('"pins[1]"')
        .and.include('says sha1');
    });
  });

  describe('SPKI SHA-256', () => {
    it('matches the key in base64 (bare, as Envoy), spki-sha256: base64 or hex, and sha256/ (OkHttp)', async () => {
      const digest = await spkiSha256(partner);
      const notations = [
        digest.toString('base64'),
        `spki-sha256:${digest.toString('base64')}`,
        `SPKI-SHA256:${colonHex(digest.toString('hex'))}`,
        `spki-sha256:${digest.toString('hex')}`,
        `sha256/${digest.toString('base64')}`,
      ];
      for (const notation of notations) {
        expect(match(notation, client(partner)).ok, notation).to.equal(true);
        expect(match(notation, leafCert).ok, notation).to.equal(false);
      }
    });

    it('survives renewal with the same key, unlike the certificate and fingerprint pins', async () => {
      const spki = `spki-sha256:${(await spkiSha256(partner)).toString('base64')}`;
      expect(renewedPartner.sha256).not.to.equal(partner.sha256);
      expect(match(spki, client(renewedPartner)).ok).to.equal(true);
      expect(match(`sha256:${partner.sha256}`, client(renewedPartner)).ok).to.equal(false);
      expect(match(partner.cert, client(renewedPartner)).ok).to.equal(false);
    });

    it('rejects a key hash of the wrong size or encoding', () => {
      expect(optionError(() => compilePins(['spki-sha256:AAAA']))).to.include('"pins[0]"');
      expect(optionError(() => compilePins([`sha256/${'ab'.repeat(20)}`]))).to.include('"pins[0]"');
      expect(optionError(() => compilePins([`spki-sha256:${Buffer.alloc(31).toString('base64')}`]))).to.include(
        '"pins[0]"',
      );
    });
  });

  describe('issuer pins (through intermediates)', () => {
    it('a root key pin matches a leaf issued by an intermediate under that root', async () => {
      const pin = { issuer: `spki-sha256:${(await spkiSha256(root)).toString('base64')}` };
      expect(match([pin], leafCert, leafContext)).to.deep.equal({ ok: true, matched: 'pins[0]' });
      expect(match([pin], strangerCert, strangerContext).ok).to.equal(false);
    });

    it('the intermediate can be pinned by fingerprint, and the root by its certificate', () => {
      expect(match({ issuer: `sha256:${intermediate.sha256}` }, leafCert, leafContext).ok).to.equal(true);
      expect(match({ issuer: root.cert }, leafCert, leafContext).ok).to.equal(true);
      expect(match({ issuer: root.cert }, strangerCert, strangerContext).ok).to.equal(false);
    });

    it('a CA given as a certificate stands for its key: a re-issued root with the same key matches', async () => {
      const reissuedRoot = await sameKey(root, true);
      const context = verifiedPath(leaf, reissuedRoot.pem);
      expect(context.chain[2]!.raw.equals(reissuedRoot.der)).to.equal(true);
      expect(match({ issuer: root.cert }, leafCert, context).ok).to.equal(true);
      expect(match({ issuer: `sha256:${root.sha256}` }, leafCert, context).ok).to.equal(false);
    });

    it('never matches the leaf itself, and needs the verified path', () => {
      expect(match({ issuer: leaf.cert }, leafCert, leafContext).ok).to.equal(false);
      expect(match({ issuer: `sha256:${leaf.sha256}` }, leafCert, leafContext).ok).to.equal(false);
      expect(match({ issuer: root.cert }, leafCert).ok).to.equal(false);
      expect(match({ issuer: root.cert }, leafCert, { chain: [] }).ok).to.equal(false);
    });

    it('{ leaf, issuer } needs both; name labels the result', () => {
      const pins = compilePins([{ name: 'alice-via-contoso', leaf: `sha256:${leaf.sha256}`, issuer: root.cert }]);
      expect(pins.usesChain).to.equal(true);
      expect(matchPins(pins, leafCert, leafContext)).to.deep.equal({ ok: true, matched: 'alice-via-contoso' });
      expect(matchPins(pins, client(sibling), verifiedPath(sibling, root.cert)).ok).to.equal(false);
      // The right leaf seen through a path that does not contain the pinned CA.
      expect(matchPins(pins, leafCert, { chain: [leaf.x509, intermediate.x509] }).ok).to.equal(false);
    });

    it('a path that does not start with the leaf is a programming error', () => {
      expect(() => match({ issuer: root.cert }, leafCert, strangerContext)).to.throw(
        TypeError,
        /starting with the leaf/,
      );
    });

    it('leaf-only pins do not need or read the path', () => {
      const pins = compilePins([leaf.cert]);
      expect(pins.usesChain).to.equal(false);
      expect(matchPins(pins, leafCert, strangerContext).ok).to.equal(true);
    });
  });

  describe('option errors name the entry', () => {
    const cases: Array<[string, () => unknown, string]> = [
      ['empty list', () => compilePins([]), '"pins"'],
      ['not a pin', () => compilePins(['partner-a']), '"pins[0]"'],
      ['a number', () => compilePins([partnerCertPlaceholder(), 42 as never]), '"pins[1]"'],
      ['odd hex', () => compilePins(['sha256:abc']), '"pins[0]"'],
      ['no leaf or issuer', () => compilePins([{ name: 'x' }]), '"pins[0]"'],
      ['unknown key', () => compilePins([{ issuers: 'x' } as never]), '"pins[0].issuers"'],
      ['bad issuer', () => compilePins([{ issuer: 'sha256:zz' }]), '"pins[0].issuer"'],
      ['bundle as leaf of an object', () => compilePins([{ leaf: bundlePlaceholder() }]), '"pins[0].leaf"'],
      [
        'PEM without a certificate',
        () => compilePins(['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']),
        '"pins[0]"',
      ],
      ['broken certificate bytes', () => compilePins([Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])]), '"pins[0]"'],
      [
        'duplicate names',
        () =>
          compilePins([
            { name: 'a', leaf: partnerCertPlaceholder() },
            { name: 'a', leaf: partnerCertPlaceholder() },
          ]),
        '"pins[1].name"',
      ],
      ['custom path', () => compilePins(['nope'], 'routes.admin.pins'), '"routes.admin.pins[0]"'],
    ];
    let pem = '';
    function partnerCertPlaceholder(): string {
      return pem;
    }
    function bundlePlaceholder(): string {
      return pem + pem;
    }
    before(() => {
      pem = partner.cert;
    });
    for (const [title, fn, path] of cases) {
      it(title, () => {
        expect(optionError(fn)).to.include(path);
      });
    }
  });
});
