/**
 * The proxy's description of a forwarded certificate, compared with the certificate itself.
 *
 * Some proxies send more than the certificate: its subject and issuer DN, serial, fingerprints
 * (`describedBy` in headers/types.ts). Where the proxy overwrites those headers but not the
 * certificate header — ingress-nginx without `auth-tls-pass-certificate-to-upstream` passes a
 * client-sent `ssl-client-cert` through while writing `ssl-client-subject-dn` from the client's
 * real certificate — a forged certificate header disagrees with the description, and is refused.
 *
 * Decisions:
 * - DNs are compared as parsed names, never as strings (x509/dn-string.ts's RFC 4514 parser): the same RDNs
 *   in the same order, each RDN the same set of attributes (order inside a multi-valued RDN is
 *   free), attribute types by OID (short name, OpenSSL's names, or dotted OID), values exact after
 *   unescaping (`\XX` bytes as UTF-8; a `#hex` value of a string type as its text).
 * - OpenSSL's RFC 2253 output (nginx `$ssl_client_s_dn`, HAProxy `rfc2253`, Envoy) is read as it
 *   is written: `\XX` for non-ASCII and control bytes, `\,`-style escapes, `+` between the
 *   attributes of one RDN, `#hex` DER for types OpenSSL does not know, OpenSSL's short names.
 * - A value that cannot be read (not a DN, not hex) is a mismatch: fail closed, with its own message.
 * - Work is bounded by the certificate, not by the header: a DN longer than any rendering of the
 *   certificate's names could be (DN_CHARS_PER_DER_BYTE) differs without being parsed.
 * - Messages are fixed text naming the field, never header content (the caller may show them).
 */

import { hexValue } from '../encoding/percent.js';
import type { ClientCertificate, DistinguishedName, NameAttribute } from '../model.js';
import { NAME_ALIASES, OPENSSL_NAMES } from '../x509/attributes.js';
import { isDottedOid } from '../x509/der.js';
import { type DnAttribute, hexAttributeValue, parseDnString, rdnEquals } from '../x509/dn-string.js';
import type { DescriptionField, ForwardedDescription } from './headers.js';

const LABELS: Readonly<Record<DescriptionField, string>> = {
  subjectDn: 'subject DN',
  issuerDn: 'issuer DN',
  serial: 'serial number',
  sha256: 'SHA-256 fingerprint',
  sha1: 'SHA-1 fingerprint',
};

const UNREADABLE: Readonly<Record<DescriptionField, string>> = {
  subjectDn: 'is not an RFC 4514 (RFC 2253) name',
  issuerDn: 'is not an RFC 4514 (RFC 2253) name',
  serial: 'is not a hexadecimal number',
  sha256: 'is not 64 hexadecimal digits',
  sha1: 'is not 40 hexadecimal digits',
};

/** The fixed message for a field that disagrees with the certificate (exported for tests and docs). */
export function descriptionDiffersMessage(field: DescriptionField): string {
  return `The proxy's ${LABELS[field]} does not match the forwarded certificate.`;
}

/** The fixed message for a field whose value cannot be read, and so cannot agree. */
export function descriptionUnreadableMessage(field: DescriptionField): string {
  return `The proxy's ${LABELS[field]} ${UNREADABLE[field]}, so it cannot vouch for the forwarded certificate.`;
}

// Cheapest and most decisive first: a fingerprint names one certificate.
const ORDER: readonly DescriptionField[] = ['sha256', 'sha1', 'serial', 'issuerDn', 'subjectDn'];

/**
 * Null when every field of the proxy's description agrees with the certificate, else a fixed
 * message naming the first field that does not (or that cannot be read). An empty description
 * agrees. Refuse the request with `client_certificate_untrusted` (check `proxy.description`,
 * PROXY_DESCRIPTION_CHECK) on a message.
 */
export function descriptionMismatch(certificate: ClientCertificate, description: ForwardedDescription): string | null {
  for (const field of ORDER) {
    const value = description[field];
    if (value === undefined) continue;
    const agrees = fieldAgrees(field, value, certificate);
    if (agrees === undefined) return descriptionUnreadableMessage(field);
    if (!agrees) return descriptionDiffersMessage(field);
  }
  return null;
}

/** True / false, or undefined when the value cannot be read. */
function fieldAgrees(field: DescriptionField, value: string, certificate: ClientCertificate): boolean | undefined {
  if (typeof value !== 'string') return undefined;
  switch (field) {
    case 'subjectDn':
      return fitsCertificate(value, certificate) && dnAgrees(value, certificate.subject);
    case 'issuerDn':
      return fitsCertificate(value, certificate) && dnAgrees(value, certificate.issuer);
    case 'serial': {
      const hex = hexDigits(value);
      return hex === undefined
        ? undefined
        : withoutLeadingZeros(hex) === withoutLeadingZeros(certificate.serialNumber.toLowerCase());
    }
    case 'sha256':
    case 'sha1': {
      const hex = hexDigits(value);
      if (hex === undefined || hex.length !== (field === 'sha256' ? 64 : 40)) return undefined;
      return hex === certificate.fingerprints[field].toLowerCase();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Hex (serials, fingerprints)

function isHexDigit(c: number): boolean {
  return hexValue(c) >= 0;
}

/** Lower-case hex digits of `text`, `:` separators dropped (CloudFront, OpenSSL's `-fingerprint`); undefined if anything else. */
function hexDigits(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) continue;
    if (!isHexDigit(c)) return undefined;
    out += text[i]!;
  }
  return out === '' ? undefined : out.toLowerCase();
}

function withoutLeadingZeros(hex: string): string {
  let i = 0;
  while (i < hex.length - 1 && hex.charCodeAt(i) === 0x30) i++;
  return hex.slice(i);
}

// ---------------------------------------------------------------------------------------------
// Distinguished names

/**
 * An attribute takes at least 8 DER bytes besides its value's (SET and SEQUENCE headers, OID) and
 * renders in at most 3 characters per value byte (`\XX`), or 2 per DER byte as `#hex`, plus its
 * type's name (OpenSSL's longest are ~30 characters) and a separator: under 6 characters per DER
 * byte. The certificate holds both names, so 8 per byte of the whole certificate (plus room
 * for HAProxy's quotes and spaces after commas) is more than any rendering of either name needs.
 */
const DN_CHARS_PER_DER_BYTE = 8;

/** False for a DN longer than any rendering of this certificate's names: it differs, unparsed. */
function fitsCertificate(text: string, certificate: ClientCertificate): boolean {
  return text.length <= DN_CHARS_PER_DER_BYTE * certificate.raw.length + 256;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The header's text as Unicode. Node hands header bytes over as Latin-1 characters: a proxy that
 * writes UTF-8 instead of `\XX` escapes arrives as characters 0x80–0xFF, which are decoded as
 * UTF-8 here. Text that is not UTF-8 that way (or has characters above 0xFF) was decoded already,
 * by a framework or a caller, and is taken as it is.
 */
function headerText(value: string): string {
  let high = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value;
    if (c >= 0x80) high = true;
  }
  if (!high) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/**
 * The DN string's RDNs in DER order, or undefined when it is not an RFC 4514 name. `wholeHeader`:
 * the value was a whole header value, whose trailing whitespace HTTP removed.
 */
function parseHeaderDn(value: string, wholeHeader: boolean): DnAttribute[][] | undefined {
  let text = headerText(value);
  // HAProxy's `%{+Q}` wraps the value in double quotes; an RFC 4514 name never starts with one.
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  if (text === '') return []; // the empty name (see DescriptionHeaders.required)
  // HTTP drops a header value's trailing whitespace (Node does): a name whose last value ends in a
  // space, written `\ `, arrives with a dangling `\`, which nothing else can produce.
  if (wholeHeader && endsInLoneBackslash(text)) text += ' ';
  try {
    return parseDnString(text, 'describedBy', OPENSSL_NAMES);
  } catch {
    return undefined; // the parser's option error here only means "not a name"
  }
}

function endsInLoneBackslash(text: string): boolean {
  let count = 0;
  while (count < text.length && text.charCodeAt(text.length - 1 - count) === 0x5c) count++;
  return count % 2 === 1;
}

/** True / false, or undefined when `text` is not a name. */
function dnAgrees(text: string, name: DistinguishedName, wholeHeader = true): boolean | undefined {
  const rdns = parseHeaderDn(text, wholeHeader);
  return rdns === undefined ? undefined : sameName(rdns, name);
}

function sameName(rdns: readonly (readonly DnAttribute[])[], name: DistinguishedName): boolean {
  if (rdns.length !== name.rdns.length) return false;
  for (let i = 0; i < rdns.length; i++) if (!rdnEquals(rdns[i]!, name.rdns[i]!)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Envoy's XFCC Subject

/**
 * True when an XFCC element's `Subject` (as `parseXfcc` returns it) is the certificate's subject.
 * Envoy writes `Subject="<RFC 2253 subject>"` of the same certificate as `Cert`; an empty subject
 * is `Subject=""`.
 *
 * Envoy does not escape the DN inside the quotes, and XFCC unquoting (Envoy's parser and
 * parseXfcc alike) turns the DN's `\\` into `\` and `\"` into `"`: such a subject no longer
 * parses as the certificate's name, and `\,` may then be an escaped comma or a value ending in a
 * backslash followed by the next RDN. So when the text does not parse as the name, it is matched
 * against the name as OpenSSL/BoringSSL write it (`XN_FLAG_RFC2253`) with that unquoting applied.
 * The lost escapes cannot be recovered: two names that differ only in that way (a CN `a\` before
 * `O=b`, and a CN `a,O=b`) give the same Subject, and either certificate matches it. Envoy's
 * old one-line form (`/C=US/CN=..`) never matches.
 */
export function xfccSubjectMatches(subject: string, certificate: ClientCertificate): boolean {
  return xfccNameMatches(subject, certificate, certificate.subject);
}

/** The same for the `Issuer` key of Envoy builds that write it (2026+): the certificate's issuer. */
export function xfccIssuerMatches(issuer: string, certificate: ClientCertificate): boolean {
  return xfccNameMatches(issuer, certificate, certificate.issuer);
}

function xfccNameMatches(text: string, certificate: ClientCertificate, name: DistinguishedName): boolean {
  if (typeof text !== 'string' || !fitsCertificate(text, certificate)) return false;
  // Inside XFCC's quotes nothing was trimmed: a final `\` is the DN's `\\`, unquoted.
  if (dnAgrees(text, name, false) === true) return true;
  return matchesUnquotedRendering(text, name);
}

const COMMA = 0x2c;
const PLUS = 0x2b;
const HASH = 0x23;
const MAX_TYPE_LENGTH = 128;
/** Multi-valued RDNs up to this size are matched in any order; larger ones in OpenSSL's (reverse DER) order. */
const MAX_PERMUTED_RDN = 4;

/** `text` is the whole name, most specific RDN first, as OpenSSL writes it and XFCC unquoting leaves it. */
function matchesUnquotedRendering(text: string, name: DistinguishedName): boolean {
  let pos = 0;
  for (let i = name.rdns.length - 1; i >= 0; i--) {
    const end = matchRdn(text, pos, name.rdns[i]!);
    if (end < 0) return false;
    pos = end;
    if (i > 0) {
      if (text.charCodeAt(pos) !== COMMA) return false;
      pos++;
    }
  }
  return pos === text.length;
}

/**
 * The position after the RDN's attributes (joined by `+`) at `pos`, or -1. Every order ends at the
 * same position (the same attributes, each rendered one way), so the first order that fits decides.
 */
function matchRdn(text: string, pos: number, attributes: readonly NameAttribute[]): number {
  if (attributes.length === 0) return -1;
  for (let k = attributes.length - 1; k >= 0; k--) {
    if (attributes.length > MAX_PERMUTED_RDN && k !== attributes.length - 1) break;
    const end = matchAttribute(text, pos, attributes[k]!);
    if (end < 0) continue;
    if (attributes.length === 1) return end;
    if (text.charCodeAt(end) !== PLUS) continue;
    const done = matchRdn(
      text,
      end + 1,
      attributes.filter((_, i) => i !== k),
    );
    if (done >= 0) return done;
  }
  return -1;
}

/** `TYPE=value` of this attribute at `pos`: the position after it, or -1. */
function matchAttribute(text: string, pos: number, attribute: NameAttribute): number {
  const equals = text.indexOf('=', pos);
  if (equals < 0 || equals - pos > MAX_TYPE_LENGTH || typeOid(text.slice(pos, equals)) !== attribute.oid) return -1;
  const start = equals + 1;
  if (text.charCodeAt(start) === HASH) {
    // A DER dump (unknown type or non-string value); a string's own leading `#` is written `\#`.
    let end = start + 1;
    while (end < text.length && isHexDigit(text.charCodeAt(end))) end++;
    return hexAttributeValue(text.slice(start + 1, end)) === attribute.value ? end : -1;
  }
  const expected = unquotedRendering(attribute.value);
  return text.startsWith(expected, start) ? start + expected.length : -1;
}

function typeOid(type: string): string | undefined {
  if (isDottedOid(type)) return type;
  const lower = type.toLowerCase();
  return NAME_ALIASES.get(lower) ?? OPENSSL_NAMES.get(lower);
}

/**
 * A string value as OpenSSL's `XN_FLAG_RFC2253` writes it — UTF-8, `\XX` (upper-case) for
 * control bytes, DEL and bytes above 0x7F, `\` before `, + < > ;`, before a leading `#` or space
 * and a trailing space — and then XFCC-unquoted: its `\\` and `\"` are left as `\` and `"`.
 */
function unquotedRendering(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const last = bytes.length - 1;
  let out = '';
  for (let i = 0; i <= last; i++) {
    const b = bytes[i]!;
    const ch = String.fromCharCode(b);
    if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (',+<>;'.includes(ch) || (i === 0 && (ch === '#' || ch === ' ')) || (i === last && ch === ' '))
      out += `\\${ch}`;
    else out += ch; // including `\` and `"`, whose escapes XFCC unquoting removed
  }
  return out;
}
