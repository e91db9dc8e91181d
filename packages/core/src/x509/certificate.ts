/**
 * Parsing a certificate into the normalized `ClientCertificate` model.
 *
 * node:crypto's `X509Certificate` does the cryptographic parsing (it is by far the fastest parser
 * available); this module adds what Node only exposes as display strings — names as RDN sets and
 * subjectAltName entries — by walking the DER itself with the strict reader in der.ts. Node's
 * `subject` / `subjectAltName` strings are never parsed: their escaping is ambiguous.
 *
 * Everything is validated eagerly, so a malformed certificate fails in `parseCertificate` and
 * never later: the DER framing, and the names and SANs (OIDs well formed, string contents valid for
 * their types). Building the strings and objects is deferred to first access, because a request
 * may only need the fingerprint; those getters cannot fail, since they re-read what was checked.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { isBase64Char, isPemSpace, isPrintableAscii } from '../encoding/text.js';
import { isClientCertError } from '../errors.js';
import type {
  Authorization,
  ClientCertificate,
  DistinguishedName,
  NameAttribute,
  SourceName,
  SubjectAltNames,
  Verification,
} from '../model.js';
import {
  checkIa5,
  checkOid,
  checkString,
  DerCursor,
  decodeIa5,
  decodeOid,
  decodeString,
  hex,
  isDottedOid,
  malformed,
  readTlv,
  Tag,
  type Tlv,
} from './der.js';

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
    if (isPemSpace(c)) continue;
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
    if (!isPrintableAscii(label)) throw malformed('invalid PEM header line');
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
  return pemBlocks(text)
    .filter((block) => CERTIFICATE_LABELS.has(block.label))
    .map((block) => block.der);
}

/** Decodes PEM text holding exactly one certificate to DER. */
export function pemToDer(pem: string): Buffer {
  const certificates = pemCertificates(pem);
  if (certificates.length !== 1) {
    throw malformed(
      certificates.length === 0
        ? 'no CERTIFICATE block in PEM'
        : `expected one certificate in PEM, found ${certificates.length} (use parseCertificateChain)`,
    );
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
  while (i < bytes.length && isPemSpace(bytes[i]!)) i++;
  return (
    Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(10, bytes.length - i)).toString('latin1') === '-----BEGIN'
  );
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
 * subject and subjectAltName, validating their contents. Extensions are walked to find the SAN
 * and to reject duplicates (§4.2: a certificate must not include more than one instance of an
 * extension).
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

  const subjectAltName = extensions && findSubjectAltName(der, extensions);
  validateName(der, issuer);
  validateName(der, subject);
  validateSubjectAltNames(der, subjectAltName);
  return { issuer, subject, subjectAltName };
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
  '2.5.4.3',
  '2.5.4.7',
  '2.5.4.8',
  '2.5.4.10',
  '2.5.4.11',
  '2.5.4.6',
  '2.5.4.9',
  '0.9.2342.19200300.100.1.25',
  '0.9.2342.19200300.100.1.1',
]);

/**
 * Attribute type names (lower-case) → OID: the short names plus common long forms. Accepted by
 * `get` / `getAll`, and (with .NET's one-letter names added) by the DN strings of rules.ts.
 */
export const NAME_ALIASES: ReadonlyMap<string, string> = (() => {
  const aliases = new Map<string, string>();
  for (const [oid, name] of SHORT_NAMES) aliases.set(name.toLowerCase(), oid);
  const long: [string, string][] = [
    ['commonname', '2.5.4.3'],
    ['surname', '2.5.4.4'],
    ['countryname', '2.5.4.6'],
    ['localityname', '2.5.4.7'],
    ['stateorprovincename', '2.5.4.8'],
    ['streetaddress', '2.5.4.9'],
    ['organizationname', '2.5.4.10'],
    ['organizationalunitname', '2.5.4.11'],
    ['givenname', '2.5.4.42'],
    ['domaincomponent', '0.9.2342.19200300.100.1.25'],
    ['userid', '0.9.2342.19200300.100.1.1'],
    ['email', '1.2.840.113549.1.9.1'],
  ];
  for (const [alias, oid] of long) aliases.set(alias, oid);
  return aliases;
})();

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

/** A decoded Name: the attributes by RDN, and each attribute's `type=value` RFC 4514 form. */
interface DecodedName {
  readonly rdns: NameAttribute[][];
  readonly rfc4514: string[][];
}

/**
 * Visits every AttributeTypeAndValue of a Name with the index of its RDN.
 * Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF
 * AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }.
 */
function forEachAttribute(der: Buffer, name: Tlv, visit: (rdn: number, type: Tlv, value: Tlv) => void): void {
  const list = DerCursor.inside(der, name);
  for (let rdn = 0; !list.done; rdn++) {
    const set = DerCursor.inside(der, list.expect(Tag.SET, 'relative distinguished name'));
    if (set.done) throw malformed('empty relative distinguished name');
    while (!set.done) {
      const fields = DerCursor.inside(der, set.expect(Tag.SEQUENCE, 'attribute'));
      const type = fields.expect(Tag.OID, 'attribute type');
      const value = fields.next('attribute value');
      fields.finish('attribute');
      visit(rdn, type, value);
    }
  }
}

/** Everything decoding a Name could reject, without building strings. */
function validateName(der: Buffer, name: Tlv): void {
  forEachAttribute(der, name, (_rdn, type, value) => {
    checkOid(der, type.valueStart, type.end);
    checkString(der, value);
  });
}

function decodeAttribute(der: Buffer, typeTlv: Tlv, valueTlv: Tlv): { attribute: NameAttribute; rfc4514: string } {
  const oid = decodeOid(der, typeTlv.valueStart, typeTlv.end);
  const text = decodeString(der, valueTlv);
  const inTable = RFC4514_TYPES.has(oid);
  // RFC 4514 §2.4: a value whose type is written as an OID, or that has no string form, is
  // written as `#` and the hex of its BER. Non-string values use the same form in `value`.
  const berHex = text === undefined || !inTable ? `#${hex(der, valueTlv.start, valueTlv.end)}` : '';
  const rfcType = inTable ? SHORT_NAMES.get(oid)! : oid;
  const rfcValue = text !== undefined && inTable ? escapeRfc4514Value(text) : berHex;
  return {
    attribute: { type: SHORT_NAMES.get(oid) ?? oid, oid, value: text ?? berHex },
    rfc4514: `${rfcType}=${rfcValue}`,
  };
}

function decodeName(der: Buffer, name: Tlv): DecodedName {
  const decoded: DecodedName = { rdns: [], rfc4514: [] };
  forEachAttribute(der, name, (rdn, type, value) => {
    const { attribute, rfc4514 } = decodeAttribute(der, type, value);
    (decoded.rdns[rdn] ??= []).push(attribute);
    (decoded.rfc4514[rdn] ??= []).push(rfc4514);
  });
  return decoded;
}

/**
 * A decoded Name. `rdns`/`attributes` are in DER order; the RFC 4514 string is reversed.
 * Frozen through and through (names are shared by every request that sees the certificate).
 */
class Name implements DistinguishedName {
  readonly rdns: readonly (readonly NameAttribute[])[];
  readonly attributes: readonly NameAttribute[];
  readonly rfc4514: string;
  /**
   * Not `attributes.find`: V8 runs find/filter/some on frozen arrays on a slow path (~10x
   * slower on Node 20), and names are looked up per request. A private field can still be
   * written on the frozen object.
   */
  #byOid: Map<string, string[]> | undefined;

  constructor(decoded: DecodedName) {
    for (const rdn of decoded.rdns) {
      for (const attribute of rdn) Object.freeze(attribute);
      Object.freeze(rdn);
    }
    this.rdns = Object.freeze(decoded.rdns);
    this.attributes = Object.freeze(decoded.rdns.flat());
    this.rfc4514 = decoded.rfc4514
      .map((rdn) => rdn.join('+'))
      .reverse()
      .join(',');
    Object.freeze(this);
  }

  get(type: string): string | undefined {
    const oid = resolveAttributeType(type);
    return oid === undefined ? undefined : this.#values(oid)?.[0];
  }

  getAll(type: string): string[] {
    const oid = resolveAttributeType(type);
    const values = oid === undefined ? undefined : this.#values(oid);
    return values === undefined ? [] : [...values]; // the caller's own array
  }

  /** Values by OID, in DER order, indexed on first lookup (see `#values`). */
  #values(oid: string): readonly string[] | undefined {
    let index = this.#byOid;
    if (index === undefined) {
      index = new Map();
      for (const attribute of this.attributes) {
        const values = index.get(attribute.oid);
        if (values === undefined) index.set(attribute.oid, [attribute.value]);
        else values.push(attribute.value);
      }
      this.#byOid = index;
    }
    return index.get(oid);
  }

  toString(): string {
    return this.rfc4514;
  }

  toJSON(): string {
    return this.rfc4514;
  }
}
Object.freeze(Name.prototype);

/** Parses a DER-encoded Name (for example from a CRL or a configured issuer) on its own. */
export function parseDistinguishedName(der: Buffer): DistinguishedName {
  if (der.length === 0) throw malformed('empty name');
  const tlv = readTlv(der, 0, der.length);
  if (tlv.tag !== Tag.SEQUENCE || tlv.end !== der.length) throw malformed('not a DER Name');
  return new Name(decodeName(der, tlv)); // decoding validates as it goes
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
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  return bestStart < 0 ? text(0, 8) : `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

interface MutableSans {
  dns: string[];
  uri: string[];
  email: string[];
  ip: string[];
}

/** Visits each GeneralName of the extension value: OCTET STRING { SEQUENCE OF GeneralName }. */
function forEachGeneralName(der: Buffer, extensionValue: Tlv | undefined, visit: (name: Tlv) => void): void {
  if (extensionValue === undefined) return;
  const wrapper = DerCursor.inside(der, extensionValue);
  const names = DerCursor.inside(der, wrapper.expect(Tag.SEQUENCE, 'subjectAltName'));
  wrapper.finish('subjectAltName');
  while (!names.done) visit(names.next('general name'));
}

/** Everything decoding the SANs could reject, without building strings. */
function validateSubjectAltNames(der: Buffer, extensionValue: Tlv | undefined): void {
  forEachGeneralName(der, extensionValue, (name) => {
    if (name.tag === GENERAL_NAME_DNS || name.tag === GENERAL_NAME_URI || name.tag === GENERAL_NAME_EMAIL) {
      checkIa5(der, name);
    } else if (name.tag === GENERAL_NAME_IP && name.end - name.valueStart !== 4 && name.end - name.valueStart !== 16) {
      throw malformed('IP address must be 4 or 16 bytes');
    }
  });
}

/** The four GeneralName kinds the model has; others (directoryName, otherName, ...) are skipped. */
function decodeSubjectAltNames(der: Buffer, extensionValue: Tlv | undefined): SubjectAltNames {
  const sans: MutableSans = { dns: [], uri: [], email: [], ip: [] };
  forEachGeneralName(der, extensionValue, (name) => {
    switch (name.tag) {
      case GENERAL_NAME_DNS:
        sans.dns.push(decodeIa5(der, name));
        break;
      case GENERAL_NAME_URI:
        sans.uri.push(decodeIa5(der, name));
        break;
      case GENERAL_NAME_EMAIL:
        sans.email.push(decodeIa5(der, name));
        break;
      case GENERAL_NAME_IP:
        sans.ip.push(formatIpAddress(der.subarray(name.valueStart, name.end)));
        break;
      default:
        break;
    }
  });
  Object.freeze(sans.dns);
  Object.freeze(sans.uri);
  Object.freeze(sans.email);
  Object.freeze(sans.ip);
  return Object.freeze(sans);
}

function spiffeIdOf(uris: readonly string[]): string | null {
  if (uris.length !== 1) return null;
  const uri = uris[0]!;
  return uri.slice(0, 9).toLowerCase() === 'spiffe://' ? uri : null;
}

// ---------------------------------------------------------------------------------------------
// Validity

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/**
 * Reads OpenSSL's `ASN1_TIME_print` form as exposed by `X509Certificate.validFrom`, e.g.
 * `Nov  5 02:37:18 2026 GMT` (day space-padded; fractional seconds, which RFC 5280 forbids but
 * OpenSSL can print, are dropped). A cursor over char codes: this runs for every certificate, and
 * split/regex versions allocate enough to show up next to the ~100 µs X509Certificate parse.
 */
class TimeText {
  private pos = 0;

  constructor(private readonly text: string) {}

  fail(): never {
    throw malformed('unreadable validity time');
  }

  /** The month index of a three-letter English abbreviation. */
  month(): number {
    const index = MONTHS.indexOf(this.text.slice(this.pos, this.pos + 3));
    if (index < 0 || index % 3 !== 0) this.fail();
    this.pos += 3;
    return index / 3;
  }

  /** Between 1 and 4 decimal digits, in [min, max]. */
  number(min: number, max: number): number {
    let n = 0;
    const start = this.pos;
    for (let c = this.text.charCodeAt(this.pos); c >= 0x30 && c <= 0x39; c = this.text.charCodeAt(++this.pos)) {
      n = n * 10 + (c - 0x30);
    }
    if (this.pos === start || this.pos - start > 4 || n < min || n > max) this.fail();
    return n;
  }

  /** Exactly `literal`; with `spaces`, any number (at least one) of spaces instead. */
  skip(literal: string, spaces = false): void {
    if (spaces) {
      if (this.text.charCodeAt(this.pos) !== 0x20) this.fail();
      while (this.text.charCodeAt(this.pos) === 0x20) this.pos++;
    } else if (this.text.startsWith(literal, this.pos)) {
      this.pos += literal.length;
    } else {
      this.fail();
    }
  }

  /** Skips `.digits` if present. */
  fraction(): void {
    if (this.text.charCodeAt(this.pos) !== 0x2e) return;
    this.pos++;
    this.number(0, 9999);
  }

  end(): void {
    if (this.pos !== this.text.length) this.fail();
  }
}

function parseOpenSslTime(text: string): Date {
  const t = new TimeText(text);
  const month = t.month();
  t.skip(' ', true);
  const day = t.number(1, 31);
  t.skip(' ');
  const hours = t.number(0, 23);
  t.skip(':');
  const minutes = t.number(0, 59);
  t.skip(':');
  const seconds = t.number(0, 60);
  t.fraction();
  t.skip(' ');
  const year = t.number(0, 9999);
  t.skip(' GMT');
  t.end();
  const date = new Date(Date.UTC(year, month, day, hours, minutes, seconds));
  // Date.UTC reads years 0–99 as 1900–1999; certificates never have them, but be exact.
  if (year < 100) date.setUTCFullYear(year);
  if (date.getUTCDate() !== day) t.fail(); // e.g. Feb 30
  return date;
}

/** A certificate's validity period (notBefore and notAfter) in ms since the epoch, to the whole second. */
export interface ValidityWindow {
  readonly from: number;
  readonly until: number;
}

/** Per object: parsing, path validation and decision caching all ask for it. */
const validityWindows = new WeakMap<X509Certificate, ValidityWindow>();

export function validityWindow(x509: X509Certificate): ValidityWindow {
  let window = validityWindows.get(x509);
  if (window === undefined) {
    // Node 22.10+ has Date getters; Node 20 only the printed strings.
    const dated = x509 as X509Certificate & { validFromDate?: unknown; validToDate?: unknown };
    window =
      dated.validFromDate instanceof Date && dated.validToDate instanceof Date
        ? { from: dated.validFromDate.getTime(), until: dated.validToDate.getTime() }
        : { from: parseOpenSslTime(x509.validFrom).getTime(), until: parseOpenSslTime(x509.validTo).getTime() };
    validityWindows.set(x509, window);
  }
  return window;
}

export function certificateValidity(x509: X509Certificate): { notBefore: Date; notAfter: Date } {
  const { from, until } = validityWindow(x509);
  // New Date objects every time: callers may hand them to application code, which may mutate them.
  return { notBefore: new Date(from), notAfter: new Date(until) };
}

// ---------------------------------------------------------------------------------------------
// The certificate
//
// A certificate is handed to request handlers and cached across requests (per TLS socket, per
// header value, per presented chain, and intermediates across chains), so what a handler can reach
// must not be writable: one request must never change what another sees. Everything reachable is
// frozen once, when first computed; what cannot be frozen (a Buffer, a Date) is returned as a new
// copy on each read.

type Fingerprints = { readonly sha1: string; readonly sha256: string };

const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_CERTIFICATES: readonly ClientCertificate[] = Object.freeze([]);

/**
 * A copy of `bytes` in memory of its own. `Buffer.from` may slice a shared pool, whose other
 * slices anyone holding one can reach through `.buffer`; the bytes a certificate is derived from
 * must not be reachable that way.
 */
function privateCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/**
 * What one certificate's bytes say, shared by every view of it (the parsed certificate and each
 * sealed copy with other pipeline fields): parsed once, and each derived value computed on first
 * read, frozen, and kept here, so a request that only looks at the fingerprint never decodes a
 * name, and a second view never decodes or hashes again. Internal, never handed out, so it can
 * stay writable while the views are frozen. `readLayout` validated all the getters read, so
 * they do not throw.
 */
class CertificateFacts {
  subject: DistinguishedName | undefined;
  issuer: DistinguishedName | undefined;
  san: SubjectAltNames | undefined;
  spiffeId: string | null | undefined;
  fingerprints: Fingerprints | undefined;
  serialNumber: string | undefined;
  extKeyUsage: readonly string[] | undefined;
  pem: string | undefined;
  /** Whether `x509` has been locked (see `lockX509`). */
  locked = false;

  constructor(
    readonly x509: X509Certificate,
    /** A private copy of the DER: no caller holds it, so no caller can change what is derived from it. */
    readonly der: Buffer,
    readonly layout: CertificateLayout,
    readonly validity: ValidityWindow,
  ) {}
}

/** The pipeline's fields of a certificate: where it came from and what admitted it. */
export interface CertificateContext {
  readonly source: SourceName | null;
  readonly chain: readonly ClientCertificate[];
  readonly verifiedBy: Verification | null;
  readonly authorization: Authorization | null;
}

const UNKNOWN_CONTEXT: CertificateContext = Object.freeze({
  source: null,
  chain: NO_CERTIFICATES,
  verifiedBy: null,
  authorization: null,
});

/**
 * The model: a view of shared `CertificateFacts` plus the pipeline's four fields. Those fields
 * are writable only until `sealCertificate` freezes the object; a sealed certificate is never
 * changed again, and a certificate with other fields is a new view of the same facts.
 */
class ParsedCertificate implements ClientCertificate {
  chain: readonly ClientCertificate[];
  source: SourceName | null;
  verifiedBy: Verification | null;
  authorization: Authorization | null;
  readonly #facts: CertificateFacts;

  constructor(facts: CertificateFacts, context: CertificateContext) {
    this.#facts = facts;
    this.chain = context.chain;
    this.source = context.source;
    this.verifiedBy = context.verifiedBy;
    this.authorization = context.authorization;
  }

  /** The facts behind a certificate made here, or undefined for any other object. */
  static factsOf(value: unknown): CertificateFacts | undefined {
    return typeof value === 'object' && value !== null && #facts in value
      ? (value as ParsedCertificate).#facts
      : undefined;
  }

  get x509(): X509Certificate {
    return this.#facts.x509;
  }

  /** A copy per read: a Buffer cannot be frozen, and the bytes are shared by every request. */
  get raw(): Buffer {
    return Buffer.from(this.#facts.der);
  }

  /** A new Date per read: a frozen Date still changes with `setTime`. */
  get notBefore(): Date {
    return new Date(this.#facts.validity.from);
  }

  get notAfter(): Date {
    return new Date(this.#facts.validity.until);
  }

  get subject(): DistinguishedName {
    const facts = this.#facts;
    return (facts.subject ??= new Name(decodeName(facts.der, facts.layout.subject)));
  }

  get issuer(): DistinguishedName {
    const facts = this.#facts;
    return (facts.issuer ??= new Name(decodeName(facts.der, facts.layout.issuer)));
  }

  get san(): SubjectAltNames {
    const facts = this.#facts;
    return (facts.san ??= decodeSubjectAltNames(facts.der, facts.layout.subjectAltName));
  }

  get spiffeId(): string | null {
    const facts = this.#facts;
    if (facts.spiffeId === undefined) facts.spiffeId = spiffeIdOf(this.san.uri);
    return facts.spiffeId;
  }

  get serialNumber(): string {
    return (this.#facts.serialNumber ??= this.#facts.x509.serialNumber.toUpperCase());
  }

  get fingerprints(): Fingerprints {
    const facts = this.#facts;
    return (facts.fingerprints ??= Object.freeze({
      sha1: createHash('sha1').update(facts.der).digest('hex'),
      sha256: createHash('sha256').update(facts.der).digest('hex'),
    }));
  }

  /**
   * Node names the extended key usage list `keyUsage` (undefined when the extension is absent)
   * and returns one cached array: frozen here, so it stays what the certificate says.
   */
  get extKeyUsage(): readonly string[] {
    const facts = this.#facts;
    return (facts.extKeyUsage ??= Object.freeze(facts.x509.keyUsage ?? NO_STRINGS));
  }

  get isCA(): boolean {
    return this.#facts.x509.ca;
  }

  get pem(): string {
    return (this.#facts.pem ??= derToPem(this.#facts.der));
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
      authorization: this.authorization,
      chain: this.chain,
    };
  }

  [inspect.custom](): string {
    return `ClientCertificate ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}
// No handler can redefine a getter for every certificate at once.
Object.freeze(ParsedCertificate.prototype);
Object.freeze(ParsedCertificate);

/**
 * Returns `certificate` immutable, carrying the pipeline's fields (an omitted field keeps the
 * certificate's current value). A certificate not sealed yet is sealed in place: the fields are
 * set, then it is frozen. A sealed one is never changed: the result is a new sealed view of the same
 * parsed state (nothing is parsed, decoded or hashed again; a few fields are copied), for example
 * when a predicate admits the same cached certificate under another identity per request.
 *
 * Sealing also seals the chain's certificates (in place, with their own fields, unless sealed
 * already), freezes `authorization` (a copy), and locks `x509` (see `lockX509`). Throws
 * TypeError for an object that `parseCertificate` did not make.
 */
export function sealCertificate(
  certificate: ClientCertificate,
  fields: Partial<CertificateContext>,
): ClientCertificate {
  const facts = ParsedCertificate.factsOf(certificate);
  if (facts === undefined)
    throw new TypeError('clientcert: sealCertificate takes a certificate made by parseCertificate');
  const sealed = Object.isFrozen(certificate);
  const context: CertificateContext = {
    source: fields.source === undefined ? certificate.source : fields.source,
    // A sealed certificate's chain is sealed already: kept as it is (the per-request path).
    chain: fields.chain === undefined && sealed ? certificate.chain : sealedChain(fields.chain ?? certificate.chain),
    verifiedBy: fields.verifiedBy === undefined ? certificate.verifiedBy : fields.verifiedBy,
    authorization: frozenAuthorization(
      fields.authorization === undefined ? certificate.authorization : fields.authorization,
      sealed ? certificate.authorization : null,
    ),
  };
  if (!facts.locked) {
    lockX509(facts.x509, facts.der);
    facts.locked = true;
  }
  if (sealed) {
    const same =
      context.source === certificate.source &&
      context.chain === certificate.chain &&
      context.verifiedBy === certificate.verifiedBy &&
      context.authorization === certificate.authorization;
    return same ? certificate : Object.freeze(new ParsedCertificate(facts, context));
  }
  const writable = certificate as ParsedCertificate;
  writable.chain = context.chain;
  writable.source = context.source;
  writable.verifiedBy = context.verifiedBy;
  writable.authorization = context.authorization;
  return Object.freeze(writable);
}

/** True for a certificate that `sealCertificate` returned. */
export function isSealedCertificate(value: unknown): value is ClientCertificate {
  return ParsedCertificate.factsOf(value) !== undefined && Object.isFrozen(value);
}

/** A frozen array of sealed certificates: `chain` itself when it is one already (no copy per view). */
function sealedChain(chain: readonly ClientCertificate[]): readonly ClientCertificate[] {
  if (chain.length === 0) return NO_CERTIFICATES;
  if (Object.isFrozen(chain) && chain.every(isSealedCertificate)) return chain;
  return Object.freeze(chain.map((link) => (isSealedCertificate(link) ? link : sealCertificate(link, {}))));
}

/** `authorization` frozen: the one a sealed certificate already carries as it is, anything else as a frozen copy. */
function frozenAuthorization(authorization: Authorization | null, current: Authorization | null): Authorization | null {
  if (authorization === null || authorization === current) return authorization;
  return Object.freeze({ pin: authorization.pin, identity: authorization.identity });
}

/** Getters that Node's X509Certificate has on some versions only (22.10+). */
const DATE_GETTERS = (['validFromDate', 'validToDate'] as const).filter(
  (name) => Object.getOwnPropertyDescriptor(X509Certificate.prototype, name)?.get !== undefined,
);
const issuerCertificateGetter = Object.getOwnPropertyDescriptor(X509Certificate.prototype, 'issuerCertificate')?.get;
const lockedX509s = new WeakSet<X509Certificate>();

/**
 * Makes Node's certificate object safe to share between requests. Node caches what its getters
 * return and hands out the same object each time: `raw` is one Buffer, `keyUsage` one array,
 * `validFromDate`/`validToDate` (Node 22.10+) one Date each, `issuerCertificate` one more
 * X509Certificate — all writable, and the library's own checks read some of them. So the object
 * is frozen (no getter can be shadowed, nothing added), `raw` and the dates become own getters
 * that return copies, the key usage list is frozen, and the issuer certificate (a TLS peer's
 * chain) is locked the same way when it is first read. Node's getters keep working on a frozen
 * object: they cache in an internal Map, not in properties. `publicKey` (a KeyObject) is left
 * as Node made it: freezing it would break the lazy caches Node keeps on it.
 */
function lockX509(x509: X509Certificate, der: Buffer): void {
  if (lockedX509s.has(x509) || Object.isFrozen(x509)) return;
  lockedX509s.add(x509);
  const usage = x509.keyUsage;
  if (usage) Object.freeze(usage);
  const own = (name: string, get: () => unknown): void => {
    Object.defineProperty(x509, name, { get, enumerable: false, configurable: false });
  };
  own('raw', () => Buffer.from(der));
  if (DATE_GETTERS.length > 0) {
    const { from, until } = validityWindow(x509); // computed before the date getters are replaced
    own('validFromDate', () => new Date(from));
    own('validToDate', () => new Date(until));
  }
  if (issuerCertificateGetter) {
    own('issuerCertificate', () => {
      const issuer = issuerCertificateGetter.call(x509) as X509Certificate | undefined;
      if (issuer && !lockedX509s.has(issuer)) lockX509(issuer, privateCopy(issuer.raw));
      return issuer;
    });
  }
  Object.freeze(x509);
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
 * The result has no pipeline fields yet (`source`, `verifiedBy`, `authorization` null, `chain`
 * empty); `sealCertificate` gives them and makes it immutable.
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
    const layout = readLayout(der);
    const facts = new CertificateFacts(x509, privateCopy(der), layout, validityWindow(x509));
    return new ParsedCertificate(facts, UNKNOWN_CONTEXT);
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
  for (let offset = 0; offset < bytes.length; ) {
    const tlv = readTlv(bytes, offset, bytes.length);
    ders.push(bytes.subarray(offset, tlv.end));
    offset = tlv.end;
  }
  return ders;
}

function isBlank(input: Buffer | string): boolean {
  if (typeof input === 'string') return input.trim() === '';
  return input.every(isPemSpace);
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
