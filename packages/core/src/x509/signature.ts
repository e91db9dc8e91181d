/**
 * Whether an issuer's key signed a certificate: `crypto.verify` over the TBSCertificate bytes with
 * the issuer's `KeyObject` (kept on its record), so no `X509Certificate` is made for either.
 *
 * This must accept exactly what OpenSSL's `X509_verify` accepts. Mapped here, each in its one
 * common encoding: ECDSA with SHA-1/SHA-2 (no parameters) under an EC key, RSA PKCS#1 v1.5 with
 * SHA-1/SHA-2 (NULL or no parameters) under an RSA key, RSASSA-PSS with a SHA-2 digest, MGF1 over
 * the same digest, an explicit or default salt length and the default trailer field under an RSA
 * key, and Ed25519/Ed448 (no parameters). The checks `X509_verify` makes around the signature are
 * made here too: the two AlgorithmIdentifiers are identical (RFC 5280 §4.1.1.2), and the signature
 * BIT STRING has no unused bits. Anything else (another digest, parameters in another form, an
 * RSASSA-PSS key with its own restrictions, a key of an unexpected type) goes to the certificate's
 * `X509Certificate.verify`: OpenSSL decides what it alone can be sure of, at the cost of making
 * the object. A key refused by the key policy never gets here (trust/path/builder.ts).
 */
import { constants, type KeyObject, verify } from 'node:crypto';
import { isClientCertError } from '../errors.js';
import { contextTag, DerCursor, decodeOid, readNonNegativeInteger, sameEncoding, Tag, type Tlv } from './der.js';
import type { CertificateRecord } from './facts.js';
import { DIGEST_ALGORITHMS, type DigestName, Oid, SIGNATURE_ALGORITHMS } from './oids.js';

/** How to check one signature with `crypto.verify`. */
interface Plan {
  /** The digest, or null for EdDSA. */
  readonly digest: DigestName | null;
  /** The `asymmetricKeyType` the issuer's key must have. */
  readonly keyType: 'ec' | 'rsa' | 'ed25519' | 'ed448';
  /** RSASSA-PSS: its salt length. */
  readonly pssSalt?: number;
}

const FAST_DIGESTS: ReadonlySet<DigestName | null> = new Set<DigestName | null>([
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  null,
]);
const PSS_DIGESTS: ReadonlySet<DigestName> = new Set<DigestName>(['sha256', 'sha384', 'sha512']);
const MGF1 = '1.2.840.113549.1.1.8';
/** RFC 4055 §3.1: saltLength DEFAULT 20. */
const DEFAULT_PSS_SALT = 20;

/**
 * Whether `issuer`'s key verifies `child`'s signature (false, never a throw, for anything broken).
 * Not remembered here: the path builder keeps verdicts per pair (facts.ts `signatureBy`).
 */
export function signatureVerifies(child: CertificateRecord, issuer: CertificateRecord): boolean {
  try {
    const { der } = child;
    const layout = child.tbs;
    // X509_verify refuses a mismatch: the signature must be checked under what the CA signed.
    if (!sameEncoding(der, layout.signatureAlgorithm, layout.innerSignature)) return false;
    const key = issuer.publicKey;
    const plan = planOf(der, layout.signatureAlgorithm);
    const value = layout.signatureValue;
    if (plan === null || key.asymmetricKeyType !== plan.keyType || der[value.valueStart] !== 0) {
      return child.x509.verify(key);
    }
    const tbs = der.subarray(layout.tbs.start, layout.tbs.end);
    const signature = der.subarray(value.valueStart + 1, value.end);
    return verify(plan.digest, tbs, keyFor(key, plan), signature);
  } catch {
    return false; // unreadable, an unsupported or broken key: simply not signed by this issuer
  }
}

function keyFor(key: KeyObject, plan: Plan): KeyObject | { key: KeyObject; padding: number; saltLength: number } {
  return plan.pssSalt === undefined ? key : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: plan.pssSalt };
}

/** The plan for a signature AlgorithmIdentifier in one of the mapped encodings, or null. */
export function planOf(der: Buffer, algorithm: Tlv): Plan | null {
  try {
    const fields = DerCursor.inside(der, algorithm);
    const oid = fields.expect(Tag.OID, 'signature algorithm');
    const name = decodeOid(der, oid.valueStart, oid.end);
    const parameters = fields.done ? undefined : fields.next('parameters');
    fields.finish('signature algorithm');
    if (name === Oid.rsassaPss) return parameters === undefined ? null : pssPlan(der, parameters);
    const known = SIGNATURE_ALGORITHMS.get(name);
    if (known === undefined || known.key === 'dsa' || !FAST_DIGESTS.has(known.digest)) return null;
    // RSA names NULL parameters (RFC 4055 §5; absent is also seen); ECDSA and EdDSA none.
    const allowed = parameters === undefined || (known.key === 'rsa' && isNull(parameters));
    return allowed ? { digest: known.digest, keyType: known.key } : null;
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    return null;
  }
}

function isNull(tlv: Tlv): boolean {
  return tlv.tag === Tag.NULL && tlv.end === tlv.valueStart;
}

/**
 * RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0], maskGenAlgorithm [1], saltLength [2],
 * trailerField [3] } (RFC 4055 §3.1), mapped only with a SHA-2 digest named explicitly, MGF1 over
 * the same digest, and the default trailer field.
 */
function pssPlan(der: Buffer, parameters: Tlv): Plan | null {
  if (parameters.tag !== Tag.SEQUENCE) return null;
  const fields = DerCursor.inside(der, parameters);
  const hash = fields.optional(contextTag(0, true), 'hashAlgorithm');
  const mask = fields.optional(contextTag(1, true), 'maskGenAlgorithm');
  const salt = fields.optional(contextTag(2, true), 'saltLength');
  fields.finish('RSASSA-PSS parameters'); // a trailerField, even the default, is not mapped
  if (hash === undefined || mask === undefined) return null;
  const digest = digestOf(der, DerCursor.inside(der, hash));
  if (digest === null || !PSS_DIGESTS.has(digest)) return null;
  const mgf = DerCursor.inside(der, mask);
  const mgfFields = DerCursor.inside(der, mgf.expect(Tag.SEQUENCE, 'maskGenAlgorithm'));
  mgf.finish('maskGenAlgorithm');
  const mgfOid = mgfFields.expect(Tag.OID, 'maskGenAlgorithm');
  if (decodeOid(der, mgfOid.valueStart, mgfOid.end) !== MGF1) return null;
  if (digestOf(der, mgfFields) !== digest) return null;
  let saltLength = DEFAULT_PSS_SALT;
  if (salt !== undefined) {
    const inner = DerCursor.inside(der, salt);
    saltLength = readNonNegativeInteger(der, inner.expect(Tag.INTEGER, 'saltLength'), 0xffff);
    inner.finish('saltLength');
  }
  return { digest, keyType: 'rsa', pssSalt: saltLength };
}

/** The digest of the one AlgorithmIdentifier under `cursor` (NULL or no parameters), or null. */
function digestOf(der: Buffer, cursor: DerCursor): DigestName | null {
  const fields = DerCursor.inside(der, cursor.expect(Tag.SEQUENCE, 'digest algorithm'));
  cursor.finish('digest algorithm');
  const oid = fields.expect(Tag.OID, 'digest algorithm');
  const parameters = fields.done ? undefined : fields.next('digest parameters');
  fields.finish('digest algorithm');
  if (parameters !== undefined && !isNull(parameters)) return null;
  return DIGEST_ALGORITHMS.get(decodeOid(der, oid.valueStart, oid.end)) ?? null;
}
