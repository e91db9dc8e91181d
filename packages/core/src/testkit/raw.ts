/**
 * What @peculiar/x509 does not write, built by hand for the test kit: name constraints, version 1
 * certificates and signatures with other digests.
 */
import { KeyObject, sign as nodeSign, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DerCursor, readTlv, Tag } from '../x509/der.js';
import { type GeneralSubtreesInput, type NameConstraintsInput, type SignatureHashInput, toName } from './index.js';
import { derOid, derTlv } from './shared.js';

type CryptoKey = webcrypto.CryptoKey;

/** Address and mask bytes of a CIDR block, as an iPAddress subtree holds them. */
function cidrBytes(cidr: string): Buffer {
  const [address, prefix] = cidr.split('/');
  const name = new x509.GeneralName('ip', address!);
  const bytes = Buffer.from(name.rawData).subarray(2); // [7] tag and short length, then the address
  const bits = prefix === undefined ? bytes.length * 8 : Number(prefix);
  const mask = Buffer.alloc(bytes.length);
  for (let bit = 0; bit < bits; bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
  return Buffer.concat([bytes, mask]);
}

function generalSubtrees(input: GeneralSubtreesInput): Buffer {
  const ascii = (tag: number) => (value: string) => derTlv(tag, Buffer.from(value, 'latin1'));
  const bases: Uint8Array[] = [
    ...(input.dns ?? []).map(ascii(0x82)),
    ...(input.email ?? []).map(ascii(0x81)),
    ...(input.uri ?? []).map(ascii(0x86)),
    ...(input.ip ?? []).map((cidr) => derTlv(0x87, cidrBytes(cidr))),
    ...(input.dn ?? []).map((name) => derTlv(0xa4, Buffer.from(toName(name).toArrayBuffer()))),
    ...(input.raw ?? []),
  ];
  return Buffer.concat(bases.map((base) => derTlv(0x30, base)));
}

export function nameConstraintsExtension(input: NameConstraintsInput | undefined): x509.Extension[] {
  if (!input) return [];
  const value = derTlv(
    0x30,
    ...(input.permitted ? [derTlv(0xa0, generalSubtrees(input.permitted))] : []),
    ...(input.excluded ? [derTlv(0xa1, generalSubtrees(input.excluded))] : []),
  );
  return [new x509.Extension('2.5.29.30', input.critical ?? true, value)];
}

const SIGNATURE_OIDS: Record<string, Partial<Record<SignatureHashInput, string>>> = {
  'RSASSA-PKCS1-v1_5': {
    MD5: '1.2.840.113549.1.1.4',
    'SHA-1': '1.2.840.113549.1.1.5',
    'SHA-256': '1.2.840.113549.1.1.11',
    'SHA-384': '1.2.840.113549.1.1.12',
    'SHA-512': '1.2.840.113549.1.1.13',
  },
  ECDSA: {
    'SHA-1': '1.2.840.10045.4.1',
    'SHA-256': '1.2.840.10045.4.3.2',
    'SHA-384': '1.2.840.10045.4.3.3',
    'SHA-512': '1.2.840.10045.4.3.4',
  },
};

/**
 * Re-signs a generated certificate with another digest and/or as version 1: the TBSCertificate's
 * fields are kept (minus version and extensions for v1), the signature AlgorithmIdentifier is
 * replaced in both places, and the result is signed with node:crypto (WebCrypto has no MD5, and
 * fixes an RSA key's digest when the key is made).
 */
export function resign(der: Buffer, signingKey: CryptoKey, hash: SignatureHashInput, version1: boolean): Buffer {
  const algorithmName = signingKey.algorithm.name;
  const oid = SIGNATURE_OIDS[algorithmName]?.[hash];
  if (oid === undefined) throw new TypeError(`testkit: cannot sign with ${algorithmName} and ${hash}`);
  const algorithm = derTlv(0x30, derOid(oid), ...(algorithmName === 'ECDSA' ? [] : [Buffer.from([0x05, 0x00])]));
  const certificate = DerCursor.inside(der, readTlv(der, 0, der.length));
  const tbs = DerCursor.inside(der, certificate.expect(Tag.SEQUENCE, 'tbsCertificate'));
  const fields: Buffer[] = [];
  let seenSerial = false;
  let replaced = false;
  while (!tbs.done) {
    const field = tbs.next('field');
    if (version1 && (field.tag === 0xa0 || field.tag === 0xa3)) continue;
    if (seenSerial && !replaced && field.tag === Tag.SEQUENCE) {
      fields.push(algorithm);
      replaced = true;
      continue;
    }
    if (field.tag === Tag.INTEGER) seenSerial = true;
    fields.push(der.subarray(field.start, field.end));
  }
  const tbsDer = derTlv(0x30, ...fields);
  const digest = hash === 'MD5' ? 'md5' : hash.replace('-', '').toLowerCase();
  const signature = nodeSign(digest, tbsDer, { key: KeyObject.from(signingKey), dsaEncoding: 'der' });
  return derTlv(0x30, tbsDer, algorithm, derTlv(0x03, Buffer.from([0]), signature));
}
