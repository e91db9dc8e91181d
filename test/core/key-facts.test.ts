/**
 * The key-strength policy reads key type, RSA modulus length and EC curve from the DER
 * SubjectPublicKeyInfo instead of loading the key into OpenSSL (the largest cost of a new
 * certificate after Node's own parse). These tests hold that reader to Node's answer for every
 * key kind Node can generate, and check it declines (null, so Node decides) what it does not know.
 */
import { expect } from 'chai';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { publicKeyFactsOfSpki } from '../../packages/core/src/extensions.js';
import { derOid as oid, derTlv as tlv } from '../../packages/core/src/testkit-shared.js';

function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function nodeFacts(spki: Buffer): { type: string | undefined; bits?: number; curve?: string } {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  return {
    type: key.asymmetricKeyType,
    ...(details.modulusLength === undefined ? {} : { bits: details.modulusLength }),
    ...(details.namedCurve === undefined ? {} : { curve: details.namedCurve }),
  };
}

describe('core/key facts from the SubjectPublicKeyInfo', () => {
  const keys: Array<[string, () => KeyObject]> = [
    ['RSA 1024', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
    ['RSA 2047', () => generateKeyPairSync('rsa', { modulusLength: 2047 }).publicKey],
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey],
    ['RSA-PSS 2048', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey],
    ...['prime256v1', 'secp384r1', 'secp521r1', 'secp256k1', 'secp224r1', 'brainpoolP256r1', 'brainpoolP384r1',
      'brainpoolP512r1'].map((curve): [string, () => KeyObject] =>
      [`EC ${curve}`, () => generateKeyPairSync('ec', { namedCurve: curve }).publicKey]),
    ['Ed25519', () => generateKeyPairSync('ed25519').publicKey],
    ['Ed448', () => generateKeyPairSync('ed448').publicKey],
  ];
  for (const [name, make] of keys) {
    it(`reads ${name} exactly as Node does`, () => {
      const spki = spkiOf(make());
      expect(publicKeyFactsOfSpki(spki)).to.deep.equal(nodeFacts(spki));
    });
  }

  it('declines keys it does not know, so Node decides: X25519, DSA, an EC curve outside its table', () => {
    expect(publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('x25519').publicKey))).to.equal(null);
    expect(publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey)))
      .to.equal(null);
    expect(publicKeyFactsOfSpki(spkiOf(generateKeyPairSync('ec', { namedCurve: 'sect571r1' }).publicKey))).to.equal(null);
  });

  it('declines broken keys instead of guessing: truncated, trailing bytes, a negative modulus, explicit EC parameters', () => {
    const rsa = spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(publicKeyFactsOfSpki(rsa.subarray(0, rsa.length - 1))).to.equal(null);
    expect(publicKeyFactsOfSpki(Buffer.concat([rsa, Buffer.from([0])]))).to.equal(null);
    const rsaKey = (modulus: number[]): Buffer => tlv(0x30, tlv(0x30, oid('1.2.840.113549.1.1.1'), tlv(0x05)),
      tlv(0x03, Buffer.from([0]), tlv(0x30, tlv(0x02, Buffer.from(modulus)), tlv(0x02, Buffer.from([1, 0, 1])))));
    expect(publicKeyFactsOfSpki(rsaKey([0x00, 0x80, 0x01]))).to.deep.equal({ type: 'rsa', bits: 16 }); // the builder works
    expect(publicKeyFactsOfSpki(rsaKey([0x80, 0x01]))).to.equal(null); // negative
    expect(publicKeyFactsOfSpki(rsaKey([0x00]))).to.equal(null); // zero
    const explicit = spkiOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1', paramEncoding: 'explicit' }).publicKey);
    expect(publicKeyFactsOfSpki(explicit)).to.equal(null);
    expect(publicKeyFactsOfSpki(Buffer.from([0x30, 0x00]))).to.equal(null);
    expect(publicKeyFactsOfSpki(Buffer.alloc(40, 0xff))).to.equal(null);
  });
});
