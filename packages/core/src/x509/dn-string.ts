/**
 * Distinguished names written as text (RFC 4514, and the RFC 2253 that OpenSSL and the proxies
 * built on it print), parsed into RDNs of `{ oid, value }` so they compare as names, never as
 * strings. Two readers use it: the `subject`/`issuer` rules (configuration, authorize/) and the
 * DN headers in which a proxy describes the certificate it forwards (sources/proxy-description.ts).
 *
 * The parser is one left-to-right pass over char codes: runs of plain characters are sliced whole,
 * so a long value (a proxy's DN header) costs no allocation per character and work is linear.
 * Every problem is an `invalid_option` error naming `option`, since the first reader is
 * configuration; the header reader takes any error to mean "not a name".
 */
import { TextDecoder } from 'node:util';
import { hexValue } from '../encoding/percent.js';
import { invalidOption } from '../errors.js';
import { DOTNET_NAMES, NAME_ALIASES } from './attributes.js';
import { decodeString, isDottedOid, readTlv } from './der.js';

export interface DnAttribute {
  readonly oid: string;
  readonly value: string;
}

/** Attribute type names (lower-case) → OID: RFC 4514/4519 names, long forms, and .NET's letters. */
const TYPE_NAMES: ReadonlyMap<string, string> = new Map([...NAME_ALIASES, ...DOTNET_NAMES]);

/**
 * The OID of an attribute type as written in a DN string: a dotted OID (also as RFC 1779's and
 * .NET's `OID.2.5.4.3`), a name of TYPE_NAMES, or one of `extraTypes` (lower-case → OID).
 * Types compare case-insensitively.
 */
export function attributeOid(type: string, option: string, extraTypes?: ReadonlyMap<string, string>): string {
  const bare = type.length > 4 && type.slice(0, 4).toLowerCase() === 'oid.' ? type.slice(4) : type;
  const oid = isDottedOid(bare) ? bare : (TYPE_NAMES.get(type.toLowerCase()) ?? extraTypes?.get(type.toLowerCase()));
  if (oid === undefined) throw invalidOption(option, `has an unknown attribute type "${type}" (use a dotted OID)`);
  return oid;
}

/**
 * A `#hex` value (RFC 4514 §2.4, the BER of the value) as the certificate model holds it: a string
 * type as its text (so copying `cert.subject.rfc4514`, which writes e.g. emailAddress this way,
 * round-trips), any other type as `#` and lower-case hex, the way `NameAttribute.value` carries it.
 * Undefined when `hex` is not whole hex pairs holding exactly one BER value.
 */
export function hexAttributeValue(hex: string): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
  for (let i = 0; i < hex.length; i++) if (hexValue(hex.charCodeAt(i)) < 0) return undefined;
  const ber = Buffer.from(hex, 'hex');
  try {
    const tlv = readTlv(ber, 0, ber.length);
    if (tlv.end !== ber.length) return undefined;
    return decodeString(ber, tlv) ?? `#${hex.toLowerCase()}`;
  } catch {
    return undefined;
  }
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

/**
 * Parses an RFC 4514 DN string into RDNs in DER order (the string lists the most specific first).
 * `extraTypes` (lower-case name → OID) adds attribute names beyond TYPE_NAMES, such as the
 * ones OpenSSL writes.
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

// ---------------------------------------------------------------------------------------------
// Values

const utf8 = new TextDecoder('utf-8', { fatal: true });
const RFC4514_ESCAPABLE = ' "#+,;<=>\\';
const SURROGATE = /[\uD800-\uDFFF]/;

const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const PLUS = 0x2b;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

function skipSpaces(text: string, pos: number): number {
  while (text[pos] === ' ') pos++;
  return pos;
}

function hexValueOrThrow(hex: string, option: string): string {
  const value = hexAttributeValue(hex);
  if (value !== undefined) return value;
  for (let i = 0; i < hex.length; i++) {
    if (hexValue(hex.charCodeAt(i)) < 0) throw invalidOption(option, 'has a "#" value that is not hex');
  }
  if (hex.length === 0 || hex.length % 2 !== 0) throw invalidOption(option, 'has a "#" value that is not hex');
  throw invalidOption(option, 'has a "#" value that is not one BER-encoded value');
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
 * unless escaped. Consecutive `\hh` escapes are decoded together (a UTF-8 character spans several).
 */
function readValue(text: string, start: number, option: string): { value: string; end: number } {
  if (text.charCodeAt(start) === HASH) {
    let end = start + 1;
    for (
      let c = text.charCodeAt(end);
      end < text.length && c !== COMMA && c !== PLUS && c !== SPACE;
      c = text.charCodeAt(++end)
    );
    return { value: hexValueOrThrow(text.slice(start + 1, end), option), end };
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
      const high = hexValue(text.charCodeAt(pos + 1));
      const low = high < 0 ? -1 : hexValue(text.charCodeAt(pos + 2));
      if (low >= 0) {
        (escaped ??= []).push(high * 16 + low);
        pos += 3;
      } else {
        if (escaped !== null) value += decodeEscapedBytes(escaped, option);
        escaped = null;
        value += escapedCharacter(text, pos, option);
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

/** The character a `\x` escape at `pos` stands for; only RFC 4514's special characters may be escaped. */
function escapedCharacter(text: string, pos: number, option: string): string {
  const next = text[pos + 1];
  if (next === undefined || !RFC4514_ESCAPABLE.includes(next)) {
    throw invalidOption(
      option,
      'has an invalid "\\" escape (escape a space or one of "#+,;<=>\\, or give two hex digits)',
    );
  }
  return next;
}
