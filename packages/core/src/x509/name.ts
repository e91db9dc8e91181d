/**
 * Names (RFC 5280 §4.1.2.4): the one Name walk, and everything made from it — the model's
 * `DistinguishedName` with its RFC 4514 string, the comparable form path validation matches names
 * by, and the RFC 2253 string OpenSSL prints (what Envoy, and so the forwarder, writes in XFCC).
 *
 * Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF
 * AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }.
 */
import type { DistinguishedName, NameAttribute } from '../model.js';
import { MODEL_NAMES, NAME_ALIASES, OPENSSL_SHORT_NAMES, RFC4514_TYPES } from './attributes.js';
import {
  checkOid,
  checkString,
  DerCursor,
  decodeOid,
  decodeString,
  hex,
  isDottedOid,
  malformed,
  readTlv,
  Tag,
  type Tlv,
} from './der.js';
import { Oid } from './oids.js';

/** Visits every AttributeTypeAndValue of a Name with the index of its RDN, in DER order. */
export function forEachAttribute(der: Buffer, name: Tlv, visit: (rdn: number, type: Tlv, value: Tlv) => void): void {
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
export function validateName(der: Buffer, name: Tlv): void {
  forEachAttribute(der, name, (_rdn, type, value) => {
    checkOid(der, type.valueStart, type.end);
    checkString(der, value);
  });
}

// ---------------------------------------------------------------------------------------------
// The model's DistinguishedName

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

/**
 * A decoded Name, flat: `type, oid, value` for each attribute in DER order, and where each RDN
 * starts when one holds more than one attribute (else null: one RDN per attribute, the usual case).
 */
export interface DecodedName {
  readonly attributes: string[];
  readonly rdnStarts: number[] | null;
  readonly rfc4514: string;
}

function decodeAttribute(der: Buffer, typeTlv: Tlv, valueTlv: Tlv): { attribute: NameAttribute; rfc4514: string } {
  const oid = decodeOid(der, typeTlv.valueStart, typeTlv.end);
  const text = decodeString(der, valueTlv);
  const inTable = RFC4514_TYPES.has(oid);
  // RFC 4514 §2.4: a value whose type is written as an OID, or that has no string form, is
  // written as `#` and the hex of its BER. Non-string values use the same form in `value`.
  const berHex = text === undefined || !inTable ? `#${hex(der, valueTlv.start, valueTlv.end)}` : '';
  const rfcType = inTable ? MODEL_NAMES.get(oid)! : oid;
  const rfcValue = text !== undefined && inTable ? escapeRfc4514Value(text) : berHex;
  return {
    attribute: { type: MODEL_NAMES.get(oid) ?? oid, oid, value: text ?? berHex },
    rfc4514: `${rfcType}=${rfcValue}`,
  };
}

export function decodeName(der: Buffer, name: Tlv): DecodedName {
  const attributes: string[] = [];
  const starts: number[] = [];
  const rfc4514: string[][] = [];
  forEachAttribute(der, name, (rdn, type, value) => {
    const { attribute, rfc4514: text } = decodeAttribute(der, type, value);
    if (rfc4514[rdn] === undefined) {
      starts.push(attributes.length / 3);
      rfc4514[rdn] = [];
    }
    attributes.push(attribute.type, attribute.oid, attribute.value);
    rfc4514[rdn]!.push(text);
  });
  return {
    attributes,
    rdnStarts: starts.length === attributes.length / 3 ? null : starts,
    rfc4514: rfc4514
      .map((rdn) => rdn.join('+'))
      .reverse()
      .join(','),
  };
}

const NO_ATTRIBUTES: readonly NameAttribute[] = Object.freeze([]);

/**
 * A decoded Name. `rdns`/`attributes` are in DER order; the RFC 4514 string is reversed.
 * Frozen (names are shared by every request that sees the certificate). Kept flat — the
 * attributes as one array of strings — because a fleet's cache holds one per client: the
 * attribute objects are made only when `rdns` or `attributes` is read.
 */
export class Name implements DistinguishedName {
  readonly rfc4514: string;
  /** `type, oid, value` per attribute, in DER order. */
  readonly #flat: readonly string[];
  readonly #rdnStarts: readonly number[] | null;
  // Private fields can still be written on the frozen object.
  #rdns: readonly (readonly NameAttribute[])[] | undefined;
  #attributes: readonly NameAttribute[] | undefined;

  constructor(decoded: DecodedName) {
    this.rfc4514 = decoded.rfc4514;
    this.#flat = Object.freeze(decoded.attributes);
    this.#rdnStarts = decoded.rdnStarts === null ? null : Object.freeze(decoded.rdnStarts);
    Object.freeze(this);
  }

  get attributes(): readonly NameAttribute[] {
    let attributes = this.#attributes;
    if (attributes === undefined) {
      const flat = this.#flat;
      const made: NameAttribute[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        made.push(Object.freeze({ type: flat[i]!, oid: flat[i + 1]!, value: flat[i + 2]! }));
      }
      this.#attributes = attributes = made.length === 0 ? NO_ATTRIBUTES : Object.freeze(made);
    }
    return attributes;
  }

  get rdns(): readonly (readonly NameAttribute[])[] {
    let rdns = this.#rdns;
    if (rdns === undefined) {
      const attributes = this.attributes;
      const starts = this.#rdnStarts;
      const made: (readonly NameAttribute[])[] = [];
      if (starts === null) for (const attribute of attributes) made.push(Object.freeze([attribute]));
      else {
        for (let r = 0; r < starts.length; r++) {
          made.push(Object.freeze(attributes.slice(starts[r], starts[r + 1] ?? attributes.length)));
        }
      }
      this.#rdns = rdns = Object.freeze(made);
    }
    return rdns;
  }

  /** A loop over the flat array: names have a handful of attributes, and this runs per request. */
  get(type: string): string | undefined {
    const oid = resolveAttributeType(type);
    if (oid === undefined) return undefined;
    const flat = this.#flat;
    for (let i = 1; i < flat.length; i += 3) if (flat[i] === oid) return flat[i + 1];
    return undefined;
  }

  getAll(type: string): string[] {
    const oid = resolveAttributeType(type);
    const values: string[] = []; // the caller's own array
    if (oid === undefined) return values;
    const flat = this.#flat;
    for (let i = 1; i < flat.length; i += 3) if (flat[i] === oid) values.push(flat[i + 1]!);
    return values;
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
// Names for comparison (path validation)

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
  const rdns: string[][] = [];
  const emails: string[] = [];
  forEachAttribute(der, name, (rdn, type, value) => {
    const oid = decodeOid(der, type.valueStart, type.end);
    const text = decodeString(der, value);
    if (oid === Oid.emailAddress && text !== undefined) emails.push(text);
    // JSON quoting keeps the key unambiguous whatever the value contains; `#` marks DER.
    const comparable =
      text === undefined ? `#${hex(der, value.start, value.end)}` : JSON.stringify(normalizeDirectoryString(text));
    (rdns[rdn] ??= []).push(`${oid}=${comparable}`);
  });
  const keys = rdns.map((attributes) => attributes.sort().join('+'));
  return { rdns: keys, key: keys.join(','), emails };
}

// ---------------------------------------------------------------------------------------------
// RFC 2253, as OpenSSL prints it

const HEX = '0123456789ABCDEF';

function hexByte(byte: number): string {
  return HEX[byte >> 4]! + HEX[byte & 0xf]!;
}

/**
 * A Name as `X509_NAME_print_ex(name, 0, XN_FLAG_RFC2253)` prints it (Envoy's
 * `getRFC2253NameFromCertificate`): RDNs most specific first, joined with `,`, the values of a
 * multi-valued RDN joined with `+` (also in reverse encoded order), `type=value` with the
 * `openssl` short names of attributes.ts; string values converted to UTF-8 with every byte above
 * 0x7F and every control character as `\XX`, `\` `"` `,` `+` `<` `>` `;` backslash-escaped, and a
 * leading `#` or space and a trailing space too; other types, and values of non-string types,
 * dumped as `#` and upper-case hex DER. Pure ASCII, so always safe inside a header. The caller
 * has parsed the certificate, so the DER is well formed.
 */
export function opensslRfc2253(der: Buffer, name: Tlv): string {
  const avas: Array<{ rdn: number; text: string }> = [];
  forEachAttribute(der, name, (rdn, type, value) => {
    const oid = decodeOid(der, type.valueStart, type.end);
    const short = OPENSSL_SHORT_NAMES.get(oid);
    avas.push({ rdn, text: short === undefined ? `${oid}=${dump(der, value)}` : `${short}=${printValue(der, value)}` });
  });
  let out = '';
  for (let i = avas.length - 1; i >= 0; i--) {
    const ava = avas[i]!;
    if (i < avas.length - 1) out += avas[i + 1]!.rdn === ava.rdn ? '+' : ',';
    out += ava.text;
  }
  return out;
}

/** `#` and the upper-case hex of the whole DER value (`ASN1_STRFLGS_DUMP_DER`). */
function dump(der: Buffer, value: Tlv): string {
  let out = '#';
  for (let i = value.start; i < value.end; i++) out += hexByte(der[i]!);
  return out;
}

/** The characters of a string value, as BoringSSL decodes each string type; null for other types. */
function codePoints(der: Buffer, value: Tlv): number[] | null {
  const { valueStart: s, end: e } = value;
  const points: number[] = [];
  switch (value.tag) {
    case Tag.UTF8_STRING:
      for (const ch of der.toString('utf8', s, e)) points.push(ch.codePointAt(0)!);
      return points;
    case Tag.NUMERIC_STRING:
    case Tag.PRINTABLE_STRING:
    case Tag.TELETEX_STRING:
    case Tag.IA5_STRING:
    case Tag.UTC_TIME:
    case Tag.GENERALIZED_TIME:
    case Tag.VISIBLE_STRING:
      for (let i = s; i < e; i++) points.push(der[i]!); // Latin-1
      return points;
    case Tag.BMP_STRING:
      for (let i = s; i + 1 < e; i += 2) points.push((der[i]! << 8) | der[i + 1]!);
      return points;
    case Tag.UNIVERSAL_STRING:
      for (let i = s; i + 3 < e; i += 4)
        points.push(((der[i]! << 24) | (der[i + 1]! << 16) | (der[i + 2]! << 8) | der[i + 3]!) >>> 0);
      return points;
    default:
      return null;
  }
}

/** UTF-8 bytes of one code point (surrogates included, as OpenSSL's UTF8_putc writes them). */
function utf8(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/** BoringSSL `do_buf` + `do_esc_char` with ESC_2253 | ESC_CTRL | ESC_MSB | UTF8_CONVERT. */
function printValue(der: Buffer, value: Tlv): string {
  const points = codePoints(der, value);
  if (points === null) return dump(der, value); // ASN1_STRFLGS_DUMP_UNKNOWN
  let out = '';
  for (let i = 0; i < points.length; i++) {
    const bytes = utf8(points[i]!);
    for (let j = 0; j < bytes.length; j++) {
      const byte = bytes[j]!;
      const first = i === 0 && j === 0;
      const last = i === points.length - 1 && j === bytes.length - 1;
      const ch = String.fromCharCode(byte);
      if (byte > 0x7f || byte < 0x20 || byte === 0x7f) out += `\\${hexByte(byte)}`;
      else if (ch === '\\' || ch === '"' || ',+<>;'.includes(ch)) out += `\\${ch}`;
      else if ((first && (ch === ' ' || ch === '#')) || (last && ch === ' ')) out += `\\${ch}`;
      else out += ch;
    }
  }
  return out;
}
