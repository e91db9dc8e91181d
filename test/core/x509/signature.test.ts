/**
 * The signature check of the decision path (x509/signature.ts): `crypto.verify` over the TBS bytes
 * with the issuer's KeyObject, which must agree with OpenSSL's `X509_verify` (Node's
 * `X509Certificate.verify`) on every certificate, valid or not. Each case is a certificate signed
 * here by hand, so the algorithm identifiers, keys and signatures can be anything; every case is
 * also checked against Node, and whether Node's object had to be made (the fallback) is counted.
 */
import { constants, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { createCA } from '../../../packages/core/src/testkit/index.js';
import { derOid as oid, derTlv as tlv } from '../../../packages/core/src/testkit/shared.js';
import { DerCursor, readTlv, Tag } from '../../../packages/core/src/x509/der.js';
import { CertificateRecord } from '../../../packages/core/src/x509/facts.js';
import { signatureVerifies } from '../../../packages/core/src/x509/signature.js';

/** What `crypto.sign` takes besides the key. */
type SignOptions = { padding?: number; saltLength?: number };

const NULL = Buffer.from([0x05, 0x00]);
const algorithm = (id: string, ...parameters: Buffer[]): Buffer => tlv(0x30, oid(id), ...parameters);
const SHA256 = '2.16.840.1.101.3.4.2.1';
const SHA384 = '2.16.840.1.101.3.4.2.2';
const SHA1 = '1.3.14.3.2.26';
const MGF1 = '1.2.840.113549.1.1.8';
const PSS = '1.2.840.113549.1.1.10';

/** RSASSA-PSS-params with a digest, MGF1 over `mgf` (default the same), and a salt length when given. */
function pssAlgorithm(hash: string, salt?: number, mgf = hash): Buffer {
  return algorithm(
    PSS,
    tlv(
      0x30,
      tlv(0xa0, algorithm(hash, NULL)),
      tlv(0xa1, algorithm(MGF1, algorithm(mgf, NULL))),
      ...(salt === undefined ? [] : [tlv(0xa2, tlv(0x02, Buffer.from([salt])))]),
    ),
  );
}

/**
 * A certificate made from `template`'s TBSCertificate with the subject key `spki`, the inner
 * AlgorithmIdentifier `inner` and the outer one `outer` (default the same), signed over the new
 * TBS by `signer`; `unusedBits` goes into the signature BIT STRING's first octet.
 */
function build(
  template: Buffer,
  options: {
    spki: Buffer;
    inner: Buffer;
    outer?: Buffer;
    signer: (tbs: Buffer) => Buffer;
    unusedBits?: number;
    tamper?: boolean;
  },
): Buffer {
  const outer = DerCursor.inside(template, readTlv(template, 0, template.length));
  const fields = DerCursor.inside(template, outer.expect(Tag.SEQUENCE, 'tbs'));
  const parts: Buffer[] = [];
  for (let index = 0; !fields.done; index++) {
    const field = fields.next('field');
    const bytes = template.subarray(field.start, field.end);
    // [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    parts.push(index === 2 ? options.inner : index === 6 ? options.spki : bytes);
  }
  const tbs = tlv(0x30, ...parts);
  const signature = options.signer(tbs);
  if (options.tamper) tbs[tbs.length - 1]! ^= 0x01; // after signing: the signature no longer covers it
  const bits = tlv(0x03, Buffer.from([options.unusedBits ?? 0]), signature);
  return tlv(0x30, tbs, options.outer ?? options.inner, bits);
}

/** The record of a self-signed certificate for `keys`: an issuer whose key is that key. */
function issuerOf(
  template: Buffer,
  keys: { publicKey: KeyObject },
  inner: Buffer,
  signWith: (tbs: Buffer) => Buffer,
): { record: CertificateRecord } {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  return { record: new CertificateRecord(build(template, { spki, inner, signer: signWith })) };
}

/** Ours, Node's, and whether ours had to make Node's object. */
function judge(child: Buffer, issuer: CertificateRecord): { ours: boolean; node: boolean; fallback: boolean } {
  const record = new CertificateRecord(child);
  const ours = signatureVerifies(record, issuer);
  let node: boolean;
  try {
    node = new X509Certificate(child).verify(issuer.publicKey);
  } catch {
    node = false;
  }
  return { ours, node, fallback: record.hasX509 };
}

describe('core/x509/signature: crypto.verify on the TBS, as OpenSSL would', () => {
  let template: Buffer;
  let subjectSpki: Buffer;

  before(async () => {
    const root = await createCA({ subject: 'CN=Signature Root' });
    const leaf = await root.issue({ subject: 'CN=signature leaf', san: { dns: ['leaf.example'] } });
    template = leaf.der;
    subjectSpki = leaf.x509.publicKey.export({ type: 'spki', format: 'der' });
  });

  const generators = {
    p256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    p521: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
    rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ed25519: () => generateKeyPairSync('ed25519'),
    ed448: () => generateKeyPairSync('ed448'),
  };
  type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };
  const made = new Map<string, KeyPair>();
  /** Key pair `n` of a kind, made once (RSA key generation is slow). */
  const pair = (kind: keyof typeof generators, n = 0): KeyPair => {
    let found = made.get(`${kind}${n}`);
    if (found === undefined) made.set(`${kind}${n}`, (found = generators[kind]()));
    return found;
  };
  const signer =
    (key: KeyObject, digest: string | null, options: SignOptions = {}) =>
    (tbs: Buffer): Buffer =>
      sign(digest, tbs, { key, ...options });

  const families: ReadonlyArray<{
    name: string;
    pair: keyof typeof generators;
    inner: Buffer;
    digest: string | null;
    options?: SignOptions;
  }> = [
    { name: 'ECDSA P-256 with SHA-256', pair: 'p256', inner: algorithm('1.2.840.10045.4.3.2'), digest: 'sha256' },
    { name: 'ECDSA P-384 with SHA-384', pair: 'p384', inner: algorithm('1.2.840.10045.4.3.3'), digest: 'sha384' },
    { name: 'ECDSA P-521 with SHA-512', pair: 'p521', inner: algorithm('1.2.840.10045.4.3.4'), digest: 'sha512' },
    { name: 'ECDSA with SHA-1', pair: 'p256', inner: algorithm('1.2.840.10045.4.1'), digest: 'sha1' },
    { name: 'RSA PKCS#1 v1.5 SHA-256', pair: 'rsa', inner: algorithm('1.2.840.113549.1.1.11', NULL), digest: 'sha256' },
    { name: 'RSA PKCS#1 v1.5 SHA-384', pair: 'rsa', inner: algorithm('1.2.840.113549.1.1.12', NULL), digest: 'sha384' },
    { name: 'RSA PKCS#1 v1.5 SHA-512', pair: 'rsa', inner: algorithm('1.2.840.113549.1.1.13', NULL), digest: 'sha512' },
    { name: 'RSA PKCS#1 v1.5 SHA-1', pair: 'rsa', inner: algorithm('1.2.840.113549.1.1.5', NULL), digest: 'sha1' },
    {
      name: 'RSA PKCS#1 v1.5 SHA-256 without the NULL',
      pair: 'rsa',
      inner: algorithm('1.2.840.113549.1.1.11'),
      digest: 'sha256',
    },
    {
      name: 'RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32',
      pair: 'rsa',
      inner: pssAlgorithm(SHA256, 32),
      digest: 'sha256',
      options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    },
    {
      name: 'RSASSA-PSS SHA-384, MGF1-SHA-384, default salt (20)',
      pair: 'rsa',
      inner: pssAlgorithm(SHA384),
      digest: 'sha384',
      options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 },
    },
    { name: 'Ed25519', pair: 'ed25519', inner: algorithm('1.3.101.112'), digest: null },
    { name: 'Ed448', pair: 'ed448', inner: algorithm('1.3.101.113'), digest: null },
  ];

  for (const family of families) {
    it(`${family.name}: verified without Node's object; a bad signature and another key are refused`, () => {
      const keys = pair(family.pair);
      const sign = signer(keys.privateKey, family.digest, family.options);
      const issuer = issuerOf(template, keys, family.inner, sign);
      const good = build(template, { spki: subjectSpki, inner: family.inner, signer: sign });
      expect(judge(good, issuer.record)).to.deep.equal({ ours: true, node: true, fallback: false });

      const tampered = build(template, { spki: subjectSpki, inner: family.inner, signer: sign, tamper: true });
      expect(judge(tampered, issuer.record)).to.deep.equal({ ours: false, node: false, fallback: false });

      const other = pair(family.pair, 1);
      const stranger = issuerOf(template, other, family.inner, signer(other.privateKey, family.digest, family.options));
      expect(judge(good, stranger.record)).to.deep.equal({ ours: false, node: false, fallback: false });
    });
  }

  it('attacker: an outer algorithm that differs from the signed one is refused, as X509_verify refuses it', () => {
    const keys = pair('p256');
    const sign = signer(keys.privateKey, 'sha256');
    const issuer = issuerOf(template, keys, algorithm('1.2.840.10045.4.3.2'), sign);
    // Signed under ECDSA-SHA256 (inner), presented as ECDSA-SHA384 outside, and the reverse trick:
    // inner SHA-384 while the signature is a SHA-256 one named outside.
    for (const [inner, outer] of [
      [algorithm('1.2.840.10045.4.3.2'), algorithm('1.2.840.10045.4.3.3')],
      [algorithm('1.2.840.10045.4.3.3'), algorithm('1.2.840.10045.4.3.2')],
    ] as const) {
      const der = build(template, { spki: subjectSpki, inner, outer, signer: sign });
      expect(judge(der, issuer.record)).to.deep.equal({ ours: false, node: false, fallback: false });
    }
    // The same bytes with the same algorithm inside and out verify: the refusal is the mismatch alone.
    const same = build(template, { spki: subjectSpki, inner: algorithm('1.2.840.10045.4.3.2'), signer: sign });
    expect(judge(same, issuer.record).ours).to.equal(true);
  });

  it('attacker: a signature made under one scheme is not accepted under another (key type, PSS salt)', () => {
    const rsa = pair('rsa');
    const pkcs1 = signer(rsa.privateKey, 'sha256');
    const issuer = issuerOf(template, rsa, algorithm('1.2.840.113549.1.1.11', NULL), pkcs1);
    // A PKCS#1 v1.5 signature labelled ECDSA: the key is RSA, so OpenSSL refuses; so do we.
    const asEcdsa = build(template, { spki: subjectSpki, inner: algorithm('1.2.840.10045.4.3.2'), signer: pkcs1 });
    expect(judge(asEcdsa, issuer.record)).to.include({ ours: false, node: false });
    // A PSS signature with salt 20 labelled salt 32: the salt length is checked exactly.
    const salt20 = signer(rsa.privateKey, 'sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
    const wrongSalt = build(template, { spki: subjectSpki, inner: pssAlgorithm(SHA256, 32), signer: salt20 });
    expect(judge(wrongSalt, issuer.record)).to.deep.equal({ ours: false, node: false, fallback: false });
    // A PKCS#1 v1.5 signature labelled PSS is no PSS signature.
    const pkcs1AsPss = build(template, { spki: subjectSpki, inner: pssAlgorithm(SHA256, 32), signer: pkcs1 });
    expect(judge(pkcs1AsPss, issuer.record)).to.deep.equal({ ours: false, node: false, fallback: false });
  });

  it('what is not mapped goes to OpenSSL, which decides (an RSASSA-PSS key, MGF1 over another digest, unused bits, ECDSA with NULL parameters)', () => {
    // An RSASSA-PSS issuer key restricted to SHA-256 with MGF1-SHA-1: its own restrictions are
    // OpenSSL's to enforce, so the valid signature is verified by Node's object.
    const restricted = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      hashAlgorithm: 'sha256',
      mgf1HashAlgorithm: 'sha1',
    });
    const pss = signer(restricted.privateKey, 'sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    const issuer = issuerOf(template, restricted, pssAlgorithm(SHA256, 32, SHA1), pss);
    const mgfSha1 = build(template, { spki: subjectSpki, inner: pssAlgorithm(SHA256, 32, SHA1), signer: pss });
    expect(judge(mgfSha1, issuer.record)).to.deep.equal({ ours: true, node: true, fallback: true });
    const tampered = build(template, {
      spki: subjectSpki,
      inner: pssAlgorithm(SHA256, 32, SHA1),
      signer: pss,
      tamper: true,
    });
    expect(judge(tampered, issuer.record)).to.deep.equal({ ours: false, node: false, fallback: true });

    const ec = pair('p256');
    const sign = signer(ec.privateKey, 'sha256');
    const ecIssuer = issuerOf(template, ec, algorithm('1.2.840.10045.4.3.2'), sign);
    // A signature BIT STRING that claims unused bits: OpenSSL refuses it (and parses nothing else).
    const unused = build(template, {
      spki: subjectSpki,
      inner: algorithm('1.2.840.10045.4.3.2'),
      signer: sign,
      unusedBits: 1,
    });
    expect(judge(unused, ecIssuer.record)).to.include({ ours: false, node: false });
    // ECDSA with NULL parameters is not the common encoding: not mapped, OpenSSL decides.
    const withNull = build(template, {
      spki: subjectSpki,
      inner: algorithm('1.2.840.10045.4.3.2', NULL),
      signer: sign,
    });
    const nullJudged = judge(withNull, ecIssuer.record);
    expect(nullJudged.fallback).to.equal(true);
    expect(nullJudged.ours).to.equal(nullJudged.node);
  });

  it('an issuer key node:crypto cannot load signs nothing (no throw)', () => {
    const sign = signer(pair('p256').privateKey, 'sha256');
    const child = build(template, { spki: subjectSpki, inner: algorithm('1.2.840.10045.4.3.2'), signer: sign });
    // An EC key on an unknown curve OID: the issuer certificate parses, its key does not load.
    const spki = tlv(0x30, algorithm('1.2.840.10045.2.1', oid('1.2.3.4')), tlv(0x03, Buffer.from([0, 4, 1, 2])));
    const issuer = new CertificateRecord(
      build(template, { spki, inner: algorithm('1.2.840.10045.4.3.2'), signer: sign }),
    );
    expect(signatureVerifies(new CertificateRecord(child), issuer)).to.equal(false);
  });
});
