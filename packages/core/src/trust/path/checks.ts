/**
 * The checks of one certificate, in the order that ranks how far a path got: structure (CA
 * status, key usage consistency, critical extensions, the RFC 5280 profile), algorithm (signature
 * digest and key strength), validity, purpose. Each returns a `Problem` (a code and a fixed text)
 * or null; the path builder adds the depth and decides which problem is reported.
 */
import { type CertificateFacts, KeyUsageBit, Oid } from '../../x509/extensions.js';
import type { CertificateRecord } from '../../x509/facts.js';
import { hasLeadingDotDnsConstraint, isPreferredDnsName, nameConstraintsProblem } from './name-constraints.js';
import { type CompiledVerifyPolicy, type ProfileSwitch, PURPOSE_KEY_USAGE } from './policy.js';

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
 * Largest RSA public exponent accepted (2^32-1), on any key: about what Go (2^31-1) and BoringSSL
 * (33 bits) accept, so no key in use is refused, and one verification costs at most about twice
 * one with the usual 65537, against a hundred times for a 2048-bit exponent.
 */
export const MAX_RSA_PUBLIC_EXPONENT = 0xffff_ffffn;

/** What is checked, fixed for one call. */
export interface Checks {
  /** Whole second being checked, in ms. */
  readonly at: number;
  readonly toleranceMs: number;
  /** Required EKU OID, or null for any. */
  readonly purpose: string | null;
  readonly policy: CompiledVerifyPolicy;
}

/** The certificate's place: `pinned` is a leaf that is itself a trust anchor. */
export type Role = 'leaf' | 'pinned' | 'intermediate' | 'anchor';

/**
 * Rank of a check among those of one certificate or path: a failure later in this order means
 * the path got further, which decides which failure is reported.
 */
export const Order = {
  structure: 1,
  algorithm: 2,
  validity: 3,
  purpose: 4,
  pathLength: 5,
  nameConstraints: 6,
  policy: 7,
} as const;

/** A failed check of one certificate: the message is `certificate at depth N ${text}`. */
export interface Problem {
  readonly code: VerifyFailureCode;
  readonly text: string;
  readonly order: number;
}

export function problem(code: VerifyFailureCode, text: string, order: number): Problem {
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
export function structureProblem(facts: CertificateFacts, role: Role, policy: CompiledVerifyPolicy): Problem | null {
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
export function weakKey(facts: CertificateFacts, policy: CompiledVerifyPolicy): string | null {
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
export function keyProblem(facts: CertificateFacts, policy: CompiledVerifyPolicy): Problem | null {
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

export function validityProblem(record: CertificateRecord, checks: Checks): Problem | null {
  const { from, until } = record.validity;
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

export function purposeProblem(facts: CertificateFacts, role: Role, purpose: string | null): Problem | null {
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
export function certificateProblem(
  record: CertificateRecord,
  facts: CertificateFacts,
  role: Role,
  checks: Checks,
): Problem | null {
  return (
    structureProblem(facts, role, checks.policy) ??
    algorithmProblem(facts, role, checks.policy) ??
    validityProblem(record, checks) ??
    purposeProblem(facts, role, checks.purpose)
  );
}
