/**
 * What path validation needs to know about one certificate: the version, the signature algorithm,
 * names normalized for comparison, the public key's identity, and every extension RFC 5280 §6
 * acts on. Computed once per certificate object and kept in its record (facts.ts).
 *
 * Two levels of failure:
 * - the skeleton (framing, TBSCertificate fields, issuer and subject names) does not parse:
 *   `certificateFacts` throws `ClientCertError('certificate_malformed')`, because without names
 *   the certificate cannot take part in path building at all;
 * - an extension is malformed (bad DER, a duplicate, a value its ASN.1 type forbids): the facts
 *   carry `malformed` with a reason, and path validation rejects the certificate when it is used.
 *   The reasons are fixed texts, never certificate contents.
 */
import type { X509Certificate } from 'node:crypto';
import { isClientCertError } from '../errors.js';
import {
  malformed,
  malformedReason,
  readNonNegativeInteger,
  sameEncoding,
  Tag,
  type Tlv,
  unwrapExplicit,
} from './der.js';
import {
  applyExtensions,
  type BasicConstraints,
  emptyDraft,
  type NameConstraints,
  type PolicyFacts,
} from './extensions.js';
import { factsOf } from './facts.js';
import type { GeneralName } from './general-name.js';
import { type ComparableName, readComparableName } from './name.js';
import { Oid } from './oids.js';
import { type PublicKeyFacts, readPublicKeyFacts, type SignatureHash, signatureHashOf } from './public-key.js';
import type { Extension, TbsLayout } from './tbs.js';

export interface CertificateFacts {
  /** 1, 2 or 3. */
  readonly version: number;
  readonly subject: ComparableName;
  readonly issuer: ComparableName;
  /** Subject and issuer are the same name (RFC 5280 §6.1: "self-issued"). */
  readonly selfIssued: boolean;
  /** The DER SubjectPublicKeyInfo as latin1 text: with the subject, identifies a CA key in a path. */
  readonly spki: string;
  /** Key type, size, exponent and curve as read from the SPKI; null for an algorithm not listed here or a broken key. */
  readonly publicKey: PublicKeyFacts | null;
  readonly signatureHash: SignatureHash;
  /** Absent extension: null. `critical` is the extension's criticality flag. */
  readonly basicConstraints: BasicConstraints | null;
  /** keyUsage as a `KeyUsageBit` mask, or null when absent. */
  readonly keyUsage: number | null;
  /** extKeyUsage OIDs, or null when absent. */
  readonly extKeyUsage: readonly string[] | null;
  /** subjectAltName entries, or null when absent. */
  readonly subjectAltNames: readonly GeneralName[] | null;
  /** Whether the subjectAltName extension is marked critical (false when absent). */
  readonly subjectAltNameCritical: boolean;
  readonly nameConstraints: NameConstraints | null;
  readonly policy: PolicyFacts;
  /**
   * Lower-case hex; null when absent (`authorityKeyId` also when the extension has no
   * keyIdentifier field). Path building orders candidates by them; the RFC 5280 profile checks
   * in verify.ts require them.
   */
  readonly subjectKeyId: string | null;
  readonly authorityKeyId: string | null;
  /** True when a critical extension is not understood (or is critical where it must not be). */
  readonly unhandledCritical: boolean;
  /** Why an extension could not be read, or null. */
  readonly malformed: string | null;
}

function readVersion(der: Buffer, explicit: Tlv | undefined): number {
  if (explicit === undefined) return 1;
  const version = readNonNegativeInteger(der, unwrapExplicit(der, explicit, Tag.INTEGER, 'version'));
  if (version > 2) throw malformed('unknown certificate version');
  return version + 1;
}

/**
 * What path validation needs, from the layout `readTbs` found; `extensions` reads the strict
 * extension list (the record's). Throws `certificate_malformed` only for the names; a problem
 * with anything else is the facts' `malformed` reason.
 */
export function readPathFacts(
  der: Buffer,
  layout: TbsLayout,
  extensions: () => readonly Extension[],
): CertificateFacts {
  const version = readVersion(der, layout.version);
  const issuer = readComparableName(der, layout.issuer);
  const subject = readComparableName(der, layout.subject);
  const draft = emptyDraft();
  let unhandledCritical = false;
  let problem: string | null = null;
  try {
    // §4.1.1.2: the two AlgorithmIdentifiers MUST be identical, or the signature could be
    // checked under a different algorithm than the one the CA signed.
    if (!sameEncoding(der, layout.signatureAlgorithm, layout.innerSignature)) {
      throw malformed('signature algorithm mismatch');
    }
    if (version === 1 && (layout.issuerUniqueId !== undefined || layout.subjectUniqueId !== undefined)) {
      throw malformed('unique identifiers in a version 1 certificate');
    }
    if (layout.extensions !== undefined && version !== 3) throw malformed('extensions in a version 1 or 2 certificate');
    if (layout.extensions !== undefined) unhandledCritical = applyExtensions(der, extensions(), draft);
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    problem = malformedReason(error);
  }
  let signatureHash: SignatureHash = 'unknown';
  try {
    signatureHash = signatureHashOf(der, layout.signatureAlgorithm);
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    problem ??= 'unreadable signature algorithm';
  }
  const spki = layout.subjectPublicKeyInfo;
  return {
    version,
    subject,
    issuer,
    selfIssued: subject.key === issuer.key,
    spki: der.toString('latin1', spki.start, spki.end),
    publicKey: readPublicKeyFacts(der, spki),
    signatureHash,
    basicConstraints:
      draft.basicConstraints === null
        ? null
        : { ...draft.basicConstraints, critical: draft.critical.has(Oid.basicConstraints) },
    keyUsage: draft.keyUsage,
    extKeyUsage: draft.extKeyUsage,
    subjectAltNames: draft.subjectAltNames,
    subjectAltNameCritical: draft.critical.has(Oid.subjectAltName),
    nameConstraints: draft.nameConstraints,
    policy: {
      policies: draft.policies,
      mappings: draft.mappings,
      requireExplicitPolicy: draft.requireExplicitPolicy,
      inhibitPolicyMapping: draft.inhibitPolicyMapping,
      inhibitAnyPolicy: draft.inhibitAnyPolicy,
    },
    subjectKeyId: draft.subjectKeyId,
    authorityKeyId: draft.authorityKeyId,
    unhandledCritical,
    malformed: problem,
  };
}

/**
 * The facts of a certificate, computed once per object (its record, facts.ts). Throws
 * `certificate_malformed` (every time, the same error) when its skeleton or names cannot be read.
 */
export function certificateFacts(cert: X509Certificate): CertificateFacts {
  return factsOf(cert).path;
}
