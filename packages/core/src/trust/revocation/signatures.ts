/**
 * Signatures on CRLs and OCSP responses. The algorithms are those of the shared table
 * (x509/oids.ts) that this module verifies: PKCS#1 v1.5 RSA and ECDSA with SHA-1 or SHA-2, and
 * EdDSA. MD2/4/5, SHA-3, DSA and RSASSA-PSS signatures are not supported here, so data signed
 * with them is not used. The key must be of the algorithm's type, so that a key cannot be used
 * under a different scheme.
 */
import { type KeyObject, verify } from 'node:crypto';
import { DerCursor, readOid, type Tlv } from '../../x509/der.js';
import { type DigestName, SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../../x509/oids.js';

export type { SignatureAlgorithm };

const DIGESTS: ReadonlySet<DigestName | null> = new Set<DigestName | null>([
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  null, // EdDSA hashes internally
]);
const KEYS: ReadonlySet<SignatureAlgorithm['key']> = new Set<SignatureAlgorithm['key']>([
  'rsa',
  'ec',
  'ed25519',
  'ed448',
]);

/** The algorithm of an AlgorithmIdentifier, or null when not supported (see the module comment). */
export function readSignatureAlgorithm(buf: Buffer, tlv: Tlv): SignatureAlgorithm | null {
  const cursor = DerCursor.inside(buf, tlv);
  const algorithm = SIGNATURE_ALGORITHMS.get(readOid(buf, cursor, 'signature algorithm'));
  return algorithm !== undefined && DIGESTS.has(algorithm.digest) && KEYS.has(algorithm.key) ? algorithm : null;
}

export function signatureValid(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  if (key.asymmetricKeyType !== algorithm.key) return false;
  try {
    return verify(algorithm.digest, data, key, signature);
  } catch {
    return false;
  }
}
