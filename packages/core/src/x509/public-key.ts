/**
 * The public key and the signature algorithm of a certificate, as the key and algorithm policies
 * judge them: read from the DER, so that a key is judged before OpenSSL ever loads or uses it.
 */
import { isClientCertError } from '../errors.js';
import { contextTag, DerCursor, decodeOid, hex, readOid, readTlv, Tag, type Tlv } from './der.js';
import {
  DIGEST_ALGORITHMS,
  type DigestName,
  KEY_ALGORITHMS,
  type KeyType,
  NAMED_CURVES,
  Oid,
  SIGNATURE_ALGORITHMS,
  WEAK_DIGESTS,
} from './oids.js';

/**
 * What the key-strength policy needs of a public key, in the terms of Node's `KeyObject`
 * (`asymmetricKeyType`, `modulusLength`, `publicExponent`, `namedCurve` with OpenSSL's curve
 * names), read from the DER so that a key is judged before OpenSSL ever loads or uses it.
 */
export interface PublicKeyFacts {
  readonly type: KeyType;
  /** RSA: the modulus length in bits. */
  readonly bits?: number;
  /** RSA: the public exponent. */
  readonly publicExponent?: bigint;
  /** EC: the OpenSSL name of a named curve in this module's table. */
  readonly curve?: string;
  /**
   * EC: the OID of a named curve outside that table (the policy learns the OIDs of the curves it
   * is given). An EC key with neither `curve` nor `curveOid` has explicit (or implicit) parameters.
   */
  readonly curveOid?: string;
}

/** Where the significant octets of a positive INTEGER are, or null for zero or a negative one (leading zeros tolerated). */
function positiveInteger(der: Buffer, integer: Tlv): { start: number; end: number; bits: number } | null {
  let start = integer.valueStart;
  if (start === integer.end || der[start]! >= 0x80) return null; // empty or negative
  while (start < integer.end && der[start] === 0) start++;
  if (start === integer.end) return null; // zero
  return { start, end: integer.end, bits: (integer.end - start - 1) * 8 + (32 - Math.clz32(der[start]!)) };
}

/**
 * The key facts of a SubjectPublicKeyInfo, read from the DER: loading the key into OpenSSL
 * (`X509Certificate.publicKey` + `asymmetricKeyDetails`) costs about as much as a signature
 * check, and a key must be judged before it is used at all. Returns null for anything not
 * recognised here (other algorithms such as DSA or X25519, a malformed key, an RSA key with an
 * even modulus, which no RSA key has); the policy refuses those.
 */
export function readPublicKeyFacts(der: Buffer, spki: Tlv): PublicKeyFacts | null {
  try {
    const fields = DerCursor.inside(der, spki);
    const algorithm = DerCursor.inside(der, fields.expect(Tag.SEQUENCE, 'algorithm'));
    const oid = algorithm.expect(Tag.OID, 'algorithm');
    const type = KEY_ALGORITHMS.get(decodeOid(der, oid.valueStart, oid.end));
    const parameters = algorithm.done ? undefined : algorithm.next('parameters');
    algorithm.finish('parameters');
    const key = fields.expect(Tag.BIT_STRING, 'subjectPublicKey');
    fields.finish('subjectPublicKey');
    if (type === undefined || key.end <= key.valueStart || der[key.valueStart] !== 0) return null;
    if (type === 'ec') {
      // ECParameters: a named curve (an OID); explicit parameters (a SEQUENCE) or implicitCA (NULL) name none.
      if (parameters?.tag !== Tag.OID) return { type };
      const curveOid = decodeOid(der, parameters.valueStart, parameters.end);
      const curve = NAMED_CURVES.get(curveOid);
      return curve === undefined ? { type, curveOid } : { type, curve };
    }
    if (type === 'rsa' || type === 'rsa-pss') {
      // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, inside the BIT STRING.
      const rsaKey = readTlv(der, key.valueStart + 1, key.end);
      if (rsaKey.tag !== Tag.SEQUENCE || rsaKey.end !== key.end) return null;
      const integers = DerCursor.inside(der, rsaKey);
      const modulus = positiveInteger(der, integers.expect(Tag.INTEGER, 'modulus'));
      const exponent = positiveInteger(der, integers.expect(Tag.INTEGER, 'publicExponent'));
      integers.finish('publicExponent');
      if (modulus === null || exponent === null || (der[modulus.end - 1]! & 1) === 0) return null;
      return { type, bits: modulus.bits, publicExponent: BigInt(`0x${hex(der, exponent.start, exponent.end)}`) };
    }
    return { type };
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    return null;
  }
}

/** `readPublicKeyFacts` over a DER SubjectPublicKeyInfo on its own (tests compare it with Node). */
export function publicKeyFactsOfSpki(spki: Buffer): PublicKeyFacts | null {
  try {
    const tlv = readTlv(spki, 0, spki.length);
    return tlv.tag === Tag.SEQUENCE && tlv.end === spki.length ? readPublicKeyFacts(spki, tlv) : null;
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    return null;
  }
}

/** The digest a signature algorithm uses, as far as the weak-algorithm policy cares. */
export type SignatureHash = 'md2' | 'md4' | 'md5' | 'sha1' | 'strong' | 'unknown';

/** A known digest is weak by name or strong; EdDSA (null) hashes internally with a strong one. */
function strength(digest: DigestName | null | undefined): SignatureHash {
  if (digest === undefined) return 'unknown';
  if (digest === null) return 'strong';
  return WEAK_DIGESTS.has(digest) ? (digest as SignatureHash) : 'strong';
}

/**
 * The digest of a signature AlgorithmIdentifier. RSASSA-PSS names it in its parameters
 * (RFC 4055 §3.1), where the DEFAULT is SHA-1.
 */
export function signatureHashOf(der: Buffer, algorithm: Tlv): SignatureHash {
  const fields = DerCursor.inside(der, algorithm);
  const oid = readOid(der, fields, 'signature algorithm');
  if (oid !== Oid.rsassaPss) return strength(SIGNATURE_ALGORITHMS.get(oid)?.digest);
  const params = fields.optional(Tag.SEQUENCE, 'RSASSA-PSS parameters');
  const hashAlgorithm =
    params === undefined ? undefined : DerCursor.inside(der, params).optional(contextTag(0, true), 'hashAlgorithm');
  if (hashAlgorithm === undefined) return 'sha1';
  const digest = DerCursor.inside(der, DerCursor.inside(der, hashAlgorithm).expect(Tag.SEQUENCE, 'hashAlgorithm'));
  return strength(DIGEST_ALGORITHMS.get(readOid(der, digest, 'hash algorithm')) ?? undefined);
}
