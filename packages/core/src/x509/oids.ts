/**
 * Every OBJECT IDENTIFIER this package acts on, by name, and the algorithm tables keyed by OID.
 * Distinguished-name attribute types are in attributes.ts, one row per attribute.
 */

/** Extensions, CRL and OCSP fields, and the values they carry. */
export const Oid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  certificateIssuer: '2.5.29.29',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
  anyPolicy: '2.5.29.32.0',
  anyExtendedKeyUsage: '2.5.29.37.0',
  emailAddress: '1.2.840.113549.1.9.1',
  commonName: '2.5.4.3',
  ocspAccess: '1.3.6.1.5.5.7.48.1',
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  rsassaPss: '1.2.840.113549.1.1.10',
} as const;

/**
 * keyUsage bits (RFC 5280 §4.2.1.3) as a mask: bit n of the BIT STRING is `1 << n`, so
 * digitalSignature, the first bit on the wire (0x80 of the first octet), is `1 << 0`.
 */
export const KeyUsageBit = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

/** The key types a SubjectPublicKeyInfo algorithm names, in node:crypto's `asymmetricKeyType` terms. */
export type KeyType = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448';

export const KEY_ALGORITHMS: ReadonlyMap<string, KeyType> = new Map<string, KeyType>([
  ['1.2.840.113549.1.1.1', 'rsa'],
  ['1.2.840.113549.1.1.10', 'rsa-pss'],
  ['1.2.840.10045.2.1', 'ec'],
  ['1.3.101.112', 'ed25519'],
  ['1.3.101.113', 'ed448'],
]);

/** Named curves by OID, with OpenSSL's names (what `KeyObject.asymmetricKeyDetails` reports). */
export const NAMED_CURVES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10045.3.1.7', 'prime256v1'],
  ['1.3.132.0.34', 'secp384r1'],
  ['1.3.132.0.35', 'secp521r1'],
  ['1.3.132.0.33', 'secp224r1'],
  ['1.3.132.0.10', 'secp256k1'],
  ['1.3.36.3.3.2.8.1.1.7', 'brainpoolP256r1'],
  ['1.3.36.3.3.2.8.1.1.11', 'brainpoolP384r1'],
  ['1.3.36.3.3.2.8.1.1.13', 'brainpoolP512r1'],
]);

/** A digest as node:crypto names it. */
export type DigestName =
  | 'md2'
  | 'md4'
  | 'md5'
  | 'sha1'
  | 'sha224'
  | 'sha256'
  | 'sha384'
  | 'sha512'
  | 'sha3-224'
  | 'sha3-256'
  | 'sha3-384'
  | 'sha3-512';

/** One signature algorithm: its digest (null for EdDSA, which hashes internally) and key type. */
export interface SignatureAlgorithm {
  readonly digest: DigestName | null;
  readonly key: 'rsa' | 'ec' | 'dsa' | 'ed25519' | 'ed448';
}

const rsa = (digest: DigestName): SignatureAlgorithm => ({ digest, key: 'rsa' });
const ec = (digest: DigestName): SignatureAlgorithm => ({ digest, key: 'ec' });
const dsa = (digest: DigestName): SignatureAlgorithm => ({ digest, key: 'dsa' });

/**
 * Signature AlgorithmIdentifiers by OID. RSASSA-PSS is not here: it names its digest in its
 * parameters (public-key.ts `signatureHashOf`).
 */
export const SIGNATURE_ALGORITHMS: ReadonlyMap<string, SignatureAlgorithm> = new Map([
  ['1.2.840.113549.1.1.2', rsa('md2')],
  ['1.2.840.113549.1.1.3', rsa('md4')],
  ['1.2.840.113549.1.1.4', rsa('md5')],
  ['1.3.14.3.2.3', rsa('md5')], // OIW md5WithRSA
  ['1.2.840.113549.1.1.5', rsa('sha1')],
  ['1.3.14.3.2.29', rsa('sha1')], // OIW sha1WithRSASignature
  ['1.2.840.113549.1.1.14', rsa('sha224')],
  ['1.2.840.113549.1.1.11', rsa('sha256')],
  ['1.2.840.113549.1.1.12', rsa('sha384')],
  ['1.2.840.113549.1.1.13', rsa('sha512')],
  ['2.16.840.1.101.3.4.3.13', rsa('sha3-224')],
  ['2.16.840.1.101.3.4.3.14', rsa('sha3-256')],
  ['2.16.840.1.101.3.4.3.15', rsa('sha3-384')],
  ['2.16.840.1.101.3.4.3.16', rsa('sha3-512')],
  ['1.2.840.10045.4.1', ec('sha1')],
  ['1.2.840.10045.4.3.1', ec('sha224')],
  ['1.2.840.10045.4.3.2', ec('sha256')],
  ['1.2.840.10045.4.3.3', ec('sha384')],
  ['1.2.840.10045.4.3.4', ec('sha512')],
  ['2.16.840.1.101.3.4.3.9', ec('sha3-224')],
  ['2.16.840.1.101.3.4.3.10', ec('sha3-256')],
  ['2.16.840.1.101.3.4.3.11', ec('sha3-384')],
  ['2.16.840.1.101.3.4.3.12', ec('sha3-512')],
  ['1.2.840.10040.4.3', dsa('sha1')],
  ['1.3.14.3.2.27', dsa('sha1')], // OIW dsaWithSHA1
  ['2.16.840.1.101.3.4.3.1', dsa('sha224')],
  ['2.16.840.1.101.3.4.3.2', dsa('sha256')],
  ['1.3.101.112', { digest: null, key: 'ed25519' }],
  ['1.3.101.113', { digest: null, key: 'ed448' }],
] as const);

/** Digest AlgorithmIdentifiers by OID (RSASSA-PSS parameters, OCSP CertIDs). */
export const DIGEST_ALGORITHMS: ReadonlyMap<string, DigestName> = new Map<string, DigestName>([
  ['1.2.840.113549.2.5', 'md5'],
  ['1.3.14.3.2.26', 'sha1'],
  ['2.16.840.1.101.3.4.2.4', 'sha224'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
  ['2.16.840.1.101.3.4.2.7', 'sha3-224'],
  ['2.16.840.1.101.3.4.2.8', 'sha3-256'],
  ['2.16.840.1.101.3.4.2.9', 'sha3-384'],
  ['2.16.840.1.101.3.4.2.10', 'sha3-512'],
]);

/** The digests the weak-algorithm policy refuses; every other known digest is strong. */
export const WEAK_DIGESTS: ReadonlySet<DigestName> = new Set<DigestName>(['md2', 'md4', 'md5', 'sha1']);
