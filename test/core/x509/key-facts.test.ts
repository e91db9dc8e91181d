/**
 * The key-strength policy reads key type, RSA modulus length and public exponent, and EC curve
 * from the DER SubjectPublicKeyInfo instead of loading the key into OpenSSL: a key must be judged
 * before it is used at all (one with a huge exponent costs milliseconds per signature), and
 * loading is the largest cost of a new certificate after Node's own parse. These tests hold that
 * reader to Node's answer for every key kind Node can generate, and check it declines (null, which
 * the policy refuses) what it does not know, and reports what it must refuse as it is.
 */

import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import { derOid as oid, derTlv as tlv } from '../../../packages/core/src/testkit/shared.js';
import { publicKeyFactsOfSpki } from '../../../packages/core/src/x509/extensions.js';

function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function nodeFacts(spki: Buffer): { type: string | undefined; bits?: number; publicExponent?: bigint; curve?: string } {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  return {
    type: key.asymmetricKeyType,
    ...(details.modulusLength === undefined ? {} : { bits: details.modulusLength }),
    ...(details.publicExponent === undefined ? {} : { publicExponent: details.publicExponent }),
    ...(details.namedCurve === undefined ? {} : { curve: details.namedCurve }),
  };
}

/** An RSA SubjectPublicKeyInfo with the given modulus and exponent contents. */
function rsaKey(modulus: number[] | Buffer, exponent: number[] | Buffer = [1, 0, 1]): Buffer {
  return tlv(
    0x30,
    tlv(0x30, oid('1.2.840.113549.1.1.1'), tlv(0x05)),
    tlv(0x03, Buffer.from([0]), tlv(0x30, tlv(0x02, Buffer.from(modulus)), tlv(0x02, Buffer.from(exponent)))),
  );
}

describe('core/key facts from the SubjectPublicKeyInfo', () => {
  const keys: Array<[string, () => KeyObject]> = [
    ['RSA 1024', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
    ['RSA 2047', () => generateKeyPairSync('rsa', { modulusLength: 2047 }).publicKey],
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey],
    ['RSA 2048, e = 3', () => generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey],
    [
      'RSA 2048, e = 2^32-1',
      () => generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0xffffffff }).publicKey,
    ],
    ['RSA-PSS 2048', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey],
    ...[
      'prime256v1',
      'secp384r1',
      'secp521r1',
      'secp256k1',
      'secp224r1',
      'brainpoolP256r1',
      'brainpoolP384r1',
      'brainpoolP512r1',
    ].map((curve): [string, () => KeyObject] => [
      `EC ${curve}`,
      () => generateKeyPairSync('ec', { namedCurve: curve }).publicKey,
    ]),
    ['Ed25519', () => generateKeyPairSync('ed25519').publicKey],
    ['Ed448', () => generateKeyPairSync('ed448').publicKey],
  ];
  for (const [name, make] of keys) {
    it(`reads ${name} exactly as Node does`, () => {
      const spki = spkiOf(make());
      expect(publicKeyFactsOfSpki(spki)).to.deep.equal(nodeFacts(spki));
    });
  }

  it('declines keys it does not know, which the policy refuses: X25519, DSA', () => {
    expect(publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('x25519').publicKey))).to.equal(null);
    expect(
      publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey)),
    ).to.equal(null);
  });

  it('names a curve outside its table by OID, and an EC key with explicit parameters by no curve at all', () => {
    expect(
      publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('ec', { namedCurve: 'sect571r1' }).publicKey)),
    ).to.deep.equal({ type: 'ec', curveOid: '1.3.132.0.39' });
    const explicit = spkiOf(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1', paramEncoding: 'explicit' }).publicKey,
    );
    expect(publicKeyFactsOfSpki(explicit)).to.deep.equal({ type: 'ec' });
  });

  it('reads an RSA exponent of any size exactly, as the policy must refuse it before OpenSSL uses it', () => {
    const big = Buffer.concat([Buffer.from([0x7f]), Buffer.alloc(255, 0xab), Buffer.from([0x01])]); // 2063 bits, odd
    const modulus = Buffer.concat([Buffer.from([0x00, 0xc1]), Buffer.alloc(254, 0x5a), Buffer.from([0x03])]); // 2048 bits
    const facts = publicKeyFactsOfSpki(rsaKey(modulus, big));
    expect(facts).to.deep.equal({ type: 'rsa', bits: 2048, publicExponent: BigInt(`0x${big.toString('hex')}`) });
    expect(nodeFacts(rsaKey(modulus, big)).publicExponent).to.equal(facts!.publicExponent); // Node agrees
    expect(publicKeyFactsOfSpki(rsaKey(modulus, [0x00, 0x00, 0x03]))).to.deep.equal({
      type: 'rsa',
      bits: 2048,
      publicExponent: 3n,
    });
  });

  it('declines broken keys instead of guessing: truncated, trailing bytes, a negative, zero or even modulus, a bad exponent', () => {
    const rsa = spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(publicKeyFactsOfSpki(rsa.subarray(0, rsa.length - 1))).to.equal(null);
    expect(publicKeyFactsOfSpki(Buffer.concat([rsa, Buffer.from([0])]))).to.equal(null);
    expect(publicKeyFactsOfSpki(rsaKey([0x00, 0x80, 0x01]))).to.deep.equal({
      type: 'rsa',
      bits: 16,
      publicExponent: 65537n,
    }); // the builder works
    expect(publicKeyFactsOfSpki(rsaKey([0x80, 0x01]))).to.equal(null); // negative
    expect(publicKeyFactsOfSpki(rsaKey([0x00]))).to.equal(null); // zero
    expect(publicKeyFactsOfSpki(rsaKey([0x00, 0x80, 0x02]))).to.equal(null); // even: no RSA modulus is
    expect(publicKeyFactsOfSpki(rsaKey([0x00, 0x80, 0x01], [0xff]))).to.equal(null); // negative exponent
    expect(publicKeyFactsOfSpki(rsaKey([0x00, 0x80, 0x01], []))).to.equal(null); // empty exponent
    const three = tlv(
      0x30,
      tlv(0x30, oid('1.2.840.113549.1.1.1'), tlv(0x05)),
      tlv(
        0x03,
        Buffer.from([0]),
        tlv(0x30, tlv(0x02, Buffer.from([0x00, 0x80, 0x01])), tlv(0x02, Buffer.from([3])), tlv(0x02, Buffer.from([3]))),
      ),
    );
    expect(publicKeyFactsOfSpki(three)).to.equal(null); // a third INTEGER
    expect(publicKeyFactsOfSpki(Buffer.from([0x30, 0x00]))).to.equal(null);
    expect(publicKeyFactsOfSpki(Buffer.alloc(40, 0xff))).to.equal(null);
  });
});
