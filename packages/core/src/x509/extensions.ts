/**
 * What path validation needs to know about one certificate, read from its DER with the strict
 * reader in der.ts: the version, the signature algorithm, names normalized for comparison, the
 * public key's identity, and every extension RFC 5280 §6 acts on.
 *
 * node:crypto parses the certificate and checks signatures, but exposes extensions only as
 * display strings (or not at all: name constraints, policies), so they are read here. Facts are
 * computed once per `X509Certificate` object and cached in a WeakMap: configured anchors and
 * intermediates, and certificates cached per TLS socket, are parsed once.
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
  checkOid,
  DerCursor,
  decodeIa5,
  decodeOid,
  decodeString,
  hex,
  malformed,
  readBoolean,
  readNonNegativeInteger,
  readTlv,
  sameEncoding,
  Tag,
  type Tlv,
} from './der.js';

/** OIDs of the extensions and values path validation understands. */
export const Oid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
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
} as const;

/** keyUsage bits (RFC 5280 §4.2.1.3) as a mask: bit n of the BIT STRING is `1 << n`. */
export const KeyUsageBit = {
  digitalSignature: 1 << 0,
  keyEncipherment: 1 << 2,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
} as const;

// ---------------------------------------------------------------------------------------------
// Types

/**
 * A Name prepared for comparison (RFC 5280 §7.1): every string attribute value is decoded,
 * trimmed, inner whitespace runs collapsed to one space and ASCII letters lower-cased (what
 * OpenSSL's canonical form does; full RFC 4518 case folding is not applied); other values compare
 * by their DER. The attributes of a multi-valued RDN are sorted, so RDNs compare as sets.
 */
export interface ComparableName {
  /** One key per RDN, in DER order (most significant first). */
  readonly rdns: readonly string[];
  /** All RDN keys joined: equal keys mean equal names. */
  readonly key: string;
  /** Values of emailAddress attributes (PKCS #9), as written, for rfc822Name constraints. */
  readonly emails: readonly string[];
}

/**
 * A GeneralName (RFC 5280 §4.2.1.6). The forms name constraints are defined for are decoded;
 * otherName, x400Address, ediPartyName and registeredID are kept by tag only.
 */
export type GeneralName =
  | { readonly kind: 'email' | 'dns' | 'uri'; readonly value: string }
  | { readonly kind: 'ip'; readonly bytes: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other'; readonly tag: number };

/** A GeneralSubtree base; an iPAddress base is an address and a mask of the same length. */
export type Subtree =
  | { readonly kind: 'email' | 'dns' | 'uri'; readonly value: string }
  | { readonly kind: 'ip'; readonly address: Buffer; readonly mask: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other'; readonly tag: number };

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

/**
 * What the key-strength policy needs of a public key, in the terms of Node's `KeyObject`
 * (`asymmetricKeyType`, `modulusLength`, `publicExponent`, `namedCurve` with OpenSSL's curve
 * names), read from the DER so that a key is judged before OpenSSL ever loads or uses it.
 */
export interface PublicKeyFacts {
  readonly type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448';
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

const KEY_ALGORITHMS: ReadonlyMap<string, PublicKeyFacts['type']> = new Map([
  ['1.2.840.113549.1.1.1', 'rsa'],
  ['1.2.840.113549.1.1.10', 'rsa-pss'],
  ['1.2.840.10045.2.1', 'ec'],
  ['1.3.101.112', 'ed25519'],
  ['1.3.101.113', 'ed448'],
] as const);
const NAMED_CURVES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10045.3.1.7', 'prime256v1'],
  ['1.3.132.0.34', 'secp384r1'],
  ['1.3.132.0.35', 'secp521r1'],
  ['1.3.132.0.33', 'secp224r1'],
  ['1.3.132.0.10', 'secp256k1'],
  ['1.3.36.3.3.2.8.1.1.7', 'brainpoolP256r1'],
  ['1.3.36.3.3.2.8.1.1.11', 'brainpoolP384r1'],
  ['1.3.36.3.3.2.8.1.1.13', 'brainpoolP512r1'],
]);

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
function readPublicKeyFacts(der: Buffer, spki: Tlv): PublicKeyFacts | null {
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
  readonly basicConstraints: {
    readonly ca: boolean;
    readonly pathLength: number | null;
    readonly critical: boolean;
  } | null;
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

// ---------------------------------------------------------------------------------------------
// Names

/** SPACE and the C0 whitespace controls RFC 4518 §2.2 maps to SPACE. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Trim, collapse whitespace runs to one space, fold ASCII case. */
export function normalizeDirectoryString(text: string): string {
  let out = '';
  let space = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (isSpace(c)) {
      space = out.length > 0;
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    out += String.fromCharCode(c);
  }
  return out;
}

/**
 * Reads and normalizes a Name. Every attribute type must be a well-formed OID and every string
 * value valid for its type; values of other types are kept as DER hex.
 */
export function readComparableName(der: Buffer, name: Tlv): ComparableName {
  const rdns: string[] = [];
  const emails: string[] = [];
  const list = DerCursor.inside(der, name);
  while (!list.done) {
    const set = DerCursor.inside(der, list.expect(Tag.SET, 'relative distinguished name'));
    if (set.done) throw malformed('empty relative distinguished name');
    const attributes: string[] = [];
    while (!set.done) {
      const fields = DerCursor.inside(der, set.expect(Tag.SEQUENCE, 'attribute'));
      const type = fields.expect(Tag.OID, 'attribute type');
      const value = fields.next('attribute value');
      fields.finish('attribute');
      const oid = decodeOid(der, type.valueStart, type.end);
      const text = decodeString(der, value);
      if (oid === Oid.emailAddress && text !== undefined) emails.push(text);
      // JSON quoting keeps the key unambiguous whatever the value contains; `#` marks DER.
      const comparable =
        text === undefined ? `#${hex(der, value.start, value.end)}` : JSON.stringify(normalizeDirectoryString(text));
      attributes.push(`${oid}=${comparable}`);
    }
    rdns.push(attributes.sort().join('+'));
  }
  return { rdns, key: rdns.join(','), emails };
}

// ---------------------------------------------------------------------------------------------
// GeneralName

const GeneralNameTag = {
  otherName: 0xa0,
  rfc822Name: 0x81,
  dNSName: 0x82,
  x400Address: 0xa3,
  directoryName: 0xa4,
  ediPartyName: 0xa5,
  uniformResourceIdentifier: 0x86,
  iPAddress: 0x87,
  registeredID: 0x88,
} as const;

/** Reads one GeneralName; `ipLengths` are the lengths an iPAddress may have in this context. */
function readGeneralName(der: Buffer, tlv: Tlv, ipLengths: readonly number[]): GeneralName | Subtree {
  switch (tlv.tag) {
    case GeneralNameTag.rfc822Name:
      return { kind: 'email', value: decodeIa5(der, tlv) };
    case GeneralNameTag.dNSName:
      return { kind: 'dns', value: decodeIa5(der, tlv) };
    case GeneralNameTag.uniformResourceIdentifier:
      return { kind: 'uri', value: decodeIa5(der, tlv) };
    case GeneralNameTag.iPAddress: {
      if (!ipLengths.includes(tlv.end - tlv.valueStart)) throw malformed('iPAddress of invalid length');
      const bytes = der.subarray(tlv.valueStart, tlv.end);
      if (bytes.length === 4 || bytes.length === 16) return { kind: 'ip', bytes };
      const half = bytes.length / 2;
      return { kind: 'ip', address: bytes.subarray(0, half), mask: bytes.subarray(half) };
    }
    case GeneralNameTag.directoryName: {
      // Name is a CHOICE, so the [4] tag is explicit.
      const wrapper = DerCursor.inside(der, tlv);
      const name = wrapper.expect(Tag.SEQUENCE, 'directoryName');
      wrapper.finish('directoryName');
      return { kind: 'dn', name: readComparableName(der, name) };
    }
    case GeneralNameTag.otherName: {
      const fields = DerCursor.inside(der, tlv);
      const typeId = fields.expect(Tag.OID, 'otherName type');
      checkOid(der, typeId.valueStart, typeId.end);
      fields.expect(0xa0, 'otherName value');
      fields.finish('otherName');
      return { kind: 'other', tag: tlv.tag };
    }
    case GeneralNameTag.registeredID:
      checkOid(der, tlv.valueStart, tlv.end);
      return { kind: 'other', tag: tlv.tag };
    case GeneralNameTag.x400Address:
    case GeneralNameTag.ediPartyName:
      return { kind: 'other', tag: tlv.tag };
    default:
      throw malformed('unknown GeneralName type');
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, from a cursor over the elements. */
function readGeneralNames(der: Buffer, names: DerCursor, what: string): GeneralName[] {
  if (names.done) throw malformed(`empty ${what}`);
  const out: GeneralName[] = [];
  while (!names.done) out.push(readGeneralName(der, names.next('general name'), [4, 16]) as GeneralName);
  return out;
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
    const minimum = fields.optional(0x80, 'GeneralSubtree minimum');
    if (minimum !== undefined && readNonNegativeInteger(der, minimum) !== 0) {
      problems.push('minimum distance is not supported');
    }
    if (fields.optional(0x81, 'GeneralSubtree maximum') !== undefined)
      problems.push('maximum distance is not supported');
    fields.finish('GeneralSubtree');
    subtrees.push(subtree);
  }
  return subtrees;
}

// ---------------------------------------------------------------------------------------------
// Extensions

/** Accumulates what the extension readers find. */
interface Draft {
  basicConstraints: CertificateFacts['basicConstraints'];
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

type ExtensionReader = (der: Buffer, value: DerCursor, draft: Draft) => void;

interface KnownExtension {
  readonly read: ExtensionReader;
  /**
   * RFC 5280 says conforming CAs MUST mark it non-critical. Marked critical, it asks for a meaning
   * this validator does not implement, so it is treated like an unknown critical extension.
   */
  readonly nonCriticalOnly?: boolean;
}

/** The single SEQUENCE an extension value holds, as a cursor over its elements. */
function sequenceIn(der: Buffer, value: DerCursor, what: string): DerCursor {
  const seq = value.expect(Tag.SEQUENCE, what);
  value.finish(what);
  return DerCursor.inside(der, seq);
}

function readOid(der: Buffer, cursor: DerCursor, what: string): string {
  const tlv = cursor.expect(Tag.OID, what);
  return decodeOid(der, tlv.valueStart, tlv.end);
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

/** KeyUsage ::= BIT STRING; only the first nine bits are defined. */
const readKeyUsage: ExtensionReader = (der, value, draft) => {
  const bits = value.expect(Tag.BIT_STRING, 'keyUsage');
  value.finish('keyUsage');
  const length = bits.end - bits.valueStart;
  const unused = der[bits.valueStart]!;
  if (length < 1 || unused > 7 || (length === 1 && unused !== 0)) throw malformed('invalid keyUsage BIT STRING');
  let mask = 0;
  for (let bit = 0; bit < 9 && bit < (length - 1) * 8 - unused; bit++) {
    if ((der[bits.valueStart + 1 + (bit >> 3)]! & (0x80 >> (bit & 7))) !== 0) mask |= 1 << bit;
  }
  draft.keyUsage = mask;
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
  const permitted = fields.optional(0xa0, 'permittedSubtrees');
  const excluded = fields.optional(0xa1, 'excludedSubtrees');
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
  const require = fields.optional(0x80, 'requireExplicitPolicy');
  const inhibit = fields.optional(0x81, 'inhibitPolicyMapping');
  fields.finish('policyConstraints');
  if (require === undefined && inhibit === undefined) throw malformed('empty policyConstraints');
  draft.requireExplicitPolicy = require === undefined ? null : readNonNegativeInteger(der, require);
  draft.inhibitPolicyMapping = inhibit === undefined ? null : readNonNegativeInteger(der, inhibit);
};

/** InhibitAnyPolicy ::= SkipCerts ::= INTEGER (0..MAX) */
const readInhibitAnyPolicy: ExtensionReader = (der, value, draft) => {
  const skip = value.expect(Tag.INTEGER, 'inhibitAnyPolicy');
  value.finish('inhibitAnyPolicy');
  draft.inhibitAnyPolicy = readNonNegativeInteger(der, skip);
};

/** SubjectKeyIdentifier ::= OCTET STRING */
const readSubjectKeyId: ExtensionReader = (der, value, draft) => {
  const id = value.expect(Tag.OCTET_STRING, 'subjectKeyIdentifier');
  value.finish('subjectKeyIdentifier');
  draft.subjectKeyId = hex(der, id.valueStart, id.end);
};

/** AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] authorityCertIssuer, [2] serial } */
const readAuthorityKeyId: ExtensionReader = (der, value, draft) => {
  const fields = sequenceIn(der, value, 'authorityKeyIdentifier');
  const id = fields.optional(0x80, 'keyIdentifier');
  const issuer = fields.optional(0xa1, 'authorityCertIssuer');
  fields.optional(0x82, 'authorityCertSerialNumber');
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
    const name = point.optional(0xa0, 'distributionPoint');
    point.optional(0x81, 'reasons');
    const crlIssuer = point.optional(0xa2, 'cRLIssuer');
    point.finish('DistributionPoint');
    if (name !== undefined) {
      const choice = DerCursor.inside(der, name);
      const chosen = choice.next('DistributionPointName');
      choice.finish('DistributionPointName');
      if (chosen.tag === 0xa0) readGeneralNames(der, DerCursor.inside(der, chosen), 'fullName');
      else if (chosen.tag !== 0xa1) throw malformed('unknown DistributionPointName');
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
 * Reads the Extensions of a v3 certificate into `draft`. Returns whether a critical extension
 * was not understood. Every extension's framing is checked, and a duplicate is malformed (§4.2).
 */
function readExtensions(der: Buffer, explicit: Tlv, draft: Draft): boolean {
  const wrapper = DerCursor.inside(der, explicit);
  const list = DerCursor.inside(der, wrapper.expect(Tag.SEQUENCE, 'extensions'));
  wrapper.finish('extensions');
  const seen = new Set<string>();
  let unhandledCritical = false;
  while (!list.done) {
    const extension = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'extension'));
    const oid = readOid(der, extension, 'extension id');
    const criticality = extension.optional(Tag.BOOLEAN, 'extension criticality');
    const value = extension.expect(Tag.OCTET_STRING, 'extension value');
    extension.finish('extension');
    if (seen.has(oid)) throw malformed('duplicate extension');
    seen.add(oid);
    const critical = criticality !== undefined && readBoolean(der, criticality);
    const known = KNOWN_EXTENSIONS.get(oid);
    if (known === undefined || (known.nonCriticalOnly === true && critical)) {
      unhandledCritical ||= critical;
      continue;
    }
    known.read(der, DerCursor.inside(der, value), draft);
    if (critical) draft.critical.add(oid);
  }
  return unhandledCritical;
}

// ---------------------------------------------------------------------------------------------
// Signature algorithms

const SIGNATURE_HASHES: ReadonlyMap<string, SignatureHash> = new Map<string, SignatureHash>([
  ['1.2.840.113549.1.1.2', 'md2'], // md2WithRSAEncryption
  ['1.2.840.113549.1.1.3', 'md4'],
  ['1.2.840.113549.1.1.4', 'md5'],
  ['1.3.14.3.2.3', 'md5'], // OIW md5WithRSA
  ['1.2.840.113549.1.1.5', 'sha1'], // sha1WithRSAEncryption
  ['1.3.14.3.2.29', 'sha1'], // OIW sha1WithRSASignature
  ['1.2.840.10045.4.1', 'sha1'], // ecdsa-with-SHA1
  ['1.2.840.10040.4.3', 'sha1'], // dsa-with-sha1
  ['1.3.14.3.2.27', 'sha1'], // OIW dsaWithSHA1
  ['1.2.840.113549.1.1.14', 'strong'], // sha224WithRSAEncryption
  ['1.2.840.113549.1.1.11', 'strong'],
  ['1.2.840.113549.1.1.12', 'strong'],
  ['1.2.840.113549.1.1.13', 'strong'],
  ['1.2.840.10045.4.3.1', 'strong'], // ecdsa-with-SHA224
  ['1.2.840.10045.4.3.2', 'strong'],
  ['1.2.840.10045.4.3.3', 'strong'],
  ['1.2.840.10045.4.3.4', 'strong'],
  ['1.3.101.112', 'strong'], // Ed25519
  ['1.3.101.113', 'strong'], // Ed448
  ['2.16.840.1.101.3.4.3.1', 'strong'], // dsa-with-sha224 (the DSA key itself is refused)
  ['2.16.840.1.101.3.4.3.2', 'strong'],
  ['2.16.840.1.101.3.4.3.9', 'strong'], // ecdsa-with-sha3-224 .. -512
  ['2.16.840.1.101.3.4.3.10', 'strong'],
  ['2.16.840.1.101.3.4.3.11', 'strong'],
  ['2.16.840.1.101.3.4.3.12', 'strong'],
  ['2.16.840.1.101.3.4.3.13', 'strong'], // rsassa-pkcs1-v1_5-with-sha3-224 .. -512
  ['2.16.840.1.101.3.4.3.14', 'strong'],
  ['2.16.840.1.101.3.4.3.15', 'strong'],
  ['2.16.840.1.101.3.4.3.16', 'strong'],
]);

const RSASSA_PSS = '1.2.840.113549.1.1.10';

/** Digest OIDs a RSASSA-PSS hashAlgorithm may name. */
const DIGEST_HASHES: ReadonlyMap<string, SignatureHash> = new Map<string, SignatureHash>([
  ['1.2.840.113549.2.5', 'md5'],
  ['1.3.14.3.2.26', 'sha1'],
  ['2.16.840.1.101.3.4.2.4', 'strong'], // SHA-224
  ['2.16.840.1.101.3.4.2.1', 'strong'],
  ['2.16.840.1.101.3.4.2.2', 'strong'],
  ['2.16.840.1.101.3.4.2.3', 'strong'],
  ['2.16.840.1.101.3.4.2.7', 'strong'], // SHA3-224 .. -512
  ['2.16.840.1.101.3.4.2.8', 'strong'],
  ['2.16.840.1.101.3.4.2.9', 'strong'],
  ['2.16.840.1.101.3.4.2.10', 'strong'],
]);

/**
 * The digest of a signature AlgorithmIdentifier. RSASSA-PSS names it in its parameters
 * (RFC 4055 §3.1), where the DEFAULT is SHA-1.
 */
function signatureHashOf(der: Buffer, algorithm: Tlv): SignatureHash {
  const fields = DerCursor.inside(der, algorithm);
  const oid = readOid(der, fields, 'signature algorithm');
  if (oid !== RSASSA_PSS) return SIGNATURE_HASHES.get(oid) ?? 'unknown';
  const params = fields.optional(Tag.SEQUENCE, 'RSASSA-PSS parameters');
  const hashAlgorithm =
    params === undefined ? undefined : DerCursor.inside(der, params).optional(0xa0, 'hashAlgorithm');
  if (hashAlgorithm === undefined) return 'sha1';
  const digest = DerCursor.inside(der, DerCursor.inside(der, hashAlgorithm).expect(Tag.SEQUENCE, 'hashAlgorithm'));
  return DIGEST_HASHES.get(readOid(der, digest, 'hash algorithm')) ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------
// The certificate

/** Extension-derived facts when a certificate has none (v1, v2, or v3 without extensions). */
function emptyDraft(): Draft {
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

function readVersion(der: Buffer, explicit: Tlv | undefined): number {
  if (explicit === undefined) return 1;
  const wrapper = DerCursor.inside(der, explicit);
  const version = readNonNegativeInteger(der, wrapper.expect(Tag.INTEGER, 'version'));
  wrapper.finish('version');
  if (version > 2) throw malformed('unknown certificate version');
  return version + 1;
}

/** Reads everything; throws `certificate_malformed` only for the skeleton and the names. */
export function readCertificateFacts(der: Buffer): CertificateFacts {
  const outer = readTlv(der, 0, der.length);
  if (outer.tag !== Tag.SEQUENCE || outer.end !== der.length) throw malformed('not a DER certificate');
  const certificate = DerCursor.inside(der, outer);
  const tbs = certificate.expect(Tag.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = certificate.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  certificate.expect(Tag.BIT_STRING, 'signatureValue');
  certificate.finish('signatureValue');

  const fields = DerCursor.inside(der, tbs);
  const version = readVersion(der, fields.optional(0xa0, 'version'));
  fields.expect(Tag.INTEGER, 'serialNumber');
  const innerAlgorithm = fields.expect(Tag.SEQUENCE, 'signature');
  const issuerTlv = fields.expect(Tag.SEQUENCE, 'issuer');
  fields.expect(Tag.SEQUENCE, 'validity');
  const subjectTlv = fields.expect(Tag.SEQUENCE, 'subject');
  const spki = fields.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const uniqueIds = [fields.optional(0x81, 'issuerUniqueID'), fields.optional(0x82, 'subjectUniqueID')];
  const extensions = fields.optional(0xa3, 'extensions');
  fields.finish('tbsCertificate');

  const issuer = readComparableName(der, issuerTlv);
  const subject = readComparableName(der, subjectTlv);
  const draft = emptyDraft();
  let unhandledCritical = false;
  let problem: string | null = null;
  try {
    // §4.1.1.2: the two AlgorithmIdentifiers MUST be identical, or the signature could be
    // checked under a different algorithm than the one the CA signed.
    if (!sameEncoding(der, signatureAlgorithm, innerAlgorithm)) throw malformed('signature algorithm mismatch');
    if (version === 1 && uniqueIds.some((id) => id !== undefined)) {
      throw malformed('unique identifiers in a version 1 certificate');
    }
    if (extensions !== undefined && version !== 3) throw malformed('extensions in a version 1 or 2 certificate');
    if (extensions !== undefined) unhandledCritical = readExtensions(der, extensions, draft);
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    problem = error.message.replace(/^malformed certificate: /, '');
  }
  let signatureHash: SignatureHash = 'unknown';
  try {
    signatureHash = signatureHashOf(der, signatureAlgorithm);
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    problem ??= 'unreadable signature algorithm';
  }
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

const factsCache = new WeakMap<X509Certificate, CertificateFacts | Error>();

/**
 * The facts of a certificate, computed once per object. Throws `certificate_malformed` (every
 * time, from the cache) when its skeleton or names cannot be read.
 */
export function certificateFacts(cert: X509Certificate): CertificateFacts {
  let facts = factsCache.get(cert);
  if (facts === undefined) {
    try {
      facts = readCertificateFacts(cert.raw);
    } catch (error) {
      if (!isClientCertError(error)) throw error;
      facts = error;
    }
    factsCache.set(cert, facts);
  }
  if (facts instanceof Error) throw facts;
  return facts;
}
