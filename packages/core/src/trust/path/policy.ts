/**
 * What a verification accepts: the `VerifyPolicy` (signature digests, key sizes and curves, and
 * the switches that relax one RFC 5280 profile rule each), compiled once, and the purposes (the
 * extended key usage the leaf must allow, and the key usages that go with it).
 */
import { generateKeyPairSync, getCurves } from 'node:crypto';
import { ClientCertError } from '../../errors.js';
import { isDottedOid } from '../../x509/der.js';
import { KeyUsageBit, type PublicKeyFacts, publicKeyFactsOfSpki } from '../../x509/extensions.js';

/**
 * Which signatures and keys are strong enough, and which RFC 5280 profile rules may be relaxed.
 * The profile switches are all false by default: each accepts one kind of non-conforming
 * certificate (typically from a legacy private CA) anywhere on the path, anchors included, and is
 * named in the message of the failure it would have prevented.
 */
export interface VerifyPolicy {
  /** Accept SHA-1 signatures below the trust anchor (default false). MD2, MD4, MD5 never are. */
  allowSha1Signatures?: boolean;
  /** Smallest RSA modulus, in bits, for any key on the path, anchors included (default 2048; 1024–16384). */
  minRsaBits?: number;
  /**
   * Largest RSA modulus, in bits (default 8192, or `minRsaBits` when that is larger; up to 16384,
   * OpenSSL's own limit). Verification cost grows with the square of the size: an 8192-bit key
   * costs about 8 times a 2048-bit one, a 16384-bit one about 40 times, and a chain can bring any.
   */
  maxRsaBits?: number;
  /**
   * Curves accepted for EC keys anywhere on the path (default P-256, P-384, P-521), by NIST name
   * (`P-256`) or OpenSSL name (`prime256v1`, `secp256k1`, `brainpoolP256r1`, ...).
   */
  ecCurves?: readonly string[];
  /**
   * Accept a certificate that is not self-issued without an authorityKeyIdentifier holding a
   * keyIdentifier (RFC 5280 §4.2.1.1), as CAs that omit key identifiers issue them.
   */
  allowMissingAuthorityKeyId?: boolean;
  /** Accept a CA certificate (cA=TRUE) without a subjectKeyIdentifier (RFC 5280 §4.2.1.2). */
  allowMissingSubjectKeyId?: boolean;
  /** Accept a CA certificate whose basicConstraints is not marked critical (RFC 5280 §4.2.1.9; easy-rsa writes them so). */
  allowNonCriticalBasicConstraints?: boolean;
  /** Accept a certificate with an empty subject whose subjectAltName is absent or not critical (RFC 5280 §4.2.1.6). */
  allowEmptySubjectWithoutCriticalSan?: boolean;
  /**
   * Accept a CA whose dNSName name constraints have a leading period (`.example.com`), read as
   * "subdomains only" as OpenSSL and Go read it (RFC 5280 §4.2.1.10 has no such syntax for dNSNames).
   */
  allowLeadingDotDnsConstraints?: boolean;
  /**
   * Accept dNSName subjectAltNames outside the preferred name syntax (RFC 5280 §4.2.1.6): an
   * underscore, an IP address written as a DNS name, an empty label or a trailing period.
   */
  allowNonPreferredDnsNames?: boolean;
}

/** The switches of `VerifyPolicy` that relax one RFC 5280 profile rule each. */
export const PROFILE_SWITCHES = [
  'allowMissingAuthorityKeyId',
  'allowMissingSubjectKeyId',
  'allowNonCriticalBasicConstraints',
  'allowEmptySubjectWithoutCriticalSan',
  'allowLeadingDotDnsConstraints',
  'allowNonPreferredDnsNames',
] as const;
export type ProfileSwitch = (typeof PROFILE_SWITCHES)[number];

/** A validated `VerifyPolicy`, from `compileVerifyPolicy`. */
export interface CompiledVerifyPolicy extends Readonly<Record<ProfileSwitch, boolean>> {
  readonly allowSha1Signatures: boolean;
  readonly minRsaBits: number;
  readonly maxRsaBits: number;
  /** OpenSSL curve names. */
  readonly ecCurves: ReadonlySet<string>;
  /** OIDs of the curves of `ecCurves` that the key reader knows by OID only (see `PublicKeyFacts`). */
  readonly ecCurveOids: ReadonlySet<string>;
}

/** Largest `maxRsaBits`: OpenSSL does not verify with larger RSA keys at all. */
const RSA_BITS_LIMIT = 16384;

// ---------------------------------------------------------------------------------------------
// Purposes

const PURPOSE_NAMES: readonly (readonly [string, string])[] = [
  ['clientAuth', '1.3.6.1.5.5.7.3.2'],
  ['serverAuth', '1.3.6.1.5.5.7.3.1'],
  ['codeSigning', '1.3.6.1.5.5.7.3.3'],
  ['emailProtection', '1.3.6.1.5.5.7.3.4'],
  ['timeStamping', '1.3.6.1.5.5.7.3.8'],
  ['OCSPSigning', '1.3.6.1.5.5.7.3.9'],
];
/** Lower-cased purpose name → EKU OID. */
const PURPOSES: ReadonlyMap<string, string> = new Map(PURPOSE_NAMES.map(([name, oid]) => [name.toLowerCase(), oid]));

/**
 * keyUsage bits of which a TLS leaf needs one, when it has the extension (RFC 5246 §7.4.2 and
 * §7.4.6, RFC 8446 §4.4.2.2; the same sets as OpenSSL's purpose checks): a client signs
 * CertificateVerify (digitalSignature) or uses a fixed (EC)DH key (keyAgreement); a server also
 * decrypts an RSA key exchange (keyEncipherment). Other purposes get no key usage check.
 */
export const PURPOSE_KEY_USAGE: ReadonlyMap<string, number> = new Map([
  ['1.3.6.1.5.5.7.3.2', KeyUsageBit.digitalSignature | KeyUsageBit.keyAgreement],
  ['1.3.6.1.5.5.7.3.1', KeyUsageBit.digitalSignature | KeyUsageBit.keyEncipherment | KeyUsageBit.keyAgreement],
]);

/**
 * The EKU OID a purpose name stands for, or null for `any` (no EKU check). Names are
 * case-insensitive. Throws `invalid_option` for anything else, so options can be validated once.
 */
export function resolvePurpose(purpose: string | undefined): string | null {
  if (purpose === undefined) return PURPOSES.get('clientauth')!;
  if (typeof purpose !== 'string') throw new ClientCertError('invalid_option', 'purpose must be a string');
  const name = purpose.toLowerCase();
  if (name === 'any') return null;
  const oid = PURPOSES.get(name) ?? (isDottedOid(purpose) ? purpose : undefined);
  if (oid === undefined) {
    throw new ClientCertError(
      'invalid_option',
      `unknown purpose; use one of ${PURPOSE_NAMES.map(([name]) => name).join(', ')}, any, or a dotted OID`,
    );
  }
  return oid;
}

// ---------------------------------------------------------------------------------------------
// Policy

/** NIST names of the curves Node reports by OpenSSL name. */
const CURVE_ALIASES: ReadonlyMap<string, string> = new Map([
  ['p-256', 'prime256v1'],
  ['secp256r1', 'prime256v1'],
  ['p-384', 'secp384r1'],
  ['p-521', 'secp521r1'],
]);
const DEFAULT_CURVES: readonly string[] = ['prime256v1', 'secp384r1', 'secp521r1'];
const POLICY_KEYS: ReadonlySet<string> = new Set([
  'allowSha1Signatures',
  'minRsaBits',
  'maxRsaBits',
  'ecCurves',
  ...PROFILE_SWITCHES,
]);
const compiledPolicies = new WeakSet<CompiledVerifyPolicy>();
const policyCache = new WeakMap<object, CompiledVerifyPolicy>();

function policyError(problem: string): ClientCertError {
  return new ClientCertError('invalid_option', `policy: ${problem}`);
}

/** How a curve appears in a SubjectPublicKeyInfo, learnt once per name from a key Node makes on it. */
const curveIdentities = new Map<string, PublicKeyFacts>();

function curveIdentity(name: string): PublicKeyFacts {
  let facts = curveIdentities.get(name);
  if (facts === undefined) {
    try {
      const spki = generateKeyPairSync('ec', { namedCurve: name }).publicKey.export({ type: 'spki', format: 'der' });
      facts = publicKeyFactsOfSpki(spki) ?? { type: 'ec' };
    } catch {
      facts = { type: 'ec' };
    }
    curveIdentities.set(name, facts);
  }
  return facts;
}

function compileCurves(curves: unknown): { ecCurves: ReadonlySet<string>; ecCurveOids: ReadonlySet<string> } {
  if (curves === undefined) return { ecCurves: new Set(DEFAULT_CURVES), ecCurveOids: new Set() };
  if (!Array.isArray(curves)) throw policyError('ecCurves must be an array of curve names');
  const known = new Set(getCurves());
  const ecCurves = new Set<string>();
  const ecCurveOids = new Set<string>();
  for (const curve of curves as unknown[]) {
    if (typeof curve !== 'string') throw policyError('ecCurves must be an array of curve names');
    const name = CURVE_ALIASES.get(curve.toLowerCase()) ?? curve;
    if (!known.has(name)) throw policyError('ecCurves has a curve this Node.js does not know');
    ecCurves.add(name);
    if (DEFAULT_CURVES.includes(name)) continue;
    // Keys are judged from their DER, where a curve is an OID: learn it from a key on the curve.
    const identity = curveIdentity(name);
    if (identity.curve !== undefined) ecCurves.add(identity.curve);
    else if (identity.curveOid !== undefined) ecCurveOids.add(identity.curveOid);
    else
      throw policyError(
        `ecCurves: Node.js cannot make keys on "${name}", so certificates cannot use it; use a named curve such as P-256`,
      );
  }
  return { ecCurves, ecCurveOids };
}

/**
 * Validates a `VerifyPolicy` once (throwing `invalid_option` naming the bad field) and returns the
 * form `verifyChainSync` uses without re-validating.
 */
export function compileVerifyPolicy(policy: VerifyPolicy | CompiledVerifyPolicy = {}): CompiledVerifyPolicy {
  if (compiledPolicies.has(policy as CompiledVerifyPolicy)) return policy as CompiledVerifyPolicy;
  const cached = policyCache.get(policy);
  if (cached !== undefined) return cached;
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw policyError('must be an object');
  for (const key of Object.keys(policy)) if (!POLICY_KEYS.has(key)) throw policyError(`unknown option "${key}"`);
  const { allowSha1Signatures = false, minRsaBits = 2048, ecCurves } = policy as VerifyPolicy;
  if (typeof allowSha1Signatures !== 'boolean') throw policyError('allowSha1Signatures must be a boolean');
  if (!Number.isInteger(minRsaBits) || minRsaBits < 1024 || minRsaBits > RSA_BITS_LIMIT) {
    throw policyError(`minRsaBits must be an integer from 1024 to ${RSA_BITS_LIMIT}`);
  }
  const { maxRsaBits = Math.max(8192, minRsaBits) } = policy as VerifyPolicy;
  if (!Number.isInteger(maxRsaBits) || maxRsaBits < minRsaBits || maxRsaBits > RSA_BITS_LIMIT) {
    throw policyError(`maxRsaBits must be an integer from minRsaBits (${minRsaBits}) to ${RSA_BITS_LIMIT}`);
  }
  const switches = {} as Record<ProfileSwitch, boolean>;
  for (const name of PROFILE_SWITCHES) {
    const value = (policy as VerifyPolicy)[name] ?? false;
    if (typeof value !== 'boolean') throw policyError(`${name} must be a boolean`);
    switches[name] = value;
  }
  const compiled: CompiledVerifyPolicy = Object.freeze({
    allowSha1Signatures,
    minRsaBits,
    maxRsaBits,
    ...compileCurves(ecCurves),
    ...switches,
  });
  compiledPolicies.add(compiled);
  policyCache.set(policy, compiled);
  return compiled;
}

export const DEFAULT_POLICY = compileVerifyPolicy();
