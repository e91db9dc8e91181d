/**
 * Rules: which trusted client certificates are allowed in (step 4 of the pipeline, "Authorize").
 *
 * Semantics follow Azure API Management's `validate-client-certificate`: every configured
 * top-level check must pass (`subject`, `issuer`, `san.*`, `spiffe`, in that order), then — when
 * `identities` are configured — at least one identity must match, each identity being an all-of
 * set of claims; then the `predicate` runs. The first failure is reported with a stable label and
 * a fixed message that never contains certificate or request content.
 *
 * Decisions (see also each matcher):
 * - Distinguished names are compared as parsed RDNs, never as strings. An RFC 4514 string is the
 *   *whole* name: same RDNs in the same order (order is part of a DN), each RDN the same set of
 *   attributes (order inside a multi-valued RDN is not). Attribute types are case-insensitive and
 *   any alias works (`cn`, `CN`, `commonName`, `2.5.4.3`, .NET's `E`/`S`); values are exact
 *   (case-sensitive, after unescaping). An object `{ O: 'Contoso', C: 'US' }` is a *partial*
 *   match: each listed attribute must be present and every value the name has for it must be one
 *   of the listed values, so a second `O` cannot smuggle a certificate past `{ O: 'Contoso' }`.
 *   A list of strings/objects is any-of.
 * - SAN kinds are separate checks (all configured kinds must pass), each any-of: some SAN of that
 *   kind matches some pattern. For any-of across kinds, use identities with `san` claims.
 * - SAN values compare as RFC 5280 says for their kind: DNS names case-insensitively (ASCII);
 *   URIs with the scheme and host case-insensitive and the rest exact (§7.4); e-mail addresses
 *   with the domain case-insensitive and the local part exact (§4.2.1.6); IP addresses as
 *   addresses, not text. Rules are normalised once when compiled, certificate values when
 *   compared, without allocating in the usual case (nothing to lower-case).
 * - Matching never builds a regular expression from configuration.
 */

import type { X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { TextDecoder } from 'node:util';
import { isPrintableAscii } from '../encoding/text.js';
import { invalidOption } from '../errors.js';
import type { ClientCertificate, DistinguishedName, IdentityName } from '../model.js';
import {
  type Digest,
  digestMatches,
  parseSpkiHash,
  parseThumbprint,
  type RuleContext,
  verifiedPath,
} from '../trust/pins.js';
import { NAME_ALIASES } from '../x509/certificate.js';
import { DerCursor, decodeString, isDottedOid, readTlv, Tag } from '../x509/der.js';

export type { RuleContext } from '../trust/pins.js';

// ---------------------------------------------------------------------------------------------
// Public option types

/** Partial DN: attribute type (any alias or dotted OID) → allowed value(s), compared exactly. */
export type DnAttributes = { readonly [type: string]: string | readonly string[] };

/** An RFC 4514 string (the whole name), a `DnAttributes` object (partial), or a list of those (any-of). */
export type DnRule = string | DnAttributes | readonly (string | DnAttributes)[];

/** Each kind given is its own check; within a kind any listed pattern may match any SAN. */
export interface SanRule {
  /**
   * Exact names, or `*.example.com` for exactly one extra left-most label. Case-insensitive; no
   * trailing dot (a SAN written with one matches nothing: it is outside RFC 5280's syntax).
   */
  readonly dns?: string | readonly string[];
  /**
   * Exact URIs, or prefixes written with a trailing `*` (`spiffe://contoso.com/payments/*`). The
   * scheme and host are case-insensitive, the rest exact (percent-encoding as written); a prefix
   * never matches a URI with `.`/`..` path segments.
   */
  readonly uri?: string | readonly string[];
  /** Exact addresses (local part exact, domain case-insensitive), or `@example.com` for any mailbox at that domain. */
  readonly email?: string | readonly string[];
  /**
   * IPv4/IPv6 addresses or CIDR blocks, compared as addresses (any IPv6 spelling; an IPv4 address
   * and its IPv4-mapped IPv6 form `::ffff:a.b.c.d` are the same address).
   */
  readonly ip?: string | readonly string[];
}

/** One SPIFFE ID, a list of IDs, or any workload of one trust domain. The leaf must be a valid X509-SVID. */
export type SpiffeRule =
  | { readonly id: string }
  | { readonly ids: readonly string[] }
  | { readonly trustDomain: string };

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

/** `true` / `{ ok: true }` accept; `false` / `{ ok: false, reason }` reject. Anything else rejects. */
export type PredicateVerdict = boolean | { readonly ok: true } | { readonly ok: false; readonly reason?: string };

/**
 * The application's own check, after all other rules passed. May be async. A `reason` becomes
 * the failure message (and so the problem `detail`): it must be fixed text, never certificate
 * or request content; one that is not short printable ASCII is replaced by the default message.
 */
export type RulePredicate = (
  cert: ClientCertificate,
  context: RuleContext,
) => PredicateVerdict | PromiseLike<PredicateVerdict>;

export interface RulesOption {
  readonly subject?: DnRule;
  readonly issuer?: DnRule;
  readonly san?: SanRule;
  readonly spiffe?: SpiffeRule;
  /** Any-of; omit to require none. */
  readonly identities?: readonly Identity[];
  readonly predicate?: RulePredicate;
}

/** Which check failed: stable labels for logs, hooks and metrics. */
export type RuleFailureLabel =
  | 'subject'
  | 'issuer'
  | 'san.dns'
  | 'san.uri'
  | 'san.email'
  | 'san.ip'
  | 'spiffe'
  | 'identities'
  | 'predicate';

export type RuleResult =
  | {
      readonly ok: true;
      /** The matching identity's name; null when no identities are configured. */
      readonly matched: string | null;
    }
  | {
      readonly ok: false;
      readonly failed: RuleFailureLabel;
      /** Fixed text, safe for a problem `detail`. */
      readonly message: string;
      /** What a predicate threw or rejected with, or why its return value was refused; for logs only. */
      readonly cause?: unknown;
    };

type Failure = Extract<RuleResult, { ok: false }>;

/** A top-level check: null when it passes. */
type Check = (cert: ClientCertificate) => Failure | null;
/** An identity claim. */
type Claim = (cert: ClientCertificate, context: RuleContext) => boolean;

interface CompiledIdentity {
  readonly claims: readonly Claim[];
  readonly result: RuleResult;
  /** Every claim compares the subject's CN and nothing else. */
  readonly onlyCommonName: boolean;
}

/** Compiled `rules`; opaque apart from what an integrator needs to know. */
export interface CompiledRules {
  /** True when some claim (`issuerThumbprint`) reads `context.chain`, the verified path. */
  readonly usesChain: boolean;
  /** True when a predicate is configured: `evaluateRules` may then return a Promise. */
  readonly hasPredicate: boolean;
  /** @internal */
  readonly checks: readonly Check[];
  /** @internal */
  readonly identities: readonly CompiledIdentity[] | null;
  /** @internal */
  readonly predicate: RulePredicate | null;
  /** @internal For the cn_only_rules warning: a certificate can pass on its CN alone. */
  readonly onlyCommonName: boolean;
  /** @internal For the sha1_thumbprint warning: the options that give a SHA-1 thumbprint. */
  readonly sha1Thumbprints: readonly string[];
}

// Results are constants, so the synchronous path allocates nothing.
function failure(failed: RuleFailureLabel, message: string): Failure {
  return Object.freeze({ ok: false, failed, message });
}

const FAILURES = {
  subject: failure('subject', 'The client certificate subject is not allowed.'),
  issuer: failure('issuer', 'The client certificate issuer is not allowed.'),
  'san.dns': failure('san.dns', 'The client certificate has no allowed DNS name.'),
  'san.uri': failure('san.uri', 'The client certificate has no allowed URI.'),
  'san.email': failure('san.email', 'The client certificate has no allowed email address.'),
  'san.ip': failure('san.ip', 'The client certificate has no allowed IP address.'),
  identities: failure('identities', 'The client certificate matches none of the allowed identities.'),
  predicate: failure('predicate', 'The client certificate was rejected by an application rule.'),
} as const;

const SVID_FAILURES = {
  uriCount: failure('spiffe', 'The client certificate is not an X509-SVID: it must have exactly one URI SAN.'),
  malformed: failure('spiffe', 'The client certificate is not an X509-SVID: its SPIFFE ID is not a valid workload ID.'),
  ca: failure('spiffe', 'The client certificate is not an X509-SVID: it is a CA certificate.'),
  keyUsage: failure('spiffe', 'The client certificate is not an X509-SVID: its key usage is not that of a leaf.'),
  notAllowed: failure('spiffe', 'The client certificate SPIFFE ID is not allowed.'),
} as const;

const PREDICATE_ERROR_MESSAGE = 'The client certificate could not be checked by an application rule.';
const MATCHED_NOTHING: RuleResult = Object.freeze({ ok: true, matched: null });

// ---------------------------------------------------------------------------------------------
// Option plumbing

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Unknown keys are errors: a misspelt claim silently ignored would widen access. */
function checkKeys(value: Record<string, unknown>, allowed: readonly string[], option: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw invalidOption(`${option}.${key}`, `is not supported here (use ${allowed.join(', ')})`);
  }
}

/** A string or a non-empty list of strings, each with its own option path. */
function stringList(value: unknown, option: string): { value: string; option: string }[] {
  if (typeof value === 'string') return [{ value, option }];
  if (!Array.isArray(value)) throw invalidOption(option, 'must be a string or a list of strings');
  if (value.length === 0) throw invalidOption(option, 'must list at least one entry (omit it to allow any)');
  return value.map((item: unknown, index) => {
    if (typeof item !== 'string') throw invalidOption(`${option}[${index}]`, 'must be a string');
    return { value: item, option: `${option}[${index}]` };
  });
}

// ---------------------------------------------------------------------------------------------
// Distinguished names

/** Attribute type names (lower-case) → OID: RFC 4514/4519 names, long forms, and .NET's letters. */
const ATTRIBUTE_TYPES: ReadonlyMap<string, string> = new Map([
  ...NAME_ALIASES,
  ['s', '2.5.4.8'],
  ['t', '2.5.4.12'],
  ['g', '2.5.4.42'],
  ['i', '2.5.4.43'],
  ['e', '1.2.840.113549.1.9.1'],
]);

function attributeOid(type: string, option: string, extraTypes?: ReadonlyMap<string, string>): string {
  const bare = type.length > 4 && type.slice(0, 4).toLowerCase() === 'oid.' ? type.slice(4) : type; // RFC 1779 / .NET "OID.x.y"
  const oid = isDottedOid(bare)
    ? bare
    : (ATTRIBUTE_TYPES.get(type.toLowerCase()) ?? extraTypes?.get(type.toLowerCase()));
  if (oid === undefined) throw invalidOption(option, `has an unknown attribute type "${type}" (use a dotted OID)`);
  return oid;
}

export interface DnAttribute {
  readonly oid: string;
  readonly value: string;
}

type CompiledDn =
  | { readonly exact: true /** DER order, most general first. */; readonly rdns: readonly (readonly DnAttribute[])[] }
  | {
      readonly exact: false;
      readonly attributes: readonly { readonly oid: string; readonly values: ReadonlySet<string> }[];
    };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const RFC4514_ESCAPABLE = ' "#+,;<=>\\';
const HEX_PAIRS = /^(?:[0-9a-fA-F]{2})+$/;
const SURROGATE = /[\uD800-\uDFFF]/;

const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

/** The value of one hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * `#hex` (RFC 4514 §2.4): the BER of the value. A string type compares as its text (so copying
 * `cert.subject.rfc4514`, which writes e.g. emailAddress this way, round-trips); any other type as
 * `#hex`, the way `NameAttribute.value` carries it.
 */
function hexValue(hex: string, option: string): string {
  if (!HEX_PAIRS.test(hex)) throw invalidOption(option, 'has a "#" value that is not hex');
  const ber = Buffer.from(hex, 'hex');
  try {
    const tlv = readTlv(ber, 0, ber.length);
    if (tlv.end !== ber.length) throw new Error('trailing bytes');
    return decodeString(ber, tlv) ?? `#${hex.toLowerCase()}`;
  } catch {
    throw invalidOption(option, 'has a "#" value that is not one BER-encoded value');
  }
}

function decodeEscapedBytes(bytes: number[], option: string): string {
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw invalidOption(option, 'has "\\hh" escapes that are not UTF-8');
  }
}

/**
 * Reads one attribute value starting at `start`, up to an unescaped `,` or `+` or the end.
 * Accepts RFC 4514 escapes (`\,` and `\hh` UTF-8 bytes), a double-quoted value as .NET and
 * RFC 1779 write it (`O="Contoso, Inc."`), and spaces around separators, which are dropped
 * unless escaped.
 *
 * One pass over char codes: runs of plain characters are sliced whole and consecutive `\hh`
 * escapes decoded together (a UTF-8 character spans several), so a long value (a proxy's DN
 * header) costs no allocation per character.
 */
function readValue(text: string, start: number, option: string): { value: string; end: number } {
  if (text.charCodeAt(start) === 0x23) {
    // '#'
    let end = start + 1;
    for (
      let c = text.charCodeAt(end);
      end < text.length && c !== COMMA && c !== PLUS && c !== SPACE;
      c = text.charCodeAt(++end)
    );
    return { value: hexValue(text.slice(start + 1, end), option), end };
  }
  const quoted = text.charCodeAt(start) === QUOTE;
  let pos = quoted ? start + 1 : start;
  let value = '';
  /** Start of the current run of characters taken as they are. */
  let runStart = pos;
  /** Bytes of the current run of `\hh` escapes. */
  let escaped: number[] | null = null;
  for (;;) {
    if (pos >= text.length) {
      if (quoted) throw invalidOption(option, 'has a quoted value without its closing quote');
      break;
    }
    const c = text.charCodeAt(pos);
    if (quoted ? c === QUOTE : c === COMMA || c === PLUS) break;
    if (c === BACKSLASH) {
      value += text.slice(runStart, pos);
      const high = hexDigit(text.charCodeAt(pos + 1));
      const low = high < 0 ? -1 : hexDigit(text.charCodeAt(pos + 2));
      if (low >= 0) {
        (escaped ??= []).push(high * 16 + low);
        pos += 3;
      } else {
        const next = text[pos + 1];
        if (next === undefined || !RFC4514_ESCAPABLE.includes(next)) {
          throw invalidOption(
            option,
            'has an invalid "\\" escape (escape a space or one of "#+,;<=>\\, or give two hex digits)',
          );
        }
        if (escaped !== null) value += decodeEscapedBytes(escaped, option);
        escaped = null;
        value += next;
        pos += 2;
      }
      runStart = pos;
      continue;
    }
    if (!quoted && (c === QUOTE || c === 0x3b || c === 0x3c || c === 0x3e)) {
      // " ; < >
      throw invalidOption(option, `has an unescaped "${text[pos]}" in a value (write "\\${text[pos]}")`);
    }
    if (escaped !== null) {
      value += decodeEscapedBytes(escaped, option);
      escaped = null;
    }
    pos++;
  }
  if (escaped !== null) value += decodeEscapedBytes(escaped, option);
  // Unescaped spaces before the end or a separator are not part of the value (RFC 4514 §3).
  let runEnd = pos;
  if (!quoted) while (runEnd > runStart && text.charCodeAt(runEnd - 1) === SPACE) runEnd--;
  value += text.slice(runStart, runEnd);
  // A lone surrogate in configuration becomes U+FFFD, as UTF-8 encoding would make it.
  if (SURROGATE.test(value)) value = Buffer.from(value, 'utf8').toString('utf8');
  return { value, end: quoted ? pos + 1 : pos };
}

function skipSpaces(text: string, pos: number): number {
  while (text[pos] === ' ') pos++;
  return pos;
}

/**
 * Parses an RFC 4514 DN string into RDNs in DER order (the string lists the most specific first).
 * Also reads the DN headers of proxies (proxy-description.ts), with `extraTypes` (lower-case
 * name → OID) for the attribute names OpenSSL writes beyond ATTRIBUTE_TYPES.
 */
export function parseDnString(text: string, option: string, extraTypes?: ReadonlyMap<string, string>): DnAttribute[][] {
  if (text.trim() === '') throw invalidOption(option, 'must not be empty');
  const rdns: DnAttribute[][] = [];
  let rdn: DnAttribute[] = [];
  let pos = 0;
  for (;;) {
    pos = skipSpaces(text, pos);
    const equals = text.indexOf('=', pos);
    const type = text.slice(pos, equals < 0 ? text.length : equals).trim();
    if (equals < 0 || type === '' || type.includes(',') || type.includes('+')) {
      throw invalidOption(option, 'is not an RFC 4514 name such as "CN=alice,O=Contoso,C=US"');
    }
    const oid = attributeOid(type, option, extraTypes);
    const { value, end } = readValue(text, skipSpaces(text, equals + 1), option);
    rdn.push({ oid, value });
    pos = skipSpaces(text, end);
    if (pos >= text.length) break;
    if (text[pos] === ',') {
      rdns.push(rdn);
      rdn = [];
    } else if (text[pos] !== '+') throw invalidOption(option, 'has text after a quoted or "#" value');
    pos++;
  }
  rdns.push(rdn);
  return rdns.reverse();
}

function compileDnAttributes(value: Record<string, unknown>, option: string): CompiledDn {
  const keys = Object.keys(value);
  if (keys.length === 0) throw invalidOption(option, 'must name at least one attribute');
  const seen = new Set<string>();
  const attributes = keys.map((type) => {
    const oid = attributeOid(type, `${option}.${type}`);
    if (seen.has(oid))
      throw invalidOption(`${option}.${type}`, 'names an attribute that is already listed under another name');
    seen.add(oid);
    return { oid, values: new Set(stringList(value[type], `${option}.${type}`).map((entry) => entry.value)) };
  });
  return { exact: false, attributes };
}

function compileDnEntry(value: unknown, option: string): CompiledDn {
  if (typeof value === 'string') return { exact: true, rdns: parseDnString(value, option) };
  if (isPlainObject(value)) return compileDnAttributes(value, option);
  throw invalidOption(option, 'must be an RFC 4514 string, an object of attributes, or a list of those');
}

const COMMON_NAME = '2.5.4.3';

/** True when a compiled DN rule compares the CN and no other attribute. */
function onlyCommonName(rule: readonly CompiledDn[]): boolean {
  return rule.every((dn) =>
    dn.exact
      ? dn.rdns.every((rdn) => rdn.every((attribute) => attribute.oid === COMMON_NAME))
      : dn.attributes.every((attribute) => attribute.oid === COMMON_NAME),
  );
}

/** Compiles a `DnRule` into an any-of list. */
function compileDnRule(value: unknown, option: string): CompiledDn[] {
  if (!Array.isArray(value)) return [compileDnEntry(value, option)];
  if (value.length === 0) throw invalidOption(option, 'must list at least one name');
  return value.map((entry: unknown, index) => compileDnEntry(entry, `${option}[${index}]`));
}

/** One RDN equals another: same size, and a one-to-one pairing of equal attributes (a SET). */
export function rdnEquals(
  expected: readonly DnAttribute[],
  actual: readonly { oid: string; value: string }[],
): boolean {
  if (expected.length !== actual.length) return false;
  if (expected.length === 1) return expected[0]!.oid === actual[0]!.oid && expected[0]!.value === actual[0]!.value;
  const used = new Array<boolean>(actual.length).fill(false);
  return expected.every((want) => {
    const index = actual.findIndex((have, i) => !used[i] && have.oid === want.oid && have.value === want.value);
    if (index < 0) return false;
    used[index] = true;
    return true;
  });
}

function dnMatches(rule: CompiledDn, name: DistinguishedName): boolean {
  if (rule.exact) {
    const rdns = name.rdns;
    if (rdns.length !== rule.rdns.length) return false;
    for (let i = 0; i < rdns.length; i++) if (!rdnEquals(rule.rdns[i]!, rdns[i]!)) return false;
    return true;
  }
  for (const { oid, values } of rule.attributes) {
    let present = false;
    for (const attribute of name.attributes) {
      if (attribute.oid !== oid) continue;
      if (!values.has(attribute.value)) return false; // every occurrence must be allowed
      present = true;
    }
    if (!present) return false;
  }
  return true;
}

function dnRuleMatches(rules: readonly CompiledDn[], name: DistinguishedName): boolean {
  for (const rule of rules) if (dnMatches(rule, name)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Subject alternative names

/** `[a-z0-9_-]` labels of 1–63 characters, at most 253 in all (A-labels: certificates carry no Unicode). */
function checkDnsName(name: string, option: string): void {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) > 0x7e)
      throw invalidOption(option, 'must be ASCII: write internationalized names in their A-label ("xn--") form');
  }
  if (name.endsWith('.')) throw invalidOption(option, 'must be written without a trailing dot');
  const labels = name.split('.');
  const valid =
    name.length <= 253 &&
    labels.every(
      (label) =>
        label.length > 0 &&
        label.length <= 63 &&
        [...label].every((c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '-' || c === '_'),
    );
  if (!valid) throw invalidOption(option, 'is not a DNS name');
}

/**
 * Names matched exactly or by one wildcard label; sets, so matching is O(1) per SAN. Compared
 * in lower case (ASCII: SANs are IA5Strings, rules are checked to be ASCII). A SAN with a
 * trailing dot is outside the preferred name syntax RFC 5280 §4.2.1.6 requires: it matches
 * nothing rather than being read as the name without the dot.
 */
function compileDns(value: unknown, option: string): (names: readonly string[]) => boolean {
  const exact = new Set<string>();
  const wildcardParents = new Set<string>();
  for (const entry of stringList(value, option)) {
    const name = entry.value.toLowerCase();
    if (name.startsWith('*.')) {
      const parent = name.slice(2);
      if (parent.includes('*'))
        throw invalidOption(entry.option, 'may only use "*" as the whole left-most label, as in "*.example.com"');
      checkDnsName(parent, entry.option);
      if (!parent.includes('.')) throw invalidOption(entry.option, 'must not be a wildcard over a top-level domain');
      wildcardParents.add(parent);
    } else {
      if (name.includes('*'))
        throw invalidOption(entry.option, 'may only use "*" as the whole left-most label, as in "*.example.com"');
      checkDnsName(name, entry.option);
      exact.add(name);
    }
  }
  return (names) => {
    for (const san of names) {
      const name = san.toLowerCase();
      if (exact.has(name)) return true;
      // `*.example.com` stands for exactly one non-empty label that is not itself a wildcard.
      const dot = name.indexOf('.');
      if (dot > 0 && !name.slice(0, dot).includes('*') && wildcardParents.has(name.slice(dot + 1))) return true;
    }
    return false;
  };
}

// URIs (RFC 5280 §7.4, RFC 3986 §6.2.2.1): the scheme and the host compare case-insensitively,
// everything else exactly. Nothing else is normalised: percent-encoding is compared as written
// (`%7E` is not `~`, `%2f` is not `%2F`), and neither dot segments nor default ports are
// resolved. Each of those would make more certificates match a rule, never fewer, so a URI
// written differently from the rule fails closed. Certificate URIs are IA5Strings and rules
// printable ASCII, so lower-casing is ASCII-only.

/** Index of the `:` ending an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), or -1. */
function schemeEnd(uri: string): number {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 0x3a) return i > 0 ? i : -1;
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alpha && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) return -1;
  }
  return -1;
}

interface UriParts {
  /** Index of the scheme's `:`. */
  readonly colon: number;
  /** The host, [hostStart, hostEnd); both -1 without an authority (`urn:`, `mailto:`). */
  readonly hostStart: number;
  readonly hostEnd: number;
  /** Where the path starts (after the authority, if any). */
  readonly pathStart: number;
}

function isAuthorityEnd(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x23; // / ? #
}

/** Scheme and host positions of a URI with a scheme; undefined when it has none. */
function uriParts(uri: string): UriParts | undefined {
  const colon = schemeEnd(uri);
  if (colon < 0) return undefined;
  if (uri.charCodeAt(colon + 1) !== 0x2f || uri.charCodeAt(colon + 2) !== 0x2f) {
    return { colon, hostStart: -1, hostEnd: -1, pathStart: colon + 1 };
  }
  const authorityStart = colon + 3;
  let authorityEnd = authorityStart;
  while (authorityEnd < uri.length && !isAuthorityEnd(uri.charCodeAt(authorityEnd))) authorityEnd++;
  // userinfo ends at the last "@" of the authority; the port starts at a ":" after the host
  // (an IP literal "[...]" has colons of its own).
  const at = uri.lastIndexOf('@', authorityEnd - 1);
  const hostStart = at >= authorityStart ? at + 1 : authorityStart;
  let hostEnd = hostStart;
  if (uri.charCodeAt(hostStart) === 0x5b) {
    const close = uri.indexOf(']', hostStart);
    hostEnd = close >= 0 && close < authorityEnd ? close + 1 : authorityEnd;
  } else {
    while (hostEnd < authorityEnd && uri.charCodeAt(hostEnd) !== 0x3a) hostEnd++;
  }
  return { colon, hostStart, hostEnd, pathStart: authorityEnd };
}

function hasUpperCase(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/**
 * `uri` with its scheme and host in lower case and the rest as it is. Returns `uri` itself when
 * nothing changes (the usual case: no allocation per comparison).
 */
function normalizeUri(uri: string, parts: UriParts): string {
  const { colon, hostStart, hostEnd } = parts;
  const upperHost = hostStart >= 0 && hasUpperCase(uri, hostStart, hostEnd);
  if (!upperHost && !hasUpperCase(uri, 0, colon)) return uri;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (!upperHost) return scheme + uri.slice(colon);
  return scheme + uri.slice(colon, hostStart) + uri.slice(hostStart, hostEnd).toLowerCase() + uri.slice(hostEnd);
}

/** RFC 3986 §2: unreserved, reserved and "%" — nothing a parser might read as something else. */
function isUriChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x40 && c <= 0x5b) ||
    (c >= 0x23 && c <= 0x3b) ||
    c === 0x21 ||
    c === 0x3d ||
    c === 0x3f ||
    c === 0x5d ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** A `.` or `..` path segment, plain or percent-encoded (`%2e`), which RFC 3986 §5.2.4 would remove. */
function isDotSegment(uri: string, from: number, to: number): boolean {
  let dots = 0;
  for (let i = from; i < to; dots++) {
    if (uri.charCodeAt(i) === 0x2e) i++;
    else if (uri.charCodeAt(i) === 0x25 && uri.charCodeAt(i + 1) === 0x32 && (uri.charCodeAt(i + 2) | 0x20) === 0x65)
      i += 3;
    else return false;
  }
  return dots === 1 || dots === 2;
}

/**
 * True when a certificate URI may be matched by a prefix: only URI characters (so no `\\`,
 * which WHATWG parsers read as `/`), and no dot segment in the path. Otherwise
 * `https://contoso.com/users/../admins/bob` would pass `https://contoso.com/users/*` although it
 * names `/admins/bob`.
 */
function prefixMatchable(uri: string, pathStart: number): boolean {
  let segmentStart = pathStart;
  let inPath = true;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (!isUriChar(c)) return false;
    if (!inPath || i < pathStart) continue;
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      if (isDotSegment(uri, segmentStart, i)) return false;
      segmentStart = i + 1;
      if (c !== 0x2f) inPath = false; // query or fragment: no more segments
    }
  }
  return !inPath || !isDotSegment(uri, segmentStart, uri.length);
}

/**
 * Exact URIs, or prefixes written with a trailing `*`, compared with the scheme and host
 * case-insensitive (see above). Rules are normalised once here; certificate URIs per comparison.
 */
function compileUri(value: unknown, option: string): (uris: readonly string[]) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of stringList(value, option)) {
    const uri = entry.value;
    const parts = uriParts(uri);
    if (parts === undefined || ![...uri].every((c) => c > ' ' && c <= '~')) {
      throw invalidOption(
        entry.option,
        'must be a URI with a scheme (such as "https:" or "spiffe:"), in printable ASCII without spaces',
      );
    }
    if (parts.hostStart >= 0 && uri.slice(parts.hostStart, parts.hostEnd).includes('%')) {
      throw invalidOption(entry.option, 'must write the host without percent-encoding');
    }
    const star = uri.indexOf('*');
    if (star >= 0 && star !== uri.length - 1)
      throw invalidOption(entry.option, 'may only use "*" at the end, as a prefix');
    const normalized = normalizeUri(uri, parts);
    if (star < 0) {
      exact.add(normalized);
      continue;
    }
    const prefix = normalized.slice(0, -1);
    // `spiffe://contoso*` would also match `spiffe://contoso.evil/…`: a prefix must close the authority.
    if (parts.hostStart >= 0 && parts.pathStart >= prefix.length) {
      throw invalidOption(
        entry.option,
        'must include the "/" after the host before "*", so that the prefix cannot match other hosts',
      );
    }
    if (!prefixMatchable(prefix, parts.pathStart)) {
      throw invalidOption(entry.option, 'must not contain "." or ".." path segments or characters outside RFC 3986');
    }
    prefixes.push(prefix);
  }
  return (uris) => {
    for (const uri of uris) {
      const parts = uriParts(uri);
      if (parts === undefined) continue;
      const normalized = normalizeUri(uri, parts);
      if (exact.has(normalized)) return true;
      if (prefixes.length === 0) continue;
      let matchable: boolean | undefined;
      for (const prefix of prefixes) {
        if (!normalized.startsWith(prefix)) continue;
        matchable ??= prefixMatchable(normalized, parts.pathStart);
        if (matchable) return true;
      }
    }
    return false;
  };
}

/**
 * Splits at the last `@`, lower-casing the domain: RFC 5280 §4.2.1.6 (after RFC 5321) makes only
 * the domain case-insensitive; the local part is compared exactly.
 */
function splitEmail(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) return undefined;
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

function compileEmail(value: unknown, option: string): (addresses: readonly string[]) => boolean {
  const exact = new Set<string>();
  const domains = new Set<string>();
  for (const entry of stringList(value, option)) {
    const parts = splitEmail(entry.value);
    if (parts === undefined || ![...entry.value].every((c) => c > ' ' && c <= '~')) {
      throw invalidOption(entry.option, 'must be an email address, or "@domain" for any mailbox at that domain');
    }
    checkDnsName(parts.domain, entry.option);
    if (parts.local === '') domains.add(parts.domain);
    else exact.add(`${parts.local}@${parts.domain}`);
  }
  return (addresses) => {
    for (const address of addresses) {
      const parts = splitEmail(address);
      if (parts !== undefined && (domains.has(parts.domain) || exact.has(`${parts.local}@${parts.domain}`)))
        return true;
    }
    return false;
  };
}

/**
 * Addresses and CIDR blocks, IPv4 and IPv6, in a `node:net` BlockList, which compares addresses,
 * not text: any IPv6 spelling (upper case, leading zeros, `::`, an embedded dotted quad) is the
 * same address. BlockList treats an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, RFC 4291
 * §2.5.5.2: the IPv4 node itself) as the IPv4 address, in both directions; the deprecated
 * IPv4-compatible form (`::10.0.0.1`) is an IPv6 address of its own. Host bits of a CIDR are ignored.
 */
function compileIp(value: unknown, option: string): (addresses: readonly string[]) => boolean {
  const list = new BlockList();
  for (const entry of stringList(value, option)) {
    const [address = '', prefix, extra] = entry.value.trim().split('/');
    const family = address.includes('%') ? 0 : isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined) {
      // 010.1.2.3: inet_aton reads the octet as octal, others as decimal; it is refused, not guessed.
      const zeros =
        /(?:^|\.)0\d/.test(address) && /^[\d.]+$/.test(address) ? ' (write IPv4 octets without leading zeros)' : '';
      throw invalidOption(entry.option, `must be an IP address or a CIDR block such as "10.0.0.0/8"${zeros}`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const length = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(length >= 0 && length <= bits))
      throw invalidOption(entry.option, `must have a prefix length from 0 to ${bits}`);
    list.addSubnet(address, length, type);
  }
  return (addresses) => {
    for (const address of addresses) if (list.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) return true;
    return false;
  };
}

const SAN_KINDS = ['dns', 'uri', 'email', 'ip'] as const;
type SanKind = (typeof SAN_KINDS)[number];

const SAN_COMPILERS: Record<SanKind, (value: unknown, option: string) => (values: readonly string[]) => boolean> = {
  dns: compileDns,
  uri: compileUri,
  email: compileEmail,
  ip: compileIp,
};

/** One matcher per configured kind, in a fixed order. */
function compileSan(
  value: unknown,
  option: string,
): { kind: SanKind; matches: (values: readonly string[]) => boolean }[] {
  if (!isPlainObject(value)) throw invalidOption(option, 'must be an object with dns, uri, email or ip');
  checkKeys(value, SAN_KINDS, option);
  const kinds = SAN_KINDS.filter((kind) => value[kind] !== undefined);
  if (kinds.length === 0) throw invalidOption(option, 'must give at least one of dns, uri, email, ip');
  return kinds.map((kind) => ({ kind, matches: SAN_COMPILERS[kind](value[kind], `${option}.${kind}`) }));
}

// ---------------------------------------------------------------------------------------------
// SPIFFE

const SPIFFE_SCHEME = 'spiffe://';
/** SPIFFE ID spec: the whole URI at most 2048 bytes, the trust domain at most 255 characters. */
const MAX_SPIFFE_ID = 2048;
const MAX_TRUST_DOMAIN = 255;

function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

function isPathChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a);
}

function isTrustDomain(text: string): boolean {
  if (text.length === 0 || text.length > MAX_TRUST_DOMAIN) return false;
  for (let i = 0; i < text.length; i++) if (!isTrustDomainChar(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Splits a SPIFFE ID per the SPIFFE ID spec: lower-case `spiffe` scheme; a trust domain of
 * `[a-z0-9._-]` (so no upper case, port, userinfo or percent-encoding); a path of `/`-separated
 * segments of `[A-Za-z0-9._-]`, none empty, `.` or `..` (so no trailing slash, query or fragment).
 * Returns undefined when invalid. The path may be empty (the trust domain's own ID).
 */
function parseSpiffeId(id: string): { trustDomain: string; path: string } | undefined {
  if (id.length > MAX_SPIFFE_ID || !id.startsWith(SPIFFE_SCHEME)) return undefined;
  const slash = id.indexOf('/', SPIFFE_SCHEME.length);
  const trustDomain = id.slice(SPIFFE_SCHEME.length, slash < 0 ? id.length : slash);
  if (!isTrustDomain(trustDomain)) return undefined;
  const path = slash < 0 ? '' : id.slice(slash);
  let segmentStart = 1;
  for (let i = 1; i <= path.length; i++) {
    if (i < path.length && path[i] !== '/') {
      if (!isPathChar(path.charCodeAt(i))) return undefined;
      continue;
    }
    const segment = path.slice(segmentStart, i);
    if (segment === '' || segment === '.' || segment === '..') return undefined;
    segmentStart = i + 1;
  }
  return { trustDomain, path };
}

/** The configured workload ID: valid, with a path (a leaf SVID never has the bare trust domain ID). */
function workloadId(value: unknown, option: string): string {
  const parsed = typeof value === 'string' ? parseSpiffeId(value) : undefined;
  if (parsed === undefined || parsed.path === '') {
    throw invalidOption(
      option,
      'must be a SPIFFE ID such as "spiffe://example.org/workload" (lower-case trust domain, non-empty path segments)',
    );
  }
  return value as string;
}

const KEY_USAGE_ABSENT = -1;
const KEY_USAGE_MALFORMED = -2;
/** First octet of the keyUsage bits: digitalSignature (bit 0), keyCertSign (bit 5), cRLSign (bit 6). */
const DIGITAL_SIGNATURE = 0x80;
const KEY_CERT_SIGN = 0x04;
const CRL_SIGN = 0x02;
const keyUsageCache = new WeakMap<X509Certificate, number>();

/**
 * The first octet of the keyUsage extension's bits, or KEY_USAGE_ABSENT / KEY_USAGE_MALFORMED.
 * node:crypto does not expose keyUsage, so the extensions are walked with the DER reader.
 */
function keyUsageOctet(cert: ClientCertificate): number {
  let octet = keyUsageCache.get(cert.x509);
  if (octet === undefined) {
    try {
      octet = readKeyUsage(cert.raw);
    } catch {
      octet = KEY_USAGE_MALFORMED;
    }
    keyUsageCache.set(cert.x509, octet);
  }
  return octet;
}

function readKeyUsage(der: Buffer): number {
  const certificate = DerCursor.inside(der, readTlv(der, 0, der.length));
  const tbs = DerCursor.inside(der, certificate.expect(Tag.SEQUENCE, 'tbsCertificate'));
  tbs.optional(0xa0, 'version');
  tbs.expect(Tag.INTEGER, 'serialNumber');
  for (const field of ['signature', 'issuer', 'validity', 'subject', 'subjectPublicKeyInfo'])
    tbs.expect(Tag.SEQUENCE, field);
  tbs.optional(0x81, 'issuerUniqueID');
  tbs.optional(0x82, 'subjectUniqueID');
  const explicit = tbs.optional(0xa3, 'extensions');
  if (explicit === undefined) return KEY_USAGE_ABSENT;
  const list = DerCursor.inside(der, DerCursor.inside(der, explicit).expect(Tag.SEQUENCE, 'extensions'));
  while (!list.done) {
    const extension = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'extension'));
    const id = extension.expect(Tag.OID, 'extension id');
    extension.optional(Tag.BOOLEAN, 'critical');
    const value = extension.expect(Tag.OCTET_STRING, 'extension value');
    // 2.5.29.15 is encoded 55 1d 0f.
    if (
      id.end - id.valueStart !== 3 ||
      der[id.valueStart] !== 0x55 ||
      der[id.valueStart + 1] !== 0x1d ||
      der[id.valueStart + 2] !== 0x0f
    )
      continue;
    const bits = readTlv(der, value.valueStart, value.end);
    if (bits.tag !== Tag.BIT_STRING || bits.end !== value.end || bits.end === bits.valueStart)
      return KEY_USAGE_MALFORMED;
    return bits.end - bits.valueStart >= 2 ? der[bits.valueStart + 1]! : 0;
  }
  return KEY_USAGE_ABSENT;
}

/**
 * X509-SVID leaf validation (SPIFFE X509-SVID §3.1, §4.3, §5.2, as go-spiffe applies it): exactly
 * one URI SAN holding a valid SPIFFE ID with a path; not a CA; keyUsage present with
 * digitalSignature and without keyCertSign or cRLSign. Then the ID must be allowed.
 */
function compileSpiffe(value: unknown, option: string): Check {
  if (!isPlainObject(value)) throw invalidOption(option, 'must be { id }, { ids } or { trustDomain }');
  checkKeys(value, ['id', 'ids', 'trustDomain'], option);
  const given = ['id', 'ids', 'trustDomain'].filter((key) => value[key] !== undefined);
  if (given.length !== 1) throw invalidOption(option, 'must give exactly one of id, ids, trustDomain');
  let allowed: (id: string, trustDomain: string) => boolean;
  if (value.trustDomain !== undefined) {
    const text = typeof value.trustDomain === 'string' ? value.trustDomain : '';
    const domain = text.startsWith(SPIFFE_SCHEME) ? text.slice(SPIFFE_SCHEME.length) : text;
    if (!isTrustDomain(domain))
      throw invalidOption(
        `${option}.trustDomain`,
        'must be a trust domain name of lower-case letters, digits, ".", "-" and "_"',
      );
    allowed = (_id, trustDomain) => trustDomain === domain;
  } else {
    const ids = new Set(
      value.id !== undefined
        ? [workloadId(value.id, `${option}.id`)]
        : stringList(value.ids, `${option}.ids`).map((entry) => workloadId(entry.value, entry.option)),
    );
    allowed = (id) => ids.has(id);
  }
  return (cert) => {
    const uris = cert.san.uri;
    if (uris.length !== 1) return SVID_FAILURES.uriCount;
    const id = uris[0]!;
    const parsed = parseSpiffeId(id);
    if (parsed === undefined || parsed.path === '') return SVID_FAILURES.malformed;
    if (cert.isCA) return SVID_FAILURES.ca;
    const usage = keyUsageOctet(cert);
    if (usage < 0 || (usage & DIGITAL_SIGNATURE) === 0 || (usage & (KEY_CERT_SIGN | CRL_SIGN)) !== 0)
      return SVID_FAILURES.keyUsage;
    return allowed(id, parsed.trustDomain) ? null : SVID_FAILURES.notAllowed;
  };
}

// ---------------------------------------------------------------------------------------------
// Identities

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
  return (cert) => digestMatches(digest, cert.x509);
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
  value: unknown,
  option: string,
  index: number,
  sha1Thumbprints: string[],
): { name: string; identity: CompiledIdentity } {
  if (!isPlainObject(value)) throw invalidOption(option, 'must be an object of claims');
  checkKeys(value, IDENTITY_CLAIMS, option);
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
    claims.push((cert) => digestMatches(digest, cert.x509));
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

function compileIdentities(value: unknown, option: string, sha1Thumbprints: string[]): CompiledIdentity[] {
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

function firstIdentity(
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

// ---------------------------------------------------------------------------------------------
// Predicate

const MAX_REASON = 200;

/** A reason is used as the problem detail only when it looks like fixed text: short printable ASCII. */
function isSafeReason(reason: unknown): reason is string {
  return typeof reason === 'string' && reason.length > 0 && reason.length <= MAX_REASON && isPrintableAscii(reason);
}

function predicateFailure(message: string, cause: unknown): Failure {
  return { ok: false, failed: 'predicate', message, cause };
}

/** Only an explicit yes passes: a predicate that forgets to return must not let everyone in. */
function verdictResult(verdict: unknown, matched: RuleResult): RuleResult {
  if (verdict === true) return matched;
  if (verdict === false) return FAILURES.predicate;
  if (isPlainObject(verdict) && verdict.ok === true) return matched;
  if (isPlainObject(verdict) && verdict.ok === false) {
    return verdict.reason === undefined
      ? FAILURES.predicate
      : {
          ok: false,
          failed: 'predicate',
          message: isSafeReason(verdict.reason) ? verdict.reason : FAILURES.predicate.message,
        };
  }
  return predicateFailure(
    FAILURES.predicate.message,
    new TypeError('clientcert: rules.predicate must return true, false, { ok: true } or { ok: false, reason }'),
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Synchronous unless the predicate returned a thenable; a throw or rejection is a failure with `cause`. */
function runPredicate(
  predicate: RulePredicate,
  cert: ClientCertificate,
  context: RuleContext,
  matched: RuleResult,
): RuleResult | Promise<RuleResult> {
  let verdict: unknown;
  try {
    verdict = predicate(cert, context);
  } catch (error) {
    return predicateFailure(PREDICATE_ERROR_MESSAGE, error);
  }
  if (!isThenable(verdict)) return verdictResult(verdict, matched);
  return Promise.resolve(verdict).then(
    (value) => verdictResult(value, matched),
    (error: unknown) => predicateFailure(PREDICATE_ERROR_MESSAGE, error),
  );
}

// ---------------------------------------------------------------------------------------------
// Compile and evaluate

const RULE_KEYS = ['subject', 'issuer', 'san', 'spiffe', 'identities', 'predicate'] as const;

/**
 * Validates the `rules` option once and returns the compiled rules. Every problem throws
 * `invalid_option` naming the exact option, e.g. `rules.san.dns[1]` or `rules.identities[0].thumbprint`.
 */
export function compileRules(input: RulesOption, option = 'rules'): CompiledRules {
  const value: unknown = input;
  if (!isPlainObject(value)) throw invalidOption(option, 'must be an object');
  checkKeys(value, RULE_KEYS, option);
  const checks: Check[] = [];
  let subjectOnlyCommonName: boolean | null = null; // null: no subject rule
  if (value.subject !== undefined) {
    const subject = compileDnRule(value.subject, `${option}.subject`);
    subjectOnlyCommonName = onlyCommonName(subject);
    checks.push((cert) => (dnRuleMatches(subject, cert.subject) ? null : FAILURES.subject));
  }
  if (value.issuer !== undefined) {
    const issuer = compileDnRule(value.issuer, `${option}.issuer`);
    checks.push((cert) => (dnRuleMatches(issuer, cert.issuer) ? null : FAILURES.issuer));
  }
  if (value.san !== undefined) {
    for (const { kind, matches } of compileSan(value.san, `${option}.san`)) {
      const failed = FAILURES[`san.${kind}`];
      checks.push((cert) => (matches(cert.san[kind]) ? null : failed));
    }
  }
  if (value.spiffe !== undefined) checks.push(compileSpiffe(value.spiffe, `${option}.spiffe`));
  const sha1Thumbprints: string[] = [];
  const identities =
    value.identities === undefined
      ? null
      : compileIdentities(value.identities, `${option}.identities`, sha1Thumbprints);
  if (value.predicate !== undefined && typeof value.predicate !== 'function') {
    throw invalidOption(
      `${option}.predicate`,
      'must be a function (cert, context) => boolean | { ok, reason } or a Promise of one',
    );
  }
  const identityList = value.identities as readonly Identity[] | undefined;
  return Object.freeze({
    usesChain: identityList?.some((identity) => identity.issuerThumbprint !== undefined) ?? false,
    hasPredicate: value.predicate !== undefined,
    checks,
    identities,
    predicate: (value.predicate as RulePredicate | undefined) ?? null,
    onlyCommonName:
      value.predicate === undefined &&
      value.issuer === undefined &&
      value.san === undefined &&
      value.spiffe === undefined &&
      subjectOnlyCommonName !== false &&
      (identities === null ? subjectOnlyCommonName === true : identities.some((identity) => identity.onlyCommonName)),
    sha1Thumbprints,
  });
}

/**
 * Evaluates compiled rules against a verified certificate. `context.chain` is the verified path,
 * leaf first (needed by `issuerThumbprint`; `{ chain: [] }` otherwise). Returns synchronously
 * unless a predicate returns a Promise; never rejects. Throws only for a `context.chain` that
 * does not start with the leaf.
 */
export function evaluateRules(
  rules: CompiledRules,
  cert: ClientCertificate,
  context: RuleContext,
): RuleResult | Promise<RuleResult> {
  for (const check of rules.checks) {
    const failed = check(cert);
    if (failed !== null) return failed;
  }
  let matched = MATCHED_NOTHING;
  if (rules.identities !== null) {
    const identity = firstIdentity(rules.identities, cert, context);
    if (identity === null) return FAILURES.identities;
    matched = identity.result;
  }
  return rules.predicate === null ? matched : runPredicate(rules.predicate, cert, context, matched);
}
