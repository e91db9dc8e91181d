/**
 * The extensions RFC 5280 §6 acts on, each read strictly from its DER by one reader into a
 * draft of the path facts (path-facts.ts). node:crypto exposes extensions only as display
 * strings (or not at all: name constraints, policies), so they are read here. A reader throws
 * `certificate_malformed` with a fixed reason, never certificate contents.
 */
import {
  contextTag,
  DerCursor,
  hex,
  malformed,
  readBoolean,
  readNonNegativeInteger,
  readOid,
  Tag,
  type Tlv,
  unwrapExplicit,
} from './der.js';
import { type GeneralName, readGeneralName, readGeneralNames, type Subtree } from './general-name.js';
import { Oid } from './oids.js';
import type { Extension } from './tbs.js';

// The names other folders import from here; their new homes are the modules named.
export type { ComparableName } from './name.js';
export { normalizeDirectoryString, readComparableName } from './name.js';
export { KeyUsageBit, Oid } from './oids.js';
export type { CertificateFacts } from './path-facts.js';
export { certificateFacts } from './path-facts.js';
export type { PublicKeyFacts, SignatureHash } from './public-key.js';
export { publicKeyFactsOfSpki } from './public-key.js';
export type { GeneralName, Subtree };

/** basicConstraints; `critical` is the extension's criticality flag. */
export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength: number | null;
  readonly critical: boolean;
}

export interface NameConstraints {
  readonly permitted: readonly Subtree[];
  readonly excluded: readonly Subtree[];
  /**
   * Why the extension cannot be processed although it parses (a minimum or maximum distance), or
   * null. `nameConstraintsProblem` adds the syntax of each base; both are checked where the
   * certificate is used as an issuer.
   */
  readonly invalid: string | null;
}

/** The policy extensions (RFC 5280 §4.2.1.4, .5, .11, .14), for `processPolicies`. */
export interface PolicyFacts {
  /** certificatePolicies OIDs, or null when the extension is absent. */
  readonly policies: readonly string[] | null;
  /** policyMappings as [issuerDomainPolicy, subjectDomainPolicy] pairs, or null. */
  readonly mappings: readonly (readonly [string, string])[] | null;
  readonly requireExplicitPolicy: number | null;
  readonly inhibitPolicyMapping: number | null;
  readonly inhibitAnyPolicy: number | null;
}

// ---------------------------------------------------------------------------------------------
// Name constraints (structure only; the syntax of each base is judged in name-constraints.ts)

/** GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree, inside an implicit [0] or [1]. */
function readSubtrees(der: Buffer, tlv: Tlv, problems: string[]): Subtree[] {
  const list = DerCursor.inside(der, tlv);
  if (list.done) throw malformed('empty GeneralSubtrees');
  const subtrees: Subtree[] = [];
  while (!list.done) {
    const fields = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'GeneralSubtree'));
    const subtree = readGeneralName(der, fields.next('GeneralSubtree base'), [8, 32]) as Subtree;
    // minimum DEFAULT 0 and maximum are unused in this profile (§4.2.1.10): honouring a
    // distance we do not implement would be wrong, ignoring it unsafe, so the subtree is invalid.
    const minimum = fields.optional(contextTag(0, false), 'GeneralSubtree minimum');
    if (minimum !== undefined && readNonNegativeInteger(der, minimum) !== 0) {
      problems.push('minimum distance is not supported');
    }
    if (fields.optional(contextTag(1, false), 'GeneralSubtree maximum') !== undefined)
      problems.push('maximum distance is not supported');
    fields.finish('GeneralSubtree');
    subtrees.push(subtree);
  }
  return subtrees;
}

// ---------------------------------------------------------------------------------------------
// Extensions

/** Accumulates what the extension readers find. */
export interface Draft {
  basicConstraints: BasicConstraints | null;
  keyUsage: number | null;
  extKeyUsage: string[] | null;
  subjectAltNames: GeneralName[] | null;
  nameConstraints: NameConstraints | null;
  policies: string[] | null;
  mappings: [string, string][] | null;
  requireExplicitPolicy: number | null;
  inhibitPolicyMapping: number | null;
  inhibitAnyPolicy: number | null;
  subjectKeyId: string | null;
  authorityKeyId: string | null;
  /** OIDs of the known extensions marked critical. */
  critical: Set<string>;
}

/** Reads one extension's value (the extnValue OCTET STRING) into `draft`. */
type ExtensionReader = (der: Buffer, value: Tlv, draft: Draft) => void;

interface KnownExtension {
  readonly read: ExtensionReader;
  /**
   * RFC 5280 says conforming CAs MUST mark it non-critical. Marked critical, it asks for a meaning
   * this validator does not implement, so it is treated like an unknown critical extension.
   */
  readonly nonCriticalOnly?: boolean;
}

/** The single SEQUENCE an extension value holds, as a cursor over its elements. */
function sequenceIn(der: Buffer, value: Tlv, what: string): DerCursor {
  return DerCursor.inside(der, unwrapExplicit(der, value, Tag.SEQUENCE, what));
}

/** The single element of type `tag` an extension value holds. */
function elementIn(der: Buffer, value: Tlv, tag: number, what: string): Tlv {
  return unwrapExplicit(der, value, tag, what);
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
const readBasicConstraints: ExtensionReader = (der, value, draft) => {
  const fields = sequenceIn(der, value, 'basicConstraints');
  const ca = fields.optional(Tag.BOOLEAN, 'cA');
  const pathLength = fields.optional(Tag.INTEGER, 'pathLenConstraint');
  fields.finish('basicConstraints');
  draft.basicConstraints = {
    ca: ca !== undefined && readBoolean(der, ca),
    pathLength: pathLength === undefined ? null : readNonNegativeInteger(der, pathLength),
    critical: false, // set from the extension's flag once read (readExtensions)
  };
};

/**
 * KeyUsage ::= BIT STRING, from the extension's OCTET STRING, as a `KeyUsageBit` mask; only the
 * first nine bits are defined.
 */
export function readKeyUsageMask(der: Buffer, extensionValue: Tlv): number {
  const value = DerCursor.inside(der, extensionValue);
  const bits = value.expect(Tag.BIT_STRING, 'keyUsage');
  value.finish('keyUsage');
  const length = bits.end - bits.valueStart;
  const unused = der[bits.valueStart]!;
  if (length < 1 || unused > 7 || (length === 1 && unused !== 0)) throw malformed('invalid keyUsage BIT STRING');
  let mask = 0;
  for (let bit = 0; bit < 9 && bit < (length - 1) * 8 - unused; bit++) {
    if ((der[bits.valueStart + 1 + (bit >> 3)]! & (0x80 >> (bit & 7))) !== 0) mask |= 1 << bit;
  }
  return mask;
}

const readKeyUsage: ExtensionReader = (der, value, draft) => {
  draft.keyUsage = readKeyUsageMask(der, value);
};

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
const readExtKeyUsage: ExtensionReader = (der, value, draft) => {
  const list = sequenceIn(der, value, 'extKeyUsage');
  if (list.done) throw malformed('empty extKeyUsage');
  const oids: string[] = [];
  while (!list.done) oids.push(readOid(der, list, 'key purpose'));
  draft.extKeyUsage = oids;
};

const readSubjectAltName: ExtensionReader = (der, value, draft) => {
  draft.subjectAltNames = readGeneralNames(der, sequenceIn(der, value, 'subjectAltName'), 'subjectAltName');
};

const readIssuerAltName: ExtensionReader = (der, value) => {
  readGeneralNames(der, sequenceIn(der, value, 'issuerAltName'), 'issuerAltName');
};

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 * excludedSubtrees [1] GeneralSubtrees OPTIONAL }; §4.2.1.10 forbids an empty sequence.
 */
const readNameConstraints: ExtensionReader = (der, value, draft) => {
  const fields = sequenceIn(der, value, 'nameConstraints');
  const permitted = fields.optional(contextTag(0, true), 'permittedSubtrees');
  const excluded = fields.optional(contextTag(1, true), 'excludedSubtrees');
  fields.finish('nameConstraints');
  if (permitted === undefined && excluded === undefined) throw malformed('empty nameConstraints');
  const problems: string[] = [];
  draft.nameConstraints = {
    permitted: permitted === undefined ? [] : readSubtrees(der, permitted, problems),
    excluded: excluded === undefined ? [] : readSubtrees(der, excluded, problems),
    invalid: problems[0] ?? null,
  };
};

/** certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation; each OID at most once. */
const readCertificatePolicies: ExtensionReader = (der, value, draft) => {
  const list = sequenceIn(der, value, 'certificatePolicies');
  if (list.done) throw malformed('empty certificatePolicies');
  const policies: string[] = [];
  while (!list.done) {
    const info = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'PolicyInformation'));
    const policy = readOid(der, info, 'policyIdentifier');
    const qualifiers = info.optional(Tag.SEQUENCE, 'policyQualifiers');
    info.finish('PolicyInformation');
    if (qualifiers !== undefined) readPolicyQualifiers(der, qualifiers);
    if (policies.includes(policy)) throw malformed('duplicate certificate policy');
    policies.push(policy);
  }
  draft.policies = policies;
};

/** PolicyQualifierInfo ::= SEQUENCE { policyQualifierId OID, qualifier ANY }: framing only. */
function readPolicyQualifiers(der: Buffer, tlv: Tlv): void {
  const list = DerCursor.inside(der, tlv);
  if (list.done) throw malformed('empty policyQualifiers');
  while (!list.done) {
    const qualifier = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'PolicyQualifierInfo'));
    readOid(der, qualifier, 'policyQualifierId');
    qualifier.next('qualifier');
    qualifier.finish('PolicyQualifierInfo');
  }
}

/** PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy, subjectDomainPolicy } */
const readPolicyMappings: ExtensionReader = (der, value, draft) => {
  const list = sequenceIn(der, value, 'policyMappings');
  if (list.done) throw malformed('empty policyMappings');
  const mappings: [string, string][] = [];
  while (!list.done) {
    const pair = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'policy mapping'));
    mappings.push([readOid(der, pair, 'issuerDomainPolicy'), readOid(der, pair, 'subjectDomainPolicy')]);
    pair.finish('policy mapping');
  }
  draft.mappings = mappings;
};

/**
 * PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] SkipCerts OPTIONAL,
 * inhibitPolicyMapping [1] SkipCerts OPTIONAL }; §4.2.1.11 forbids an empty sequence.
 */
const readPolicyConstraints: ExtensionReader = (der, value, draft) => {
  const fields = sequenceIn(der, value, 'policyConstraints');
  const require = fields.optional(contextTag(0, false), 'requireExplicitPolicy');
  const inhibit = fields.optional(contextTag(1, false), 'inhibitPolicyMapping');
  fields.finish('policyConstraints');
  if (require === undefined && inhibit === undefined) throw malformed('empty policyConstraints');
  draft.requireExplicitPolicy = require === undefined ? null : readNonNegativeInteger(der, require);
  draft.inhibitPolicyMapping = inhibit === undefined ? null : readNonNegativeInteger(der, inhibit);
};

/** InhibitAnyPolicy ::= SkipCerts ::= INTEGER (0..MAX) */
const readInhibitAnyPolicy: ExtensionReader = (der, value, draft) => {
  const skip = elementIn(der, value, Tag.INTEGER, 'inhibitAnyPolicy');
  draft.inhibitAnyPolicy = readNonNegativeInteger(der, skip);
};

/** SubjectKeyIdentifier ::= OCTET STRING */
const readSubjectKeyId: ExtensionReader = (der, value, draft) => {
  const id = elementIn(der, value, Tag.OCTET_STRING, 'subjectKeyIdentifier');
  draft.subjectKeyId = hex(der, id.valueStart, id.end);
};

/** AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] authorityCertIssuer, [2] serial } */
const readAuthorityKeyId: ExtensionReader = (der, value, draft) => {
  const fields = sequenceIn(der, value, 'authorityKeyIdentifier');
  const id = fields.optional(contextTag(0, false), 'keyIdentifier');
  const issuer = fields.optional(contextTag(1, true), 'authorityCertIssuer');
  fields.optional(contextTag(2, false), 'authorityCertSerialNumber');
  fields.finish('authorityKeyIdentifier');
  if (issuer !== undefined) readGeneralNames(der, DerCursor.inside(der, issuer), 'authorityCertIssuer');
  draft.authorityKeyId = id === undefined ? null : hex(der, id.valueStart, id.end);
};

/** AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { accessMethod, accessLocation } */
const readInfoAccess: ExtensionReader = (der, value) => {
  const list = sequenceIn(der, value, 'information access');
  if (list.done) throw malformed('empty information access');
  while (!list.done) {
    const description = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'AccessDescription'));
    readOid(der, description, 'accessMethod');
    readGeneralName(der, description.next('accessLocation'), [4, 16]);
    description.finish('AccessDescription');
  }
};

/**
 * CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint ::= SEQUENCE {
 * distributionPoint [0] DistributionPointName OPTIONAL, reasons [1] ReasonFlags OPTIONAL,
 * cRLIssuer [2] GeneralNames OPTIONAL }: framing and names only; revocation is a separate step.
 */
const readDistributionPoints: ExtensionReader = (der, value) => {
  const list = sequenceIn(der, value, 'CRL distribution points');
  if (list.done) throw malformed('empty CRL distribution points');
  while (!list.done) {
    const point = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'DistributionPoint'));
    const name = point.optional(contextTag(0, true), 'distributionPoint');
    point.optional(contextTag(1, false), 'reasons');
    const crlIssuer = point.optional(contextTag(2, true), 'cRLIssuer');
    point.finish('DistributionPoint');
    if (name !== undefined) {
      const choice = DerCursor.inside(der, name);
      const chosen = choice.next('DistributionPointName');
      choice.finish('DistributionPointName');
      if (chosen.tag === contextTag(0, true)) readGeneralNames(der, DerCursor.inside(der, chosen), 'fullName');
      else if (chosen.tag !== contextTag(1, true)) throw malformed('unknown DistributionPointName');
    }
    if (crlIssuer !== undefined) readGeneralNames(der, DerCursor.inside(der, crlIssuer), 'cRLIssuer');
  }
};

const KNOWN_EXTENSIONS: ReadonlyMap<string, KnownExtension> = new Map<string, KnownExtension>([
  [Oid.basicConstraints, { read: readBasicConstraints }],
  [Oid.keyUsage, { read: readKeyUsage }],
  [Oid.extKeyUsage, { read: readExtKeyUsage }],
  [Oid.subjectAltName, { read: readSubjectAltName }],
  [Oid.issuerAltName, { read: readIssuerAltName }],
  [Oid.nameConstraints, { read: readNameConstraints }],
  [Oid.certificatePolicies, { read: readCertificatePolicies }],
  [Oid.policyMappings, { read: readPolicyMappings }],
  [Oid.policyConstraints, { read: readPolicyConstraints }],
  [Oid.inhibitAnyPolicy, { read: readInhibitAnyPolicy }],
  [Oid.crlDistributionPoints, { read: readDistributionPoints }],
  [Oid.subjectKeyIdentifier, { read: readSubjectKeyId, nonCriticalOnly: true }],
  [Oid.authorityKeyIdentifier, { read: readAuthorityKeyId, nonCriticalOnly: true }],
  [Oid.authorityInfoAccess, { read: readInfoAccess, nonCriticalOnly: true }],
  [Oid.subjectInfoAccess, { read: readInfoAccess, nonCriticalOnly: true }],
  [Oid.freshestCrl, { read: readDistributionPoints, nonCriticalOnly: true }],
]);

/**
 * Applies the known extensions of a v3 certificate to `draft`. Returns whether a critical
 * extension was not understood.
 */
export function applyExtensions(der: Buffer, extensions: readonly Extension[], draft: Draft): boolean {
  let unhandledCritical = false;
  for (const { oid, critical, value } of extensions) {
    const known = KNOWN_EXTENSIONS.get(oid);
    if (known === undefined || (known.nonCriticalOnly === true && critical)) {
      unhandledCritical ||= critical;
      continue;
    }
    known.read(der, value, draft);
    if (critical) draft.critical.add(oid);
  }
  return unhandledCritical;
}

/** Extension-derived facts when a certificate has none (v1, v2, or v3 without extensions). */
export function emptyDraft(): Draft {
  return {
    basicConstraints: null,
    keyUsage: null,
    extKeyUsage: null,
    subjectAltNames: null,
    nameConstraints: null,
    policies: null,
    mappings: null,
    requireExplicitPolicy: null,
    inhibitPolicyMapping: null,
    inhibitAnyPolicy: null,
    subjectKeyId: null,
    authorityKeyId: null,
    critical: new Set(),
  };
}
