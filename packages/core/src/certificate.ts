/**
 * Parsing a certificate into the normalized `ClientCertificate` model.
 *
 * node:crypto's `X509Certificate` does the cryptographic parsing (it is by far the fastest parser
 * available); this module adds what Node only exposes as display strings — names as RDN sets and
 * subjectAltName entries — by walking the DER itself with the strict reader in der.ts. Node's
 * `subject` / `subjectAltName` strings are never parsed: their escaping is ambiguous.
 *
 * The DER framing (outer structure, TBSCertificate fields, extension list) is checked eagerly so
 * a malformed certificate fails in `parseCertificate`; decoding names and SANs into strings is
 * deferred to first access because a request may only need the fingerprint.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { DerCursor, Tag, decodeIa5, decodeOid, decodeString, hex, malformed, readTlv, type Tlv } from './der.js';
import { isClientCertError } from './errors.js';
import type {
  ClientCertificate, DistinguishedName, NameAttribute, SourceName, SubjectAltNames, Verification,
} from './model.js';

/** A certificate as callers hand it over: PEM text, DER (or PEM) bytes, or Node's object. */
export type CertificateInput = Buffer | string | X509Certificate;

// ---------------------------------------------------------------------------------------------
// PEM

const PEM_BEGIN = '-----BEGIN ';
const PEM_DASHES = '-----';
/** RFC 7468 labels that carry a plain X.509 certificate. */
const CERTIFICATE_LABELS: ReadonlySet<string> = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);
const MAX_PEM_LABEL = 64;

interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Base64 alphabet check without regexes: A-Z a-z 0-9 + / */
function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2b || c === 0x2f;
}

function isPemWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Strict base64 for a PEM body: whitespace anywhere (line breaks), padding only at the end, and
 * a multiple of four characters. Needed because `Buffer.from(s, 'base64')` silently skips
 * invalid characters and accepts the URL-safe alphabet.
 */
function decodePemBody(body: string): Buffer {
  let count = 0;
  let padding = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (isPemWhitespace(c)) continue;
    if (c === 0x3d) padding++;
    else if (padding > 0 || !isBase64Char(c)) throw malformed('invalid base64 in PEM');
    count++;
  }
  if (count === 0 || count % 4 !== 0 || padding > 2) throw malformed('invalid base64 length in PEM');
  return Buffer.from(body, 'base64');
}

/**
 * Every `-----BEGIN X-----` … `-----END X-----` block of `text`, in order. Text between blocks is
 * ignored (RFC 7468 §2: explanatory text is allowed); a block that is opened but not closed, or
 * whose body is not strict base64, is malformed.
 */
function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, pos);
    if (begin < 0) return blocks;
    const labelStart = begin + PEM_BEGIN.length;
    const labelEnd = text.indexOf(PEM_DASHES, labelStart);
    if (labelEnd < 0 || labelEnd - labelStart > MAX_PEM_LABEL) throw malformed('invalid PEM header line');
    const label = text.slice(labelStart, labelEnd);
    if (label.includes('\n')) throw malformed('invalid PEM header line');
    const endLine = `-----END ${label}-----`;
    const bodyStart = labelEnd + PEM_DASHES.length;
    const end = text.indexOf(endLine, bodyStart);
    if (end < 0) throw malformed('PEM block without an END line');
    blocks.push({ label, der: decodePemBody(text.slice(bodyStart, end)) });
    pos = end + endLine.length;
  }
}

/** DER of the certificate blocks in `text` (other blocks, such as keys, are skipped). */
function pemCertificates(text: string): Buffer[] {
  return pemBlocks(text).filter((block) => CERTIFICATE_LABELS.has(block.label)).map((block) => block.der);
}

/** Decodes PEM text holding exactly one certificate to DER. */
export function pemToDer(pem: string): Buffer {
  const certificates = pemCertificates(pem);
  if (certificates.length !== 1) {
    throw malformed(certificates.length === 0
      ? 'no CERTIFICATE block in PEM'
      : `expected one certificate in PEM, found ${certificates.length} (use parseCertificateChain)`);
  }
  return certificates[0]!;
}

/** Canonical PEM (64-column base64, LF line ends, trailing newline) of a DER certificate. */
export function derToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < base64.length; i += 64) body += `${base64.slice(i, i + 64)}\n`;
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

/** True when the bytes are PEM text: `-----BEGIN` after optional leading whitespace. */
function looksLikePem(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && isPemWhitespace(bytes[i]!)) i++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(10, bytes.length - i)).toString('latin1') ===
    '-----BEGIN';
}

/** `input` as a Buffer without copying (a plain Uint8Array is accepted too). */
function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

// ---------------------------------------------------------------------------------------------
// DER framing

/** Where the parts this module decodes live inside the DER. */
interface CertificateLayout {
  readonly issuer: Tlv;
  readonly subject: Tlv;
  /** The OCTET STRING holding the subjectAltName extension value, if present. */
  readonly subjectAltName: Tlv | undefined;
}

const CONTEXT_0_CONSTRUCTED = 0xa0;
const CONTEXT_1_PRIMITIVE = 0x81;
const CONTEXT_2_PRIMITIVE = 0x82;
const CONTEXT_3_CONSTRUCTED = 0xa3;
/** Contents of the OID 2.5.29.17 (subjectAltName), as a latin1 key: compared without decoding. */
const SAN_OID_CONTENTS = '\x55\x1d\x11';

/** The outer `Certificate ::= SEQUENCE` must span the whole input: no trailing bytes. */
function checkOuterFraming(der: Buffer): Tlv {
  if (der.length === 0) throw malformed('empty input');
  const outer = readTlv(der, 0, der.length);
  if (outer.tag !== Tag.SEQUENCE) throw malformed('not a DER certificate');
  if (outer.end !== der.length) throw malformed('trailing data after the certificate');
  return outer;
}

/**
 * Checks the framing of Certificate and TBSCertificate (RFC 5280 §4.1) and locates the issuer,
 * subject and subjectAltName. Extensions are walked to find the SAN and to reject duplicates
 * (§4.2: a certificate must not include more than one instance of an extension).
 */
function readLayout(der: Buffer): CertificateLayout {
  const outer = checkOuterFraming(der);
  const certificate = DerCursor.inside(der, outer);
  const tbs = certificate.expect(Tag.SEQUENCE, 'tbsCertificate');
  certificate.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  certificate.expect(Tag.BIT_STRING, 'signatureValue');
  certificate.finish('signatureValue');

  const fields = DerCursor.inside(der, tbs);
  fields.optional(CONTEXT_0_CONSTRUCTED, 'version');
  fields.expect(Tag.INTEGER, 'serialNumber');
  fields.expect(Tag.SEQUENCE, 'signature');
  const issuer = fields.expect(Tag.SEQUENCE, 'issuer');
  fields.expect(Tag.SEQUENCE, 'validity');
  const subject = fields.expect(Tag.SEQUENCE, 'subject');
  fields.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  fields.optional(CONTEXT_1_PRIMITIVE, 'issuerUniqueID');
  fields.optional(CONTEXT_2_PRIMITIVE, 'subjectUniqueID');
  const extensions = fields.optional(CONTEXT_3_CONSTRUCTED, 'extensions');
  fields.finish('tbsCertificate');

  return { issuer, subject, subjectAltName: extensions && findSubjectAltName(der, extensions) };
}

function findSubjectAltName(der: Buffer, explicit: Tlv): Tlv | undefined {
  const wrapper = DerCursor.inside(der, explicit);
  const list = DerCursor.inside(der, wrapper.expect(Tag.SEQUENCE, 'extensions'));
  wrapper.finish('extensions');
  const seen = new Set<string>();
  let san: Tlv | undefined;
  while (!list.done) {
    const extension = DerCursor.inside(der, list.expect(Tag.SEQUENCE, 'extension'));
    const id = extension.expect(Tag.OID, 'extension id');
    extension.optional(Tag.BOOLEAN, 'extension criticality');
    const value = extension.expect(Tag.OCTET_STRING, 'extension value');
    extension.finish('extension');
    const key = der.toString('latin1', id.valueStart, id.end);
    if (seen.has(key)) throw malformed('duplicate extension');
    seen.add(key);
    if (key === SAN_OID_CONTENTS) san = value;
  }
  return san;
}

// ---------------------------------------------------------------------------------------------
// Distinguished names

/** Friendly names for `NameAttribute.type`, by OID. */
const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.4', 'SN'], // surname, as OpenSSL and RFC 4519 ("sn") name it; serialNumber is spelled out
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.12', 'title'],
  ['2.5.4.15', 'businessCategory'],
  ['2.5.4.17', 'postalCode'],
  ['2.5.4.42', 'GN'],
  ['2.5.4.43', 'initials'],
  ['2.5.4.44', 'generationQualifier'],
  ['2.5.4.46', 'dnQualifier'],
  ['2.5.4.65', 'pseudonym'],
  ['2.5.4.97', 'organizationIdentifier'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
  ['1.2.840.113549.1.9.1', 'emailAddress'],
]);

/**
 * RFC 4514 §3 table: only these types are written by short name with a string value; every
 * other type is written as dotted OID with a `#hex` BER value (§2.3, §2.4).
 */
const RFC4514_TYPES: ReadonlySet<string> = new Set([
  '2.5.4.3', '2.5.4.7', '2.5.4.8', '2.5.4.10', '2.5.4.11', '2.5.4.6', '2.5.4.9',
  '0.9.2342.19200300.100.1.25', '0.9.2342.19200300.100.1.1',
]);

/** Names accepted by `get` / `getAll` (lower-case): the short names plus common long forms. */
const NAME_ALIASES: ReadonlyMap<string, string> = (() => {
  const aliases = new Map<string, string>();
  for (const [oid, name] of SHORT_NAMES) aliases.set(name.toLowerCase(), oid);
  const long: [string, string][] = [
    ['commonname', '2.5.4.3'], ['surname', '2.5.4.4'], ['countryname', '2.5.4.6'],
    ['localityname', '2.5.4.7'], ['stateorprovincename', '2.5.4.8'], ['streetaddress', '2.5.4.9'],
    ['organizationname', '2.5.4.10'], ['organizationalunitname', '2.5.4.11'],
    ['givenname', '2.5.4.42'], ['domaincomponent', '0.9.2342.19200300.100.1.25'],
    ['userid', '0.9.2342.19200300.100.1.1'], ['email', '1.2.840.113549.1.9.1'],
  ];
  for (const [alias, oid] of long) aliases.set(alias, oid);
  return aliases;
})();

/** Digits separated by single dots, at least two arcs. */
function isDottedOid(text: string): boolean {
  let arcs = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && digits > 0) { arcs++; digits = 0; }
    else return false;
  }
  return digits > 0 && arcs >= 1;
}

/** The OID a `get`/`getAll` key refers to, or undefined for an unknown name. */
function resolveAttributeType(type: string): string | undefined {
  return isDottedOid(type) ? type : NAME_ALIASES.get(type.toLowerCase());
}

function hexDigit(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * RFC 4514 §2.4 escaping of a string value. Required: `"+,;<>\` anywhere, a leading space or
 * `#`, a trailing space, NUL as `\00`. Other control characters (U+0001–U+001F, U+007F) are
 * escaped as `\hh` too — §2.4 allows escaping any character — so a DN never carries raw line
 * breaks or terminal escapes into logs.
 */
export function escapeRfc4514Value(value: string): string {
  let out = '';
  const last = value.length - 1;
  for (let i = 0; i <= last; i++) {
    const ch = value[i]!;
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f) out += `\\${hexDigit(c)}`;
    else if (ch === '"' || ch === '+' || ch === ',' || ch === ';' || ch === '<' || ch === '>' || ch === '\\') {
      out += `\\${ch}`;
    } else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === last && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** One decoded AttributeTypeAndValue, with what the RFC 4514 form needs. */
interface DecodedAttribute extends NameAttribute {
  /** `type=value` as written in the RFC 4514 string. */
  readonly rfc4514: string;
}

function decodeAttribute(der: Buffer, atv: Tlv): DecodedAttribute {
  const fields = DerCursor.inside(der, atv);
  const typeTlv = fields.expect(Tag.OID, 'attribute type');
  const valueTlv = fields.next('attribute value');
  fields.finish('attribute');
  const oid = decodeOid(der, typeTlv.valueStart, typeTlv.end);
  const text = decodeString(der, valueTlv);
  const inTable = RFC4514_TYPES.has(oid);
  // RFC 4514 §2.4: a value whose type is written as an OID, or that has no string form, is
  // written as `#` and the hex of its BER. Non-string values use the same form in `value`.
  const berHex = text === undefined || !inTable ? `#${hex(der, valueTlv.start, valueTlv.end)}` : '';
  const rfcType = inTable ? SHORT_NAMES.get(oid)! : oid;
  const rfcValue = text !== undefined && inTable ? escapeRfc4514Value(text) : berHex;
  return { type: SHORT_NAMES.get(oid) ?? oid, oid, value: text ?? berHex, rfc4514: `${rfcType}=${rfcValue}` };
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF ATV. */
function decodeRdns(der: Buffer, name: Tlv): DecodedAttribute[][] {
  const rdns: DecodedAttribute[][] = [];
  const list = DerCursor.inside(der, name);
  while (!list.done) {
    const set = DerCursor.inside(der, list.expect(Tag.SET, 'relative distinguished name'));
    const rdn: DecodedAttribute[] = [];
    while (!set.done) rdn.push(decodeAttribute(der, set.expect(Tag.SEQUENCE, 'attribute')));
    if (rdn.length === 0) throw malformed('empty relative distinguished name');
    rdns.push(rdn);
  }
  return rdns;
}

/** A decoded Name. `rdns`/`attributes` are in DER order; the RFC 4514 string is reversed. */
class Name implements DistinguishedName {
  readonly rdns: readonly (readonly NameAttribute[])[];
  readonly attributes: readonly NameAttribute[];
  readonly rfc4514: string;

  constructor(decoded: DecodedAttribute[][]) {
    this.rdns = decoded.map((rdn) => rdn.map(({ type, oid, value }) => ({ type, oid, value })));
    this.attributes = this.rdns.flat();
    this.rfc4514 = decoded.map((rdn) => rdn.map((attribute) => attribute.rfc4514).join('+')).reverse().join(',');
  }

  get(type: string): string | undefined {
    const oid = resolveAttributeType(type);
    return oid === undefined ? undefined : this.attributes.find((attribute) => attribute.oid === oid)?.value;
  }

  getAll(type: string): string[] {
    const oid = resolveAttributeType(type);
    if (oid === undefined) return [];
    return this.attributes.filter((attribute) => attribute.oid === oid).map((attribute) => attribute.value);
  }

  toString(): string {
    return this.rfc4514;
  }

  toJSON(): string {
    return this.rfc4514;
  }
}

/** Parses a DER-encoded Name (for example from a CRL or a configured issuer) on its own. */
export function parseDistinguishedName(der: Buffer): DistinguishedName {
  if (der.length === 0) throw malformed('empty name');
  const tlv = readTlv(der, 0, der.length);
  if (tlv.tag !== Tag.SEQUENCE || tlv.end !== der.length) throw malformed('not a DER Name');
  return new Name(decodeRdns(der, tlv));
}

// ---------------------------------------------------------------------------------------------
// Subject alternative names

const GENERAL_NAME_EMAIL = 0x81;
const GENERAL_NAME_DNS = 0x82;
const GENERAL_NAME_URI = 0x86;
const GENERAL_NAME_IP = 0x87;

/** IPv4 dotted quad, or IPv6 per RFC 5952 (lower-case, longest zero run of 2+ groups as `::`). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) throw malformed('IP address must be 4 or 16 bytes');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (§4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const text = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestStart < 0 ? text(0, 8) : `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

interface MutableSans {
  dns: string[];
  uri: string[];
  email: string[];
  ip: string[];
}

/** GeneralNames ::= SEQUENCE OF GeneralName; kinds other than the four we model are skipped. */
function decodeSubjectAltNames(der: Buffer, extensionValue: Tlv | undefined): SubjectAltNames {
  const sans: MutableSans = { dns: [], uri: [], email: [], ip: [] };
  if (extensionValue === undefined) return sans;
  const wrapper = DerCursor.inside(der, extensionValue);
  const names = DerCursor.inside(der, wrapper.expect(Tag.SEQUENCE, 'subjectAltName'));
  wrapper.finish('subjectAltName');
  while (!names.done) {
    const name = names.next('general name');
    switch (name.tag) {
      case GENERAL_NAME_DNS: sans.dns.push(decodeIa5(der, name)); break;
      case GENERAL_NAME_URI: sans.uri.push(decodeIa5(der, name)); break;
      case GENERAL_NAME_EMAIL: sans.email.push(decodeIa5(der, name)); break;
      case GENERAL_NAME_IP: sans.ip.push(formatIpAddress(der.subarray(name.valueStart, name.end))); break;
      default: break;
    }
  }
  return sans;
}

function spiffeIdOf(uris: readonly string[]): string | null {
  if (uris.length !== 1) return null;
  const uri = uris[0]!;
  return uri.slice(0, 9).toLowerCase() === 'spiffe://' ? uri : null;
}

// ---------------------------------------------------------------------------------------------
// Validity

const MONTHS: ReadonlyMap<string, number> = new Map(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map((m, i) => [m, i]),
);

function parseDecimal(text: string | undefined, min: number, max: number): number {
  if (text === undefined || text.length === 0 || text.length > 4) throw malformed('unreadable validity time');
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw malformed('unreadable validity time');
    n = n * 10 + (c - 0x30);
  }
  if (n < min || n > max) throw malformed('unreadable validity time');
  return n;
}

/**
 * Parses OpenSSL's `ASN1_TIME_print` form as exposed by `X509Certificate.validFrom`, e.g.
 * `Nov  5 02:37:18 2026 GMT` (day space-padded; fractional seconds, which RFC 5280 forbids but
 * OpenSSL prints, are dropped).
 */
function parseOpenSslTime(text: string): Date {
  const parts = text.split(' ').filter((part) => part !== '');
  const [monthName, dayText, clock, yearText, zone] = parts;
  const month = monthName === undefined ? undefined : MONTHS.get(monthName);
  if (parts.length !== 5 || zone !== 'GMT' || month === undefined || clock === undefined) {
    throw malformed('unreadable validity time');
  }
  const [hh, mm, ssWithFraction] = clock.split(':');
  const day = parseDecimal(dayText, 1, 31);
  const year = parseDecimal(yearText, 0, 9999);
  const seconds = parseDecimal(ssWithFraction?.split('.')[0], 0, 60);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(parseDecimal(hh, 0, 23), parseDecimal(mm, 0, 59), seconds, 0);
  if (date.getUTCDate() !== day) throw malformed('unreadable validity time');
  return date;
}

/** A certificate's validity period, to the whole second. */
export function certificateValidity(x509: X509Certificate): { notBefore: Date; notAfter: Date } {
  // Node 22.10+ has Date getters; Node 20 only the printed strings.
  const dated = x509 as X509Certificate & { validFromDate?: unknown; validToDate?: unknown };
  if (dated.validFromDate instanceof Date && dated.validToDate instanceof Date) {
    return { notBefore: new Date(dated.validFromDate.getTime()), notAfter: new Date(dated.validToDate.getTime()) };
  }
  return { notBefore: parseOpenSslTime(x509.validFrom), notAfter: parseOpenSslTime(x509.validTo) };
}

// ---------------------------------------------------------------------------------------------
// The certificate

type Fingerprints = { readonly sha1: string; readonly sha256: string };

/**
 * The model. Names, SANs, fingerprints and PEM are computed on first read and memoized, so a
 * request that only looks at the fingerprint never decodes a name. The framing they rely on was
 * checked in `parseCertificate`, so these getters only fail on undecodable string contents.
 */
class ParsedCertificate implements ClientCertificate {
  readonly x509: X509Certificate;
  readonly raw: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  chain: readonly ClientCertificate[] = [];
  source: SourceName | null = null;
  verifiedBy: Verification | null = null;

  readonly #layout: CertificateLayout;
  #subject: DistinguishedName | undefined;
  #issuer: DistinguishedName | undefined;
  #san: SubjectAltNames | undefined;
  #fingerprints: Fingerprints | undefined;
  #serialNumber: string | undefined;
  #pem: string | undefined;

  constructor(x509: X509Certificate, raw: Buffer, layout: CertificateLayout, validity: { notBefore: Date; notAfter: Date }) {
    this.x509 = x509;
    this.raw = raw;
    this.notBefore = validity.notBefore;
    this.notAfter = validity.notAfter;
    this.#layout = layout;
  }

  get subject(): DistinguishedName {
    return this.#subject ??= new Name(decodeRdns(this.raw, this.#layout.subject));
  }

  get issuer(): DistinguishedName {
    return this.#issuer ??= new Name(decodeRdns(this.raw, this.#layout.issuer));
  }

  get san(): SubjectAltNames {
    return this.#san ??= decodeSubjectAltNames(this.raw, this.#layout.subjectAltName);
  }

  get spiffeId(): string | null {
    return spiffeIdOf(this.san.uri);
  }

  get serialNumber(): string {
    return this.#serialNumber ??= this.x509.serialNumber.toUpperCase();
  }

  get fingerprints(): Fingerprints {
    return this.#fingerprints ??= {
      sha1: createHash('sha1').update(this.raw).digest('hex'),
      sha256: createHash('sha256').update(this.raw).digest('hex'),
    };
  }

  /** Node names the extended key usage list `keyUsage`; undefined when the extension is absent. */
  get extKeyUsage(): readonly string[] {
    return this.x509.keyUsage ?? [];
  }

  get isCA(): boolean {
    return this.x509.ca;
  }

  get pem(): string {
    return this.#pem ??= derToPem(this.raw);
  }

  /** Getters live on the prototype, so JSON and `inspect` need an explicit plain view. */
  toJSON(): Record<string, unknown> {
    return {
      subject: this.subject.rfc4514,
      issuer: this.issuer.rfc4514,
      serialNumber: this.serialNumber,
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      fingerprints: this.fingerprints,
      san: this.san,
      spiffeId: this.spiffeId,
      extKeyUsage: this.extKeyUsage,
      isCA: this.isCA,
      source: this.source,
      verifiedBy: this.verifiedBy,
      chain: this.chain,
    };
  }

  [inspect.custom](): string {
    return `ClientCertificate ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}

/** `new X509Certificate` with OpenSSL's error reported as `certificate_malformed`. */
function x509FromDer(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw malformed('not a valid X.509 certificate', error);
  }
}

/** DER of a single-certificate input (PEM text, PEM bytes or DER bytes). */
function singleDer(input: Buffer | string): Buffer {
  if (typeof input === 'string') return pemToDer(input);
  if (!(input instanceof Uint8Array)) throw malformed('expected PEM text or DER bytes');
  const bytes = asBuffer(input);
  return looksLikePem(bytes) ? pemToDer(bytes.toString('latin1')) : bytes;
}

/**
 * Node's certificate object for one certificate input, with the outer DER framing checked
 * (node:crypto silently ignores bytes after the certificate). Used on verification paths that do
 * not need the full model.
 */
export function toX509Certificate(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  const der = singleDer(input);
  checkOuterFraming(der);
  return x509FromDer(der);
}

/**
 * Parses one certificate: PEM text (exactly one CERTIFICATE block), DER bytes, PEM bytes, or an
 * `X509Certificate`. Throws `ClientCertError` with code `certificate_malformed` on bad input.
 */
export function parseCertificate(input: CertificateInput): ClientCertificate {
  let x509: X509Certificate;
  let der: Buffer;
  if (input instanceof X509Certificate) {
    x509 = input;
    der = x509.raw;
  } else {
    der = singleDer(input);
    checkOuterFraming(der);
    x509 = x509FromDer(der);
  }
  try {
    // Both are read eagerly so structural damage surfaces here, not in a getter later.
    return new ParsedCertificate(x509, der, readLayout(der), certificateValidity(x509));
  } catch (error) {
    throw isClientCertError(error) ? error : malformed('unreadable certificate', error);
  }
}

/** DER of every certificate in one chain input: PEM text with any number of blocks, or DER. */
function chainDers(input: Buffer | string): Buffer[] {
  if (typeof input === 'string') return pemCertificates(input);
  if (!(input instanceof Uint8Array)) throw malformed('expected PEM text or DER bytes');
  const bytes = asBuffer(input);
  if (looksLikePem(bytes)) return pemCertificates(bytes.toString('latin1'));
  // DER is self-delimiting, so concatenated DER certificates are split by their outer lengths.
  const ders: Buffer[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const tlv = readTlv(bytes, offset, bytes.length);
    ders.push(bytes.subarray(offset, tlv.end));
    offset = tlv.end;
  }
  return ders;
}

function isBlank(input: Buffer | string): boolean {
  if (typeof input === 'string') return input.trim() === '';
  return input.every(isPemWhitespace);
}

/**
 * DER of every certificate in `input` (PEM bundles, DER, concatenated DER, or arrays of them),
 * in order. Non-certificate PEM blocks are skipped; a non-blank input that yields no
 * certificate is malformed.
 */
export function splitCertificates(input: string | Buffer | readonly (string | Buffer)[]): Buffer[] {
  const items = Array.isArray(input) ? input : [input as string | Buffer];
  const ders: Buffer[] = [];
  for (const item of items) {
    const found = chainDers(item);
    if (found.length === 0 && !isBlank(item)) throw malformed('no certificate found');
    ders.push(...found);
  }
  return ders;
}

/** Parses every certificate in a PEM bundle, DER buffer, or array of them, in order. */
export function parseCertificateChain(pems: string | string[] | Buffer | Buffer[]): ClientCertificate[] {
  return splitCertificates(pems).map((der) => parseCertificate(der));
}
