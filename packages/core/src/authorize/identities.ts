/**
 * `identities`: any-of a list of identities, each an all-of set of claims (Azure API Management's
 * `<identity>` attributes). The first identity whose claims all hold is the one reported as
 * `matched`.
 */
import type { ClientCertificate, IdentityName } from '../model.js';
import {
  type Digest,
  digestMatches,
  parseSpkiHash,
  parseThumbprint,
  type RuleContext,
  verifiedPath,
} from '../trust/pins.js';
import { invalidOption, knownKeys, objectOption } from '../validate.js';
import { compileDnAttributes, compileDnRule, type DnRule, dnMatches, dnRuleMatches, onlyCommonName } from './dn.js';
import type { RuleResult } from './result.js';
import { checkDnsName, compileSan, type SanRule } from './san.js';

/** An identity: every claim given must hold (all-of). Claims follow Azure's `<identity>` attributes. */
export interface Identity {
  /** Reported as `matched`; default `identities[<index>]`. Typed by `ClientCertIdentities` when augmented. */
  readonly name?: IdentityName;
  /** SHA-1 (40 hex, Azure's Thumbprint) or SHA-256 (64 hex) of the leaf's DER, in any notation. */
  readonly thumbprint?: string;
  /** Hex serial; case, colons and leading zeros are ignored. */
  readonly serialNumber?: string;
  /** Every CN of the subject equals this (exact). */
  readonly commonName?: string;
  readonly subject?: DnRule;
  /** A DNS SAN equal to this (case-insensitive, no wildcards; use `san` for patterns). */
  readonly dnsName?: string;
  /** The leaf's issuer name. */
  readonly issuerSubject?: DnRule;
  /** SHA-1 or SHA-256 of the issuing certificate: the next one in the verified path. */
  readonly issuerThumbprint?: string;
  /** SHA-256 of the leaf's SubjectPublicKeyInfo (survives renewal with the same key). */
  readonly spki?: string;
  /** SAN patterns as in `rules.san`, all kinds given must match. */
  readonly san?: SanRule;
}

/** An identity claim. */
type Claim = (cert: ClientCertificate, context: RuleContext) => boolean;

export interface CompiledIdentity {
  readonly claims: readonly Claim[];
  readonly result: RuleResult;
  /** Every claim compares the subject's CN and nothing else. */
  readonly onlyCommonName: boolean;
}

/** Hex serial without separators, `0x` or leading zeros, upper-case; undefined when not hex. */
function normalizeSerial(text: string): string | undefined {
  let hex = text.replace(/[\s:]/g, '');
  if (hex.slice(0, 2).toLowerCase() === '0x') hex = hex.slice(2);
  if (hex === '' || !/^[0-9a-f]+$/i.test(hex)) return undefined;
  return hex.replace(/^0+(?=.)/, '').toUpperCase();
}

const IDENTITY_CLAIMS = [
  'name',
  'thumbprint',
  'serialNumber',
  'commonName',
  'subject',
  'dnsName',
  'issuerSubject',
  'issuerThumbprint',
  'spki',
  'san',
] as const;

function nonEmptyString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value === '') throw invalidOption(option, 'must be a non-empty string');
  return value;
}

function thumbprintClaim(digest: Digest): Claim {
  return (cert) => digestMatches(digest, cert);
}

function issuerThumbprintClaim(digest: Digest): Claim {
  return (cert, context) => {
    const issuer = verifiedPath(cert, context)[1];
    return issuer !== undefined && digestMatches(digest, issuer);
  };
}

function serialClaim(value: unknown, option: string): Claim {
  const serial = normalizeSerial(nonEmptyString(value, option));
  if (serial === undefined) throw invalidOption(option, 'must be a hex serial number');
  return (cert) => normalizeSerial(cert.serialNumber) === serial;
}

function dnsNameClaim(value: unknown, option: string): Claim {
  const name = nonEmptyString(value, option).toLowerCase();
  if (name.includes('*'))
    throw invalidOption(option, 'must be an exact DNS name (use san: { dns: ["*.example.com"] } for wildcards)');
  checkDnsName(name, option);
  return (cert) => cert.san.dns.some((dns) => dns.toLowerCase() === name);
}

function sanClaim(value: unknown, option: string): Claim {
  const kinds = compileSan(value, option);
  return (cert) => kinds.every(({ kind, matches }) => matches(cert.san[kind]));
}

/** Claims in a fixed order, cheapest first, so a non-matching identity is dropped early. */
function compileIdentity(
  input: unknown,
  option: string,
  index: number,
  sha1Thumbprints: string[],
): { name: string; identity: CompiledIdentity } {
  const value = objectOption(input, option, '{ commonName: "alice" }');
  knownKeys(value, IDENTITY_CLAIMS, option);
  const name = value.name === undefined ? `identities[${index}]` : nonEmptyString(value.name, `${option}.name`);
  const claims: Claim[] = [];
  const at = (key: string): string => `${option}.${key}`;
  const thumbprint = (key: 'thumbprint' | 'issuerThumbprint'): Digest => {
    const digest = parseThumbprint(value[key], at(key), true);
    if (digest.algorithm === 'sha1') sha1Thumbprints.push(at(key));
    return digest;
  };
  if (value.thumbprint !== undefined) claims.push(thumbprintClaim(thumbprint('thumbprint')));
  if (value.spki !== undefined) {
    const digest = parseSpkiHash(value.spki, at('spki'));
    claims.push((cert) => digestMatches(digest, cert));
  }
  if (value.serialNumber !== undefined) claims.push(serialClaim(value.serialNumber, at('serialNumber')));
  if (value.commonName !== undefined) {
    const cn = compileDnAttributes({ CN: nonEmptyString(value.commonName, at('commonName')) }, at('commonName'));
    claims.push((cert) => dnMatches(cn, cert.subject));
  }
  let subjectOnlyCommonName = false;
  if (value.subject !== undefined) {
    const subject = compileDnRule(value.subject, at('subject'));
    subjectOnlyCommonName = onlyCommonName(subject);
    claims.push((cert) => dnRuleMatches(subject, cert.subject));
  }
  if (value.dnsName !== undefined) claims.push(dnsNameClaim(value.dnsName, at('dnsName')));
  if (value.san !== undefined) claims.push(sanClaim(value.san, at('san')));
  if (value.issuerSubject !== undefined) {
    const issuer = compileDnRule(value.issuerSubject, at('issuerSubject'));
    claims.push((cert) => dnRuleMatches(issuer, cert.issuer));
  }
  if (value.issuerThumbprint !== undefined) claims.push(issuerThumbprintClaim(thumbprint('issuerThumbprint')));
  if (claims.length === 0)
    throw invalidOption(
      option,
      'must have at least one claim (an identity without claims would match every certificate)',
    );
  const claimed = IDENTITY_CLAIMS.filter((key) => key !== 'name' && value[key] !== undefined);
  const cnOnly = claimed.every((key) => key === 'commonName' || (key === 'subject' && subjectOnlyCommonName));
  return { name, identity: { claims, result: Object.freeze({ ok: true, matched: name }), onlyCommonName: cnOnly } };
}

export function compileIdentities(value: unknown, option: string, sha1Thumbprints: string[]): CompiledIdentity[] {
  if (!Array.isArray(value)) throw invalidOption(option, 'must be a list of identities');
  if (value.length === 0) throw invalidOption(option, 'must list at least one identity (omit it to require none)');
  const names = new Set<string>();
  return value.map((entry: unknown, index) => {
    const { name, identity } = compileIdentity(entry, `${option}[${index}]`, index, sha1Thumbprints);
    if (names.has(name)) throw invalidOption(`${option}[${index}].name`, 'must be unique');
    names.add(name);
    return identity;
  });
}

export function firstIdentity(
  identities: readonly CompiledIdentity[],
  cert: ClientCertificate,
  context: RuleContext,
): CompiledIdentity | null {
  outer: for (const identity of identities) {
    for (const claim of identity.claims) if (!claim(cert, context)) continue outer;
    return identity;
  }
  return null;
}
