/**
 * Chain verification: RFC 5280 §6 path validation of a leaf against configured trust anchors,
 * over a path built from the certificates the client presented and the configured intermediates.
 *
 * node:crypto parses certificates and checks signatures; extensions.ts reads what path validation
 * needs from the DER (cached per certificate object); name-constraints.ts and policies.ts hold the
 * two larger algorithms. This module builds paths and applies the checks:
 *
 * - Signatures (`X509Certificate.verify`) and a weak-algorithm policy (`VerifyPolicy`): on every
 *   certificate below the anchor (the anchor's self-signature is not relied on, §6.1), MD2/MD4/MD5
 *   signatures always, SHA-1 signatures unless allowed, and algorithms outside a known-strong list;
 *   anywhere on the path, anchors included (an anchor's key signs everything under it), RSA keys
 *   outside `minRsaBits`..`maxRsaBits` or with a public exponent that is not odd and from 3 to
 *   2^32-1, EC keys on curves outside `ecCurves` or with explicit parameters, and DSA or other key
 *   types.
 * - Key policy before any signature: the leaf's key, and every issuer candidate's key before that
 *   key verifies anything, are judged from the DER alone (extensions.ts), never loaded into
 *   OpenSSL first. A chain can choose its keys, and one RSA verification with a 2048-bit exponent
 *   costs as much as a hundred ordinary ones: a key the policy refuses is never used.
 * - Validity of every certificate, the anchor included, at `at` with a tolerance, in whole
 *   seconds: notBefore and notAfter themselves are inside the period (§4.1.2.5).
 * - basicConstraints: every issuer is a v3 certificate with cA=TRUE; pathLenConstraint counts the
 *   non-self-issued intermediates below a CA (§6.1.4 (l)(m)).
 * - keyUsage: an issuer that has it asserts keyCertSign; a certificate asserting keyCertSign is a
 *   CA (§4.2.1.3); the leaf's allows the TLS purpose (see `PURPOSE_KEY_USAGE`).
 * - extKeyUsage: the leaf's, and an issuer's when it has one, contains the purpose or
 *   anyExtendedKeyUsage (what OpenSSL, Go and Windows do; RFC 5280 does not chain EKU).
 * - Name constraints of every CA on the path, the anchor included (name-constraints.ts).
 * - Certificate policies (policies.ts), with any-policy inputs: only requireExplicitPolicy and
 *   anyPolicy mappings can fail a path.
 * - Critical extensions: an unknown one, or a known one marked critical where RFC 5280 requires
 *   it not to be (AKI, SKI, AIA, SIA, freshestCRL), rejects the certificate.
 * - The RFC 5280 profile (`profileProblem`), on every certificate of the path, each rule
 *   relaxable by its own `VerifyPolicy` switch, which the failure message names:
 *   authorityKeyIdentifier with a keyIdentifier on every certificate that is not self-issued
 *   (§4.2.1.1); subjectKeyIdentifier (§4.2.1.2) and a critical basicConstraints (§4.2.1.9) on
 *   every CA certificate (cA=TRUE); a critical subjectAltName when the subject is empty
 *   (§4.2.1.6); dNSNames in the preferred name syntax (§4.2.1.6, see `isPreferredDnsName`);
 *   no dNSName name constraint with a leading period (§4.2.1.10). A name-constraint workload
 *   past `MAX_CONSTRAINT_COMPARISONS` is refused as too complex, with no switch.
 *
 * Decisions where RFC 5280 leaves room (or where validators differ):
 * - The trust anchor is a certificate, and its constraints are enforced as RFC 5937 allows and
 *   OpenSSL, BoringSSL and Go do: validity, cA=TRUE and keyCertSign (v3 anchors), pathLen, name
 *   constraints, extKeyUsage, critical extensions, key strength. A v1 or v2 anchor (no
 *   extensions) is accepted as a CA without constraints. v1/v2 intermediates are not CAs: stricter
 *   than §6.1.4 (k), which only asks v3 certificates for basicConstraints, as OpenSSL and Go are.
 * - The profile rules apply to the anchor too, as pyca/cryptography applies them: RFC 5280 §6.1
 *   takes anchor information as input, but this validator takes the anchor as a certificate (see
 *   above), and a v3 CA certificate without a subjectKeyIdentifier or with a non-critical
 *   basicConstraints is as non-conforming at the top of a path as in its middle. A self-signed
 *   anchor needs no authorityKeyIdentifier (§4.2.1.1), and a v1 anchor is no "CA certificate"
 *   (it has no basicConstraints), so neither rule touches legacy roots. An anchor that breaks a
 *   rule is reported, with its switch, once a certificate it signed is presented.
 * - A trust anchor may be a root or an intermediate: the path ends at the first anchor, whoever
 *   issued it. A leaf that is byte-for-byte a trust anchor is pinned: it is accepted alone,
 *   after the leaf checks. Any other self-signed leaf is untrusted.
 * - A CA certificate used as the leaf is accepted when its key usage and extended key usage allow
 *   the purpose (RFC 5280 and Go accept CA leaves; the CA/B web profile and pyca/cryptography do
 *   not): nothing in §6 stops a CA key from authenticating itself, private PKIs issue such
 *   certificates to devices and services, and refusing them would trade real deployments for no
 *   security, since the same key could sign itself a leaf. A CA certificate with keyUsage
 *   keyCertSign alone cannot be a TLS client, so most are refused; a CA leaf is still held to
 *   the CA profile (subjectKeyIdentifier, critical basicConstraints).
 * - Known extensions are processed whether or not they are marked critical. A missing critical
 *   flag is an error only where the profile above says so (basicConstraints of a CA, the
 *   subjectAltName of an empty subject); name constraints not marked critical are applied as if
 *   they were (RFC 5280 asks CAs to mark them, the CA/Browser Forum allows them non-critical).
 * - Key identifiers are required by the profile, but only order issuer candidates: a mismatch is
 *   not fatal (as Go; OpenSSL rejects mismatches).
 * - Names are compared as RFC 5280 §7.1 asks, with ASCII case folding and whitespace
 *   normalization of string values (see extensions.ts), not byte for byte as Go does.
 * - Revocation (§6.1.3 (a)(3)) is the pipeline's separate step, so crlDistributionPoints is
 *   accepted even when critical. Of the CA-side profile, the serial number form is not enforced.
 *
 * Path building is a depth-first search towards anchors, bounded in work: at most MAX_DEPTH
 * certificates above the leaf, no certificate and no (subject, key) pair twice in a path (RFC 4158
 * loop detection, which also stops cross-signed cycles), candidates ordered by their distance to
 * an anchor by name (so pools disconnected from the anchors cost nothing), then key identifier
 * match, then current validity; at most MAX_SIGNATURE_CHECKS signature verifications and
 * MAX_PATH_STEPS path extensions per call, and a cap on name-constraint comparisons. A failing
 * path does not end the search; when every path fails, the failure of the path that got furthest
 * is reported.
 *
 * What a failure tells the client: the result's `message` becomes the problem `detail`, so it
 * must not tell an attacker anything about the configuration. Which certificates the search
 * looks at depends on the configured names alone (a presented certificate "issued by" a guessed
 * DN is examined only when that DN is an anchor's or leads to one), so a failure is reported
 * only for a certificate proven, by verified signatures, to be issued under a trust anchor (or
 * for the leaf once its whole path verified). Anything else — unknown issuer, bad signature, a
 * refused key, the search limit, a broken certificate whose own issuer did not verify — is
 * `untrusted` with one fixed message; `reason` keeps the detail for logs.
 */
import { generateKeyPairSync, getCurves, type KeyObject, X509Certificate } from 'node:crypto';
import { ClientCertError, isClientCertError } from '../../errors.js';
import { type CertificateInput, splitCertificates, toX509Certificate, validityWindow } from '../../x509/certificate.js';
import { isDottedOid } from '../../x509/der.js';
import {
  type CertificateFacts,
  certificateFacts,
  KeyUsageBit,
  Oid,
  type PublicKeyFacts,
  publicKeyFactsOfSpki,
} from '../../x509/extensions.js';
import {
  BUDGET_EXHAUSTED,
  ComparisonBudget,
  checkNameConstraints,
  hasLeadingDotDnsConstraint,
  isPreferredDnsName,
  MAX_CONSTRAINT_COMPARISONS,
  nameConstraintsProblem,
} from './name-constraints.js';
import { processPolicies } from './policies.js';

/**
 * Why verification failed. Stable: callers map them to responses.
 * - `untrusted`: no path to a trust anchor (unknown issuer, bad signature, search limit).
 * - `expired`, `not_yet_valid`: a certificate of the path outside its validity period.
 * - `wrong_purpose`: the leaf's extended key usage, or an issuer's, excludes the purpose.
 * - `malformed`: a certificate that cannot be read, or breaks DER, RFC 5280 structure or the
 *   RFC 5280 profile (a missing key identifier, a non-critical basicConstraints, ...: see
 *   `VerifyPolicy` for the switches that relax the profile).
 * - `invalid_ca`: an issuer that is not a CA (cA not asserted, v1/v2 intermediate).
 * - `path_length_exceeded`: a CA's pathLenConstraint is exceeded.
 * - `bad_key_usage`: an issuer without keyCertSign, or a leaf whose key usage excludes the purpose.
 * - `name_constraints`: a name outside a CA's name constraints, constraints that cannot be applied,
 *   or names and constraints too many to check (`MAX_CONSTRAINT_COMPARISONS`).
 * - `invalid_policy`: certificate policy processing failed (required explicit policy, anyPolicy mapping).
 * - `unhandled_critical_extension`: a critical extension this validator does not process.
 * - `weak_algorithm`: a signature or key the `VerifyPolicy` does not accept.
 */
export type VerifyFailureCode =
  | 'untrusted'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_purpose'
  | 'malformed'
  | 'invalid_ca'
  | 'path_length_exceeded'
  | 'bad_key_usage'
  | 'name_constraints'
  | 'invalid_policy'
  | 'unhandled_critical_extension'
  | 'weak_algorithm';

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
const PROFILE_SWITCHES = [
  'allowMissingAuthorityKeyId',
  'allowMissingSubjectKeyId',
  'allowNonCriticalBasicConstraints',
  'allowEmptySubjectWithoutCriticalSan',
  'allowLeadingDotDnsConstraints',
  'allowNonPreferredDnsNames',
] as const;
type ProfileSwitch = (typeof PROFILE_SWITCHES)[number];

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

/** Certificates as PEM text (a bundle is allowed where several are expected), DER or Node's object. */
export interface VerifyChainInput {
  leaf: CertificateInput;
  /** Certificates the client presented besides the leaf, in any order. */
  intermediates?: CertificateInput | readonly CertificateInput[];
  /**
   * Intermediates the server knows of (e.g. its CA bundle's issuing CAs), searched along with the
   * presented ones but never trusted by themselves. Pass `compileIntermediatePool` output on hot
   * paths.
   */
  intermediatePool?: CertificateInput | readonly CertificateInput[];
  /** Pass the result of `compileTrustAnchors` on hot paths so anchors are not re-parsed. */
  trustAnchors: CertificateInput | readonly CertificateInput[];
  /** Time to check validity at (default: now). */
  at?: Date;
  /** EKU the leaf must allow: a name (`clientAuth`, default), a dotted OID, or `any`. */
  purpose?: string;
  /** Slack applied to both ends of every validity period, in seconds (default 0). */
  clockToleranceSeconds?: number;
  /** Signature and key strength; pass `compileVerifyPolicy` output on hot paths. */
  policy?: VerifyPolicy | CompiledVerifyPolicy;
}

/**
 * On failure, `message` is fixed text safe to send to the client (it never depends on which
 * anchors are configured, see above); `reason` is the detailed account for logs and debugging,
 * which may tell what the configuration trusts. They are equal except for `untrusted`.
 */
export type VerifyChainResult =
  | { ok: true; chain: X509Certificate[] }
  | { ok: false; code: VerifyFailureCode; message: string; reason: string };

/** Most certificates above the leaf in one path (the anchor included). */
export const MAX_DEPTH = 8;
/** Most signature verifications in one call (Go allows 100); results are cached across calls. */
export const MAX_SIGNATURE_CHECKS = 100;
/** Most path extensions tried in one call. */
export const MAX_PATH_STEPS = 1000;
/**
 * Largest RSA public exponent accepted (2^32-1), on any key: about what Go (2^31-1) and BoringSSL
 * (33 bits) accept, so no key in use is refused, and one verification costs at most about twice
 * one with the usual 65537, against a hundred times for a 2048-bit exponent.
 */
export const MAX_RSA_PUBLIC_EXPONENT = 0xffff_ffffn;
/** Largest `maxRsaBits`: OpenSSL does not verify with larger RSA keys at all. */
const RSA_BITS_LIMIT = 16384;
/** The `untrusted` message: one text whatever the configuration, so it tells a client nothing of it. */
export const UNTRUSTED_MESSAGE = 'no path to a trust anchor';

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
const PURPOSE_KEY_USAGE: ReadonlyMap<string, number> = new Map([
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

const DEFAULT_POLICY = compileVerifyPolicy();

// ---------------------------------------------------------------------------------------------
// Keys and signatures, cached across calls

const publicKeyCache = new WeakMap<X509Certificate, KeyObject>();
/** child → issuer → whether the issuer's key verifies the child's signature. */
const signatureCache = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();

/**
 * `X509Certificate.publicKey` builds a new KeyObject on every read. Only for keys the policy
 * accepted (`keyProblem`): loading is the first thing OpenSSL does with a key.
 */
function publicKeyOf(cert: X509Certificate): KeyObject {
  let key = publicKeyCache.get(cert);
  if (key === undefined) {
    key = cert.publicKey;
    publicKeyCache.set(cert, key);
  }
  return key;
}

/** Whether `issuer`'s key verifies `child`'s signature; cached, since both are immutable. */
function cachedSignature(child: X509Certificate, issuer: X509Certificate): boolean | undefined {
  return signatureCache.get(child)?.get(issuer);
}

function verifySignature(child: X509Certificate, issuer: X509Certificate): boolean {
  let valid: boolean;
  try {
    valid = child.verify(publicKeyOf(issuer));
  } catch {
    valid = false; // an unsupported or broken key is simply not an issuer
  }
  let byIssuer = signatureCache.get(child);
  if (byIssuer === undefined) signatureCache.set(child, (byIssuer = new WeakMap()));
  byIssuer.set(issuer, valid);
  return valid;
}

// ---------------------------------------------------------------------------------------------
// Input

/** Node objects for a list of inputs, where a PEM string may be a bundle. */
function toCertificates(inputs: CertificateInput | readonly CertificateInput[] | undefined): X509Certificate[] {
  if (inputs === undefined) return [];
  const list = Array.isArray(inputs) ? (inputs as readonly CertificateInput[]) : [inputs as CertificateInput];
  const certs: X509Certificate[] = [];
  for (const input of list) {
    if (input instanceof X509Certificate) certs.push(input);
    else for (const der of splitCertificates(input)) certs.push(toX509Certificate(der));
  }
  return certs;
}

type CertificateList = string | Buffer | X509Certificate | ReadonlyArray<string | Buffer | X509Certificate>;

/** Parses, de-duplicates and warms the caches of configured certificates; see `compileTrustAnchors`. */
function compileCertificates(input: CertificateList, entry: string, whole: string): X509Certificate[] {
  const items = Array.isArray(input)
    ? (input as ReadonlyArray<string | Buffer | X509Certificate>)
    : [input as CertificateInput];
  const certs = new Map<string, X509Certificate>();
  items.forEach((item, index) => {
    try {
      for (const cert of toCertificates(item)) {
        // Names and structure: a certificate path building cannot read is a configuration error.
        const facts = certificateFacts(cert);
        // Warm the caches, so the first request does not pay: the key that checks what this
        // certificate issued, when the default policy accepts it (no key is loaded before a
        // policy judged it; one only a laxer policy accepts is loaded on first use).
        if (weakKey(facts, DEFAULT_POLICY) === null) publicKeyOf(cert);
        validityWindow(cert);
        certs.set(fingerprintOf(cert), cert);
      }
    } catch (error) {
      const where = items.length > 1 ? `${entry} entry ${index + 1}` : whole;
      throw new ClientCertError('invalid_option', `${where}: ${describe(error)}`, { cause: error });
    }
  });
  return [...certs.values()];
}

/**
 * Parses trust anchors once (PEM bundles, DER buffers, Node objects, or arrays of them), dropping
 * duplicates. Non-certificate PEM blocks are skipped; any certificate block that does not parse,
 * or finding no certificate at all, throws `ClientCertError('invalid_option')`: silently dropping a
 * configured anchor would surface later as confusing "untrusted" rejections.
 */
export function compileTrustAnchors(ca: CertificateList): X509Certificate[] {
  const anchors = compileCertificates(ca, 'trust anchor', 'trust anchors');
  if (anchors.length === 0) {
    throw new ClientCertError(
      'invalid_option',
      'no trust anchor certificate found (expected PEM "CERTIFICATE" blocks or DER certificates)',
    );
  }
  return anchors;
}

/** Parses a configured intermediate pool once, like `compileTrustAnchors` (an empty pool is fine). */
export function compileIntermediatePool(pool: CertificateList): X509Certificate[] {
  return compileCertificates(pool, 'intermediate pool', 'intermediate pool');
}

function describe(error: unknown): string {
  return isClientCertError(error) || error instanceof Error ? error.message : 'unreadable input';
}

// ---------------------------------------------------------------------------------------------
// Checks of one certificate

/** What is checked, fixed for one call. */
interface Checks {
  /** Whole second being checked, in ms. */
  readonly at: number;
  readonly toleranceMs: number;
  /** Required EKU OID, or null for any. */
  readonly purpose: string | null;
  readonly policy: CompiledVerifyPolicy;
}

/** The certificate's place: `pinned` is a leaf that is itself a trust anchor. */
type Role = 'leaf' | 'pinned' | 'intermediate' | 'anchor';

/**
 * Rank of a check among those of one certificate or path: a failure later in this order means
 * the path got further, which decides which failure is reported.
 */
const Order = {
  structure: 1,
  algorithm: 2,
  validity: 3,
  purpose: 4,
  pathLength: 5,
  nameConstraints: 6,
  policy: 7,
} as const;

/** A failed check of one certificate: the message is `certificate at depth N ${text}`. */
interface Problem {
  readonly code: VerifyFailureCode;
  readonly text: string;
  readonly order: number;
}

function problem(code: VerifyFailureCode, text: string, order: number): Problem {
  return { code, text, order };
}

const isIssuer = (role: Role): boolean => role === 'intermediate' || role === 'anchor';

/** A profile rule's failure text: the rule's section and the switch that relaxes it. */
function profileText(text: string, section: string, relaxedBy: ProfileSwitch): string {
  return `${text} (RFC 5280 §${section}; allow with verifyPolicy.${relaxedBy})`;
}

/**
 * The RFC 5280 profile rules that path validation (§6) itself does not ask for, but that a
 * conforming CA never breaks, each unless the policy relaxes it. On every certificate of the
 * path, whatever its role (see the module comment for the anchor). Messages name the rule and its
 * switch, never the certificate's contents.
 */
function profileProblem(facts: CertificateFacts, policy: CompiledVerifyPolicy): Problem | null {
  const found = (text: string, section: string, relaxedBy: ProfileSwitch): Problem =>
    problem('malformed', profileText(text, section, relaxedBy), Order.structure);
  // §4.2.1.1: the keyIdentifier MUST be there, except in a self-signed certificate. Self-issued
  // stands in for self-signed, since it can be told without a signature: a key rollover
  // certificate (self-issued, signed by the old key) without one is let through, a leniency
  // that costs nothing (it is still signed by a key the path verifies).
  if (facts.authorityKeyId === null && !facts.selfIssued && !policy.allowMissingAuthorityKeyId) {
    return found('has no authorityKeyIdentifier with a keyIdentifier', '4.2.1.1', 'allowMissingAuthorityKeyId');
  }
  const bc = facts.basicConstraints;
  if (bc?.ca === true) {
    if (facts.subjectKeyId === null && !policy.allowMissingSubjectKeyId) {
      return found('is a CA certificate without a subjectKeyIdentifier', '4.2.1.2', 'allowMissingSubjectKeyId');
    }
    if (!bc.critical && !policy.allowNonCriticalBasicConstraints) {
      return found(
        'is a CA certificate whose basicConstraints is not critical',
        '4.2.1.9',
        'allowNonCriticalBasicConstraints',
      );
    }
  }
  if (facts.subject.rdns.length === 0 && !facts.subjectAltNameCritical && !policy.allowEmptySubjectWithoutCriticalSan) {
    return found(
      'has an empty subject and no critical subjectAltName',
      '4.2.1.6',
      'allowEmptySubjectWithoutCriticalSan',
    );
  }
  if (
    !policy.allowNonPreferredDnsNames &&
    facts.subjectAltNames?.some((name) => name.kind === 'dns' && !isPreferredDnsName(name.value))
  ) {
    return found(
      'has a dNSName subjectAltName outside the preferred name syntax',
      '4.2.1.6',
      'allowNonPreferredDnsNames',
    );
  }
  return null;
}

/** Structure, CA status and key usage consistency (§4.2, §4.2.1.3, §4.2.1.9, §4.2.1.10), then the profile. */
function structureProblem(facts: CertificateFacts, role: Role, policy: CompiledVerifyPolicy): Problem | null {
  return caProblem(facts, role, policy) ?? profileProblem(facts, policy);
}

function caProblem(facts: CertificateFacts, role: Role, policy: CompiledVerifyPolicy): Problem | null {
  if (facts.malformed !== null) return problem('malformed', `is malformed: ${facts.malformed}`, Order.structure);
  if (facts.unhandledCritical) {
    return problem('unhandled_critical_extension', 'has an unhandled critical extension', Order.structure);
  }
  const ca = facts.basicConstraints?.ca === true;
  const keyUsage = facts.keyUsage ?? 0;
  if (isIssuer(role)) {
    // A v1/v2 anchor predates basicConstraints and is trusted as a CA by configuration.
    if (role === 'intermediate' && facts.version < 3) {
      return problem('invalid_ca', 'is a version 1 or 2 certificate and cannot be an intermediate CA', Order.structure);
    }
    if (facts.version === 3 && !ca) return problem('invalid_ca', 'is not a CA', Order.structure);
    if (facts.keyUsage !== null && (keyUsage & KeyUsageBit.keyCertSign) === 0) {
      return problem('bad_key_usage', 'has a key usage that does not allow signing certificates', Order.structure);
    }
    const constraints = facts.nameConstraints === null ? null : nameConstraintsProblem(facts.nameConstraints);
    if (constraints !== null) {
      return problem(
        'name_constraints',
        `has name constraints that cannot be applied: ${constraints}`,
        Order.structure,
      );
    }
    if (
      facts.nameConstraints !== null &&
      !policy.allowLeadingDotDnsConstraints &&
      hasLeadingDotDnsConstraint(facts.nameConstraints)
    ) {
      return problem(
        'name_constraints',
        profileText('has a dNSName name constraint with a leading period', '4.2.1.10', 'allowLeadingDotDnsConstraints'),
        Order.structure,
      );
    }
    return null;
  }
  if ((keyUsage & KeyUsageBit.keyCertSign) !== 0 && !ca) {
    return problem('bad_key_usage', 'asserts keyCertSign but is not a CA', Order.structure);
  }
  if (facts.nameConstraints !== null && !ca) {
    return problem('name_constraints', 'has name constraints but is not a CA', Order.structure);
  }
  return null;
}

/**
 * Why the policy refuses a certificate's public key, or null. From the DER facts alone: this runs
 * before the key is loaded into OpenSSL or verifies any signature.
 */
function weakKey(facts: CertificateFacts, policy: CompiledVerifyPolicy): string | null {
  const key = facts.publicKey;
  if (key === null) return 'has a public key of a type the policy does not allow, or a malformed one';
  switch (key.type) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = key.bits!;
      const exponent = key.publicExponent!;
      if (bits < policy.minRsaBits) return `has an RSA key shorter than ${policy.minRsaBits} bits`;
      if (bits > policy.maxRsaBits) return `has an RSA key longer than ${policy.maxRsaBits} bits`;
      return exponent >= 3n && exponent <= MAX_RSA_PUBLIC_EXPONENT && (exponent & 1n) === 1n
        ? null
        : 'has an RSA key whose public exponent is not an odd number from 3 to 2^32-1';
    }
    case 'ec':
      if (key.curve === undefined && key.curveOid === undefined) return 'has an EC key with explicit curve parameters';
      return (key.curve !== undefined ? policy.ecCurves.has(key.curve) : policy.ecCurveOids.has(key.curveOid!))
        ? null
        : 'has an EC key on a curve the policy does not allow';
    default:
      return null; // Ed25519, Ed448
  }
}

/** `weakKey` as a check result. */
function keyProblem(facts: CertificateFacts, policy: CompiledVerifyPolicy): Problem | null {
  const key = weakKey(facts, policy);
  return key === null ? null : problem('weak_algorithm', key, Order.algorithm);
}

/** Signature digest (certificates below the anchor) and key strength (all). */
function algorithmProblem(facts: CertificateFacts, role: Role, policy: CompiledVerifyPolicy): Problem | null {
  if (role === 'leaf' || role === 'intermediate') {
    const hash = facts.signatureHash;
    if (hash === 'md2' || hash === 'md4' || hash === 'md5') {
      return problem('weak_algorithm', 'is signed with an MD2, MD4 or MD5 digest', Order.algorithm);
    }
    if (hash === 'sha1' && !policy.allowSha1Signatures)
      return problem('weak_algorithm', 'is signed with SHA-1', Order.algorithm);
    // An allowlist: RIPEMD-160, GOST and the like may verify in OpenSSL, but are not vetted here.
    if (hash === 'unknown')
      return problem('weak_algorithm', 'is signed with an algorithm the policy does not know', Order.algorithm);
  }
  return keyProblem(facts, policy);
}

function validityProblem(cert: X509Certificate, checks: Checks): Problem | null {
  const { from, until } = validityWindow(cert);
  if (checks.at < from - checks.toleranceMs) return problem('not_yet_valid', 'is not yet valid', Order.validity);
  if (checks.at > until + checks.toleranceMs) return problem('expired', 'has expired', Order.validity);
  return null;
}

function allowsPurpose(extKeyUsage: readonly string[] | null, purpose: string | null): boolean {
  return (
    purpose === null ||
    extKeyUsage === null ||
    extKeyUsage.includes(purpose) ||
    extKeyUsage.includes(Oid.anyExtendedKeyUsage)
  );
}

function purposeProblem(facts: CertificateFacts, role: Role, purpose: string | null): Problem | null {
  if (isIssuer(role)) {
    return allowsPurpose(facts.extKeyUsage, purpose)
      ? null
      : problem('wrong_purpose', 'is a CA whose extended key usage excludes the required purpose', Order.purpose);
  }
  if (!allowsPurpose(facts.extKeyUsage, purpose)) {
    return problem('wrong_purpose', 'is not valid for the required purpose', Order.purpose);
  }
  const needed = purpose === null ? undefined : PURPOSE_KEY_USAGE.get(purpose);
  if (needed !== undefined && facts.keyUsage !== null && (facts.keyUsage & needed) === 0) {
    return problem('bad_key_usage', 'has a key usage that does not allow the required purpose', Order.purpose);
  }
  return null;
}

/** Everything about one certificate that does not depend on the rest of the path. */
function certificateProblem(
  cert: X509Certificate,
  facts: CertificateFacts,
  role: Role,
  checks: Checks,
): Problem | null {
  return (
    structureProblem(facts, role, checks.policy) ??
    algorithmProblem(facts, role, checks.policy) ??
    validityProblem(cert, checks) ??
    purposeProblem(facts, role, checks.purpose)
  );
}

// ---------------------------------------------------------------------------------------------
// Path building

/** A distinct certificate (by SHA-256) of this call: the leaf, an intermediate, or an anchor. */
interface PathNode {
  readonly cert: X509Certificate;
  readonly facts: CertificateFacts;
  readonly anchor: boolean;
  /** Subject and key: RFC 4158 §5.2 loop detection allows each pair once per path. */
  readonly identity: string;
}

/**
 * A failed path. `rank` says how far it got: paths that reached an anchor rank above those that
 * did not, then by the `Order` of the failed check. Among equal ranks the first found is kept:
 * candidates are tried nearest-to-an-anchor first, so that is the shortest path, not a detour
 * through a cross-signed cycle.
 */
interface Failure {
  readonly code: VerifyFailureCode;
  readonly message: string;
  readonly rank: number;
}

/** Added to the rank of failures on paths that reached an anchor. */
const COMPLETE = 1_000_000;

function failure(found: Problem, depth: number, rank: number): Failure {
  return { code: found.code, message: `certificate at depth ${depth} ${found.text}`, rank };
}

/** Node indexes by a name key. */
function indexBy(nodes: readonly PathNode[], key: (node: PathNode) => string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    const name = key(node);
    if (name === '') return; // an empty name never identifies an issuer (§4.1.2.4, §4.1.2.6)
    const list = index.get(name);
    if (list === undefined) index.set(name, [i]);
    else list.push(i);
  });
  return index;
}

/**
 * Fewest certificates from each node to an anchor by name matching alone (breadth-first from
 * the anchors). A lower bound on any real path, so pruning with it never loses a path; nodes
 * that cannot reach an anchor get Infinity and are never tried.
 */
function distancesToAnchors(nodes: readonly PathNode[]): number[] {
  const byIssuer = indexBy(nodes, (node) => node.facts.issuer.key);
  const distance = nodes.map((node) => (node.anchor ? 0 : Infinity));
  const queue = nodes.flatMap((node, i) => (node.anchor ? [i] : []));
  for (let head = 0; head < queue.length; head++) {
    const issuer = queue[head]!;
    for (const child of byIssuer.get(nodes[issuer]!.facts.subject.key) ?? []) {
      if (distance[child] !== Infinity) continue;
      distance[child] = distance[issuer]! + 1;
      queue.push(child);
    }
  }
  return distance;
}

/**
 * Depth-first search for a path from the leaf (node 0) to an anchor that passes every check.
 * Checks that depend on one certificate run when it joins the path; path length and name
 * constraints when the constraining CA joins (against the certificates below it); policies and
 * the leaf's own checks when an anchor completes the path.
 */
class PathBuilder {
  /** The failure to report: the furthest-reaching one about a certificate proven to be under an anchor. */
  best: Failure | null = null;
  /** The furthest-reaching failure about a certificate not so proven: for `reason` only. */
  unproven: Failure | null = null;
  exhausted = false;
  /** Issuer candidates (by name) whose key did not verify the signature. */
  badSignatures = 0;
  private readonly path: number[] = [0];
  private readonly onPath: Uint8Array;
  private readonly identities = new Set<string>();
  private readonly bySubject: Map<string, number[]>;
  private readonly distance: number[];
  private readonly candidateLists = new Map<number, number[]>();
  private readonly problems = new Map<number, Problem | null>();
  private readonly keyProblems = new Map<number, Problem | null>();
  /** Nodes proven, by verified signatures, to be issued under an anchor. */
  private readonly proven = new Set<number>();
  private readonly constraintResults = new Map<number, string | null>();
  private readonly budget = new ComparisonBudget();
  private leafProblem: Problem | null | undefined;
  /** Set once a failure that no other path can avoid (the leaf's own) is found. */
  private settled = false;
  private signatureChecks = 0;
  private steps = 0;

  constructor(
    private readonly nodes: readonly PathNode[],
    private readonly checks: Checks,
  ) {
    this.onPath = new Uint8Array(nodes.length);
    this.onPath[0] = 1;
    this.bySubject = indexBy(nodes, (node) => node.facts.subject.key);
    this.distance = distancesToAnchors(nodes);
  }

  /** Whether any sequence of names leads from the leaf to an anchor. */
  get named(): boolean {
    return this.distance[0] !== Infinity;
  }

  /** A passing path as node indexes (leaf first), or null. */
  run(): number[] | null {
    return this.named ? this.extend() : null;
  }

  /** A failure about a certificate proven to be under an anchor (or an anchor whose key verified). */
  private record(found: Failure): void {
    if (this.best === null || found.rank > this.best.rank) this.best = found;
  }

  private recordUnproven(found: Failure): void {
    if (this.unproven === null || found.rank > this.unproven.rank) this.unproven = found;
  }

  private extend(): number[] | null {
    const depth = this.path.length; // depth of the certificate being added
    const child = this.path[depth - 1]!;
    for (const candidate of this.candidatesOf(child)) {
      const node = this.nodes[candidate]!;
      if (this.onPath[candidate] === 1 || this.identities.has(node.identity)) continue;
      if (depth + this.distance[candidate]! > MAX_DEPTH) continue;
      if (++this.steps > MAX_PATH_STEPS) {
        this.exhausted = true;
        return null;
      }
      const refusedKey = this.keyProblemOf(candidate);
      if (refusedKey !== null) {
        // Its key is never used, so nothing proves it issued the child: the failure is only a reason.
        this.recordUnproven(failure(refusedKey, depth, refusedKey.order));
        continue;
      }
      if (!this.issued(child, candidate)) {
        if (this.exhausted) return null;
        continue;
      }
      const rejected = this.admit(candidate, depth);
      if (rejected !== null) {
        // Told to the client only when the candidate is really under an anchor: otherwise the
        // search reached it because its issuer's name is configured, and saying so would tell.
        if (this.underAnchor(candidate, depth)) this.record(rejected);
        else this.recordUnproven(rejected);
        if (this.exhausted) return null;
        continue;
      }
      this.push(candidate);
      const found = node.anchor ? this.complete() : this.extend();
      if (found !== null) return found;
      this.pop(candidate);
      if (this.exhausted || this.settled) return null;
    }
    return null;
  }

  private push(index: number): void {
    this.path.push(index);
    this.onPath[index] = 1;
    this.identities.add(this.nodes[index]!.identity);
  }

  private pop(index: number): void {
    this.path.pop();
    this.onPath[index] = 0;
    this.identities.delete(this.nodes[index]!.identity);
  }

  /**
   * Issuer candidates of a node: certificates whose subject is its issuer and that can reach an
   * anchor, anchors first, then nearest to an anchor, matching key identifier, currently valid.
   */
  private candidatesOf(child: number): number[] {
    let list = this.candidateLists.get(child);
    if (list === undefined) {
      const facts = this.nodes[child]!.facts;
      const rank = (index: number): number[] => {
        const node = this.nodes[index]!;
        const keyIdMatch = facts.authorityKeyId !== null && facts.authorityKeyId === node.facts.subjectKeyId;
        return [
          this.distance[index]!,
          keyIdMatch ? 0 : 1,
          validityProblem(node.cert, this.checks) === null ? 0 : 1,
          index,
        ];
      };
      const ranked = (this.bySubject.get(facts.issuer.key) ?? [])
        .filter((index) => index !== child && this.distance[index] !== Infinity)
        .map((index) => ({ index, rank: rank(index) }));
      ranked.sort((a, b) => compareRanks(a.rank, b.rank));
      list = ranked.map(({ index }) => index);
      this.candidateLists.set(child, list);
    }
    return list;
  }

  /**
   * Whether `issuer` signed `child`, verifying at most MAX_SIGNATURE_CHECKS signatures per call.
   * Only for an issuer whose key passed `keyProblemOf`.
   */
  private issued(child: number, issuer: number): boolean {
    const childCert = this.nodes[child]!.cert;
    const issuerCert = this.nodes[issuer]!.cert;
    let valid = cachedSignature(childCert, issuerCert);
    if (valid === undefined) {
      if (++this.signatureChecks > MAX_SIGNATURE_CHECKS) {
        this.exhausted = true;
        return false;
      }
      valid = verifySignature(childCert, issuerCert);
    }
    if (!valid) this.badSignatures++;
    return valid;
  }

  /** Why the policy refuses a node's key (checked before the key is used for anything), or null. */
  private keyProblemOf(index: number): Problem | null {
    let found = this.keyProblems.get(index);
    if (found === undefined) {
      found = keyProblem(this.nodes[index]!.facts, this.checks.policy);
      this.keyProblems.set(index, found);
    }
    return found;
  }

  /**
   * Whether the node at `depth` is an anchor or is issued under one through verified signatures
   * (by keys the policy accepts): a search upwards that checks signatures only, within the
   * call's limits. Decides whether a failure about the node may be reported.
   */
  private underAnchor(index: number, depth: number, visited = new Set<number>()): boolean {
    if (this.nodes[index]!.anchor || this.proven.has(index)) return true;
    visited.add(index);
    for (const parent of this.candidatesOf(index)) {
      if (visited.has(parent) || depth + 1 + this.distance[parent]! > MAX_DEPTH) continue;
      if (++this.steps > MAX_PATH_STEPS) {
        this.exhausted = true;
        return false;
      }
      if (this.keyProblemOf(parent) !== null) continue;
      if (this.issued(index, parent) && this.underAnchor(parent, depth + 1, visited)) {
        this.proven.add(index);
        return true;
      }
      if (this.exhausted) return false;
    }
    return false;
  }

  /** The checks a CA must pass to join the path at `depth`, or null when it may. */
  private admit(candidate: number, depth: number): Failure | null {
    const node = this.nodes[candidate]!;
    const own = this.issuerProblem(candidate);
    if (own !== null) return failure(own, depth, own.order);
    const pathLength = this.pathLengthProblem(node.facts, depth);
    if (pathLength !== null) return failure(pathLength, depth, pathLength.order);
    return this.constraintFailure(candidate, depth);
  }

  private issuerProblem(index: number): Problem | null {
    let found = this.problems.get(index);
    if (found === undefined) {
      const node = this.nodes[index]!;
      found = certificateProblem(node.cert, node.facts, node.anchor ? 'anchor' : 'intermediate', this.checks);
      this.problems.set(index, found);
    }
    return found;
  }

  /**
   * §6.1.4 (l)(m): a CA's pathLenConstraint bounds the non-self-issued intermediates below it
   * (the leaf is not counted, §4.2.1.9).
   */
  private pathLengthProblem(facts: CertificateFacts, depth: number): Problem | null {
    const limit = facts.basicConstraints?.ca === true ? facts.basicConstraints.pathLength : null;
    if (limit === null) return null;
    let count = 0;
    for (let j = 1; j < depth; j++) if (!this.nodes[this.path[j]!]!.facts.selfIssued) count++;
    return count <= limit
      ? null
      : problem(
          'path_length_exceeded',
          'has more intermediate CA certificates below it than its path length constraint allows',
          Order.pathLength,
        );
  }

  /**
   * §6.1.3 (b)(c): the name constraints of the CA joining at `depth` apply to every certificate
   * below it, except self-issued intermediates. Results are cached per pair of certificates.
   */
  private constraintFailure(candidate: number, depth: number): Failure | null {
    const constraints = this.nodes[candidate]!.facts.nameConstraints;
    if (constraints === null) return null;
    for (let j = 0; j < depth; j++) {
      const below = this.path[j]!;
      if (j > 0 && this.nodes[below]!.facts.selfIssued) continue;
      const key = candidate * this.nodes.length + below;
      let reason = this.constraintResults.get(key);
      if (reason === undefined) {
        reason = checkNameConstraints(constraints, this.nodes[below]!.facts, this.budget);
        this.constraintResults.set(key, reason);
      }
      if (reason === BUDGET_EXHAUSTED) {
        // Refused, not computed: no later path may spend more, and the search ends here.
        this.exhausted = true;
        const found = problem(
          'name_constraints',
          `has too many names for the name constraints of the certificate at depth ${depth}: ` +
            `too complex to check (more than ${MAX_CONSTRAINT_COMPARISONS} name comparisons)`,
          Order.nameConstraints,
        );
        return failure(found, j, found.order);
      }
      if (reason !== null) {
        const found = problem(
          'name_constraints',
          `violates the name constraints of the certificate at depth ${depth}: ${reason}`,
          Order.nameConstraints,
        );
        return failure(found, j, found.order);
      }
    }
    return null;
  }

  /** The path reaches an anchor: the leaf's own checks, then policy processing. */
  private complete(): number[] | null {
    const leaf = this.nodes[0]!;
    this.leafProblem ??= certificateProblem(leaf.cert, leaf.facts, 'leaf', this.checks);
    if (this.leafProblem !== null) {
      // Path-independent: every other complete path would fail the same way.
      this.record(failure(this.leafProblem, 0, COMPLETE + this.leafProblem.order));
      this.settled = true;
      return null;
    }
    const below = this.path
      .slice(0, -1)
      .reverse()
      .map((index) => this.nodes[index]!.facts);
    const policy = processPolicies(below);
    if (policy !== null) {
      const message = `certification path fails policy processing: ${policy}`;
      this.record({ code: 'invalid_policy', message, rank: COMPLETE + Order.policy });
      return null;
    }
    return [...this.path];
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Entry points

const fingerprintCache = new WeakMap<X509Certificate, string>();

/** `fingerprint256` hashes and formats afresh on every read (~2 µs); anchors are read on every verification. */
function fingerprintOf(cert: X509Certificate): string {
  let print = fingerprintCache.get(cert);
  if (print === undefined) fingerprintCache.set(cert, (print = cert.fingerprint256));
  return print;
}

/** Leaf first, then distinct anchors and intermediates; a certificate that is both is an anchor. */
function buildNodes(
  leaf: X509Certificate,
  others: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
): PathNode[] {
  const anchorPrints = new Set(anchors.map(fingerprintOf));
  const seen = new Set<string>();
  const nodes: PathNode[] = [];
  for (const cert of [leaf, ...anchors, ...others]) {
    const print = fingerprintOf(cert);
    if (seen.has(print)) continue;
    seen.add(print);
    const facts = certificateFacts(cert);
    nodes.push({ cert, facts, anchor: anchorPrints.has(print), identity: `${facts.subject.key}\n${facts.spki}` });
  }
  return nodes;
}

function readChecks(input: Pick<VerifyChainInput, 'at' | 'purpose' | 'clockToleranceSeconds' | 'policy'>): Checks {
  const at = input.at ?? new Date();
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new ClientCertError('invalid_option', 'at must be a valid Date');
  }
  const tolerance = input.clockToleranceSeconds ?? 0;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new ClientCertError('invalid_option', 'clockToleranceSeconds must be a number >= 0');
  }
  return {
    // Certificate times are whole seconds and OpenSSL compares whole seconds, so do we.
    at: Math.floor(at.getTime() / 1000) * 1000,
    toleranceMs: tolerance * 1000,
    purpose: resolvePurpose(input.purpose),
    policy: input.policy === undefined ? DEFAULT_POLICY : compileVerifyPolicy(input.policy),
  };
}

function fail(code: VerifyFailureCode, message: string, reason = message): VerifyChainResult {
  return { ok: false, code, message, reason };
}

/** The `untrusted` result: the fixed message, and what the search saw as the reason. */
function untrusted(builder: PathBuilder): VerifyChainResult {
  if (!builder.named) {
    return fail(
      'untrusted',
      UNTRUSTED_MESSAGE,
      `${UNTRUSTED_MESSAGE}: no trust anchor or intermediate leads by name from the leaf's issuer to a trust anchor`,
    );
  }
  const details: string[] = [];
  if (builder.unproven !== null)
    details.push(`${builder.unproven.message}, and is not verified to be issued under a trust anchor`);
  if (builder.badSignatures > 0)
    details.push(`${builder.badSignatures} certificate(s) named as an issuer did not sign`);
  const limit = builder.exhausted ? ' found within the path building limit' : '';
  return fail(
    'untrusted',
    UNTRUSTED_MESSAGE,
    `${UNTRUSTED_MESSAGE}${limit}${details.length > 0 ? `: ${details.join('; ')}` : ''}`,
  );
}

/** The certificates of the call, or the `malformed` result when one cannot be read. */
function readNodes(input: VerifyChainInput): PathNode[] | VerifyChainResult {
  try {
    const leaf = toX509Certificate(input.leaf);
    const others = [...toCertificates(input.intermediates), ...toCertificates(input.intermediatePool)];
    return buildNodes(leaf, others, toCertificates(input.trustAnchors));
  } catch (error) {
    if (isClientCertError(error) && error.code === 'certificate_malformed') return fail('malformed', error.message);
    throw error;
  }
}

/**
 * Verifies `leaf` against `trustAnchors` (see `VerifyChainInput`). Bad certificate input is a
 * `malformed` result, never a throw; invalid `at`, `purpose`, tolerance or policy throw
 * `invalid_option`. On success `chain` runs leaf → … → anchor (just the leaf when it is itself a
 * trust anchor).
 */
export function verifyChainSync(input: VerifyChainInput): VerifyChainResult {
  const checks = readChecks(input);
  const nodes = readNodes(input);
  if (!Array.isArray(nodes)) return nodes;
  const leaf = nodes[0]!;
  if (leaf.facts.malformed !== null) {
    return fail('malformed', `certificate at depth 0 is malformed: ${leaf.facts.malformed}`);
  }

  // A leaf that is itself a trust anchor is pinned: no issuer is needed.
  if (leaf.anchor) {
    const found = certificateProblem(leaf.cert, leaf.facts, 'pinned', checks);
    return found === null ? { ok: true, chain: [leaf.cert] } : fail(found.code, `certificate at depth 0 ${found.text}`);
  }
  // The leaf's key is the client's choice too: judged first, it costs no signature work to refuse.
  const leafKey = keyProblem(leaf.facts, checks.policy);
  if (leafKey !== null) return fail(leafKey.code, `certificate at depth 0 ${leafKey.text}`);

  const builder = new PathBuilder(nodes, checks);
  const path = builder.run();
  if (path !== null) return { ok: true, chain: path.map((index) => nodes[index]!.cert) };
  if (builder.best !== null) return fail(builder.best.code, builder.best.message);
  return untrusted(builder);
}

type CheckResult = { ok: true } | { ok: false; code: VerifyFailureCode; message: string };

/** A certificate's facts, or the `malformed` result when its skeleton cannot be read. */
function factsOrFailure(cert: X509Certificate): CertificateFacts | CheckResult {
  try {
    return certificateFacts(cert);
  } catch (error) {
    if (isClientCertError(error)) return { ok: false, code: 'malformed', message: error.message };
    throw error;
  }
}

/**
 * The leaf checks that do not need an issuer — structure, validity and purpose (extended key
 * usage and key usage) — for a certificate whose chain someone else verified (the TLS stack, or
 * a proxy declared as verifying), with the same codes as `verifyChainSync`. Algorithm strength,
 * critical extensions and the RFC 5280 profile are left to that verifier.
 */
export function checkCertificate(
  cert: X509Certificate,
  input: Pick<VerifyChainInput, 'at' | 'purpose' | 'clockToleranceSeconds'>,
): CheckResult {
  const checks = readChecks(input);
  const facts = factsOrFailure(cert);
  if ('ok' in facts) return facts;
  const found =
    facts.malformed !== null
      ? problem('malformed', `is malformed: ${facts.malformed}`, Order.structure)
      : (validityProblem(cert, checks) ?? purposeProblem(facts, 'leaf', checks.purpose));
  return found === null
    ? { ok: true }
    : { ok: false, code: found.code, message: `certificate at depth 0 ${found.text}` };
}

/**
 * The key policy alone, over a path someone else verified (the TLS stack, or a proxy declared as
 * verifying): OpenSSL accepts keys the policy refuses (an RSA exponent of thousands of bits,
 * explicit EC parameters). Read from the DER, with no key work; the first refused key is reported
 * as `certificate at depth N ...`, N counted from the leaf.
 */
export function checkKeyPolicy(
  path: readonly X509Certificate[],
  policy: VerifyPolicy | CompiledVerifyPolicy = DEFAULT_POLICY,
): CheckResult {
  const compiled = compileVerifyPolicy(policy);
  for (const [depth, cert] of path.entries()) {
    const facts = factsOrFailure(cert);
    if ('ok' in facts) return facts;
    const found = keyProblem(facts, compiled);
    if (found !== null) return { ok: false, code: found.code, message: `certificate at depth ${depth} ${found.text}` };
  }
  return { ok: true };
}

/**
 * What the structure and profile checks find wrong with each configured trust anchor under
 * `policy`, as `trust anchor N ...` messages (N from 1) naming the switch where one relaxes it:
 * for a start-up warning, so that a legacy root (easy-rsa writes basicConstraints non-critical)
 * is reported before its first client is refused rather than after.
 */
export function trustAnchorProblems(
  anchors: readonly X509Certificate[],
  policy: VerifyPolicy | CompiledVerifyPolicy = DEFAULT_POLICY,
): string[] {
  const compiled = compileVerifyPolicy(policy);
  const problems: string[] = [];
  for (const [index, anchor] of anchors.entries()) {
    const facts = factsOrFailure(anchor);
    const found = 'ok' in facts ? null : structureProblem(facts, 'anchor', compiled);
    if (found !== null) problems.push(`trust anchor ${index + 1} ${found.text}`);
  }
  return problems;
}

/** Promise form of `verifyChainSync`, matching the public contract. */
export async function verifyChain(input: VerifyChainInput): Promise<VerifyChainResult> {
  return verifyChainSync(input);
}
