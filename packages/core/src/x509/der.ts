/**
 * A tiny, strict DER reader for the parts of a certificate that node:crypto does not expose in
 * structured form (names as RDN sets, subjectAltName entries).
 *
 * Everything read here is attacker-controlled, so every read is bounds-checked against the
 * enclosing value, only definite minimal-length DER encodings are accepted, and every failure is a
 * `ClientCertError('certificate_malformed')`. There is no recursion: callers walk the structures
 * they expect with a cursor, one level at a time.
 */
import { isUtf8 } from 'node:buffer';
import { isVisibleAscii } from '../encoding/text.js';
import { ClientCertError } from '../errors.js';

/** Identifier octets of the universal types this package reads. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * The identifier octet of a context-specific tag `[n]` (n < 31): constructed for EXPLICIT tags
 * and implicitly tagged SEQUENCEs, primitive for implicitly tagged primitive types.
 */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One tag-length-value, as offsets into the buffer it was read from. */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly valueStart: number;
  /** Offset just after the last content octet. */
  readonly end: number;
}

const MALFORMED_PREFIX = 'malformed certificate: ';

/** The error every malformed input turns into; `message` never contains input bytes. */
export function malformed(message: string, cause?: unknown): ClientCertError {
  return new ClientCertError(
    'certificate_malformed',
    `${MALFORMED_PREFIX}${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** What `malformed` was told: the reason alone, for a caller that words its own sentence. */
export function malformedReason(error: Error): string {
  return error.message.startsWith(MALFORMED_PREFIX) ? error.message.slice(MALFORMED_PREFIX.length) : error.message;
}

/** Lengths above 4 octets would describe values larger than any certificate we accept. */
const MAX_LENGTH_OCTETS = 4;
/** Real OIDs are well under 100 octets; the cap keeps big-number arithmetic bounded. */
const MAX_OID_OCTETS = 255;

/**
 * Reads one TLV starting at `offset` whose encoding must end at or before `limit`.
 * Rejects high tag numbers (not used in certificates), indefinite and non-minimal lengths.
 */
export function readTlv(buf: Buffer, offset: number, limit: number): Tlv {
  if (limit > buf.length || offset + 2 > limit) throw malformed('unexpected end of data');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag numbers are not supported');
  const first = buf[offset + 1]!;
  let valueStart = offset + 2;
  let length = first;
  if (first === 0x80) throw malformed('indefinite length is not allowed in DER');
  if (first > 0x80) {
    const count = first & 0x7f;
    if (count > MAX_LENGTH_OCTETS) throw malformed('length field too large');
    if (valueStart + count > limit) throw malformed('truncated length field');
    if (buf[valueStart] === 0) throw malformed('non-minimal length encoding');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[valueStart + i]!;
    if (length < 0x80) throw malformed('non-minimal length encoding');
    valueStart += count;
  }
  if (length > limit - valueStart) throw malformed('length exceeds the enclosing data');
  return { tag, start: offset, valueStart, end: valueStart + length };
}

/**
 * Walks the elements of one constructed value (or a whole buffer) in order. A cursor never
 * reads outside `[pos, end)`, so nested cursors cannot overrun their parent.
 */
export class DerCursor {
  private pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** A cursor over the contents of `tlv`, which must have been read from the same buffer. */
  static inside(buf: Buffer, tlv: Tlv): DerCursor {
    return new DerCursor(buf, tlv.valueStart, tlv.end);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The identifier octet of the next element, or undefined at the end. */
  peekTag(): number | undefined {
    return this.done ? undefined : this.buf[this.pos];
  }

  /** Reads the next element, whatever its tag. */
  next(what: string): Tlv {
    if (this.done) throw malformed(`missing ${what}`);
    const tlv = readTlv(this.buf, this.pos, this.end);
    this.pos = tlv.end;
    return tlv;
  }

  /** Reads the next element and requires its identifier octet to be `tag`. */
  expect(tag: number, what: string): Tlv {
    const tlv = this.next(what);
    if (tlv.tag !== tag) throw malformed(`unexpected tag for ${what}`);
    return tlv;
  }

  /** Reads the next element only when it has identifier octet `tag`. */
  optional(tag: number, what: string): Tlv | undefined {
    return this.peekTag() === tag ? this.next(what) : undefined;
  }

  /** Requires that nothing follows the elements read so far. */
  finish(what: string): void {
    if (!this.done) throw malformed(`unexpected data after ${what}`);
  }
}

/**
 * Checks OBJECT IDENTIFIER contents: non-empty, bounded, every arc minimally encoded (no leading
 * 0x80 group) and the last arc terminated.
 */
export function checkOid(buf: Buffer, start: number, end: number): void {
  if (end <= start) throw malformed('empty object identifier');
  if (end - start > MAX_OID_OCTETS) throw malformed('object identifier too long');
  if ((buf[end - 1]! & 0x80) !== 0) throw malformed('truncated object identifier');
  let arcStart = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    if (arcStart && byte === 0x80) throw malformed('non-minimal object identifier arc');
    arcStart = (byte & 0x80) === 0;
  }
}

/**
 * Decodes OBJECT IDENTIFIER contents to dotted form. Arcs are decoded with doubles while they fit
 * exactly and with BigInt beyond that (UUID arcs under 2.25 are 128-bit).
 */
export function decodeOid(buf: Buffer, start: number, end: number): string {
  checkOid(buf, start, end);
  // Fast path for the X.520 attribute types (2.5.4.x) that make up most of every name, and the
  // certificate extensions (2.5.29.x) that make up most of every extension list.
  if (end - start === 3 && buf[start] === 0x55 && buf[start + 2]! < 0x80) {
    if (buf[start + 1] === 0x04) return `2.5.4.${buf[start + 2]!}`;
    if (buf[start + 1] === 0x1d) return `2.5.29.${buf[start + 2]!}`;
  }
  const arcs: string[] = [];
  let pos = start;
  while (pos < end) {
    // Each arc is base-128, most significant group first.
    let small = 0;
    let big: bigint | undefined;
    let byte: number;
    do {
      byte = buf[pos++]!;
      if (big === undefined && small >= 2 ** 45) big = BigInt(small);
      if (big === undefined) small = small * 128 + (byte & 0x7f);
      else big = (big << 7n) | BigInt(byte & 0x7f);
    } while ((byte & 0x80) !== 0);
    if (arcs.length === 0) {
      // The first encoded arc packs the first two arcs as 40 * first + second.
      if (big === undefined && small < 80) arcs.push(String(Math.floor(small / 40)), String(small % 40));
      else arcs.push('2', String(big === undefined ? small - 80 : big - 80n));
    } else {
      arcs.push(String(big ?? small));
    }
  }
  return arcs.join('.');
}

/** Reads the next element, which must be an OBJECT IDENTIFIER, in dotted form. */
export function readOid(buf: Buffer, cursor: DerCursor, what: string): string {
  const tlv = cursor.expect(Tag.OID, what);
  return decodeOid(buf, tlv.valueStart, tlv.end);
}

/** The one element `buf` holds, which must be a SEQUENCE spanning all of it. */
export function readWholeSequence(buf: Buffer, what: string): Tlv {
  if (buf.length === 0) throw malformed(`empty ${what}`);
  const top = readTlv(buf, 0, buf.length);
  if (top.tag !== Tag.SEQUENCE || top.end !== buf.length) throw malformed(`${what} is not one DER SEQUENCE`);
  return top;
}

/** The one element inside an EXPLICIT tag `[n]`, which must have `tag`. */
export function unwrapExplicit(buf: Buffer, explicit: Tlv, tag: number, what: string): Tlv {
  const wrapper = DerCursor.inside(buf, explicit);
  const inner = wrapper.expect(tag, what);
  wrapper.finish(what);
  return inner;
}

function checkBytes(buf: Buffer, start: number, end: number, allowed: (c: number) => boolean): void {
  for (let i = start; i < end; i++) {
    if (!allowed(buf[i]!)) throw malformed('invalid character in a restricted string type');
  }
}

/** BMPString is UTF-16BE: even length, surrogates only as complete pairs. */
function checkUtf16Be(buf: Buffer, start: number, end: number): void {
  if ((end - start) % 2 !== 0) throw malformed('odd length BMPString');
  for (let i = start; i < end; i += 2) {
    const unit = (buf[i]! << 8) | buf[i + 1]!;
    if (unit >= 0xdc00 && unit <= 0xdfff) throw malformed('invalid BMPString');
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = i + 3 < end ? (buf[i + 2]! << 8) | buf[i + 3]! : 0;
      if (next < 0xdc00 || next > 0xdfff) throw malformed('invalid BMPString');
      i += 2;
    }
  }
}

/** UniversalString is UTF-32BE: whole code points, no surrogates, at most U+10FFFF. */
function checkUtf32Be(buf: Buffer, start: number, end: number): void {
  if ((end - start) % 4 !== 0) throw malformed('UniversalString length is not a multiple of 4');
  for (let i = start; i < end; i += 4) {
    const cp = codePointAt(buf, i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw malformed('invalid UniversalString');
  }
}

function codePointAt(buf: Buffer, i: number): number {
  return ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
}

const isAscii = (c: number): boolean => c < 0x80;
const isNumeric = (c: number): boolean => c === 0x20 || (c >= 0x30 && c <= 0x39);

/**
 * Checks the contents of a string-typed TLV and returns true, or returns false when `tlv` is not
 * one of the string types used in names. This is the whole validation `decodeString` relies on,
 * so callers can validate eagerly and decode later without a second failure point.
 * PrintableString is only required to be 7-bit: widely deployed CAs put `*`, `@` or `_` in it,
 * and OpenSSL accepts them too.
 */
export function checkString(buf: Buffer, tlv: Tlv): boolean {
  const { valueStart: s, end: e } = tlv;
  switch (tlv.tag) {
    case Tag.UTF8_STRING:
      if (!isUtf8(buf.subarray(s, e))) throw malformed('invalid UTF-8 in a UTF8String');
      return true;
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
      checkBytes(buf, s, e, isAscii);
      return true;
    case Tag.NUMERIC_STRING:
      checkBytes(buf, s, e, isNumeric);
      return true;
    case Tag.VISIBLE_STRING:
      checkBytes(buf, s, e, isVisibleAscii);
      return true;
    case Tag.TELETEX_STRING:
      return true; // read as latin1: every byte is a character
    case Tag.BMP_STRING:
      checkUtf16Be(buf, s, e);
      return true;
    case Tag.UNIVERSAL_STRING:
      checkUtf32Be(buf, s, e);
      return true;
    default:
      return false;
  }
}

/** Decodes a string-typed TLV (see `checkString`), or returns undefined for other types. */
export function decodeString(buf: Buffer, tlv: Tlv): string | undefined {
  if (!checkString(buf, tlv)) return undefined;
  const { valueStart: s, end: e } = tlv;
  switch (tlv.tag) {
    case Tag.UTF8_STRING:
      return buf.toString('utf8', s, e);
    case Tag.BMP_STRING:
      return Buffer.from(buf.subarray(s, e)).swap16().toString('utf16le'); // copy, then swap
    case Tag.UNIVERSAL_STRING: {
      let out = '';
      for (let i = s; i < e; i += 4) out += String.fromCodePoint(codePointAt(buf, i));
      return out;
    }
    default:
      return buf.toString('latin1', s, e); // the 7-bit types, and TeletexString as latin1
  }
}

/** Checks IA5String contents (as in subjectAltName entries), which must be 7-bit. */
export function checkIa5(buf: Buffer, tlv: Tlv): void {
  checkBytes(buf, tlv.valueStart, tlv.end, isAscii);
}

/** Decodes IA5String contents. */
export function decodeIa5(buf: Buffer, tlv: Tlv): string {
  checkIa5(buf, tlv);
  return buf.toString('latin1', tlv.valueStart, tlv.end);
}

/** True for dotted-decimal OID text: digits separated by single dots, at least two arcs. */
export function isDottedOid(text: string): boolean {
  let arcs = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && digits > 0) {
      arcs++;
      digits = 0;
    } else return false;
  }
  return digits > 0 && arcs >= 1;
}

/** Lower-case hex of `buf[start, end)`. */
export function hex(buf: Buffer, start: number, end: number): string {
  return buf.toString('hex', start, end);
}

/**
 * Reads a DER BOOLEAN: one content octet, 0x00 or 0xFF (X.690 §11.1). Anything else is BER at
 * best, and a certificate that encodes its criticality or cA flag ambiguously is rejected.
 */
export function readBoolean(buf: Buffer, tlv: Tlv): boolean {
  if (tlv.end - tlv.valueStart !== 1) throw malformed('BOOLEAN must be one octet');
  const value = buf[tlv.valueStart]!;
  if (value !== 0x00 && value !== 0xff) throw malformed('non-DER BOOLEAN');
  return value === 0xff;
}

/**
 * Reads the contents of a non-negative, minimally encoded INTEGER (also used for implicitly
 * tagged ones, whose tag is not checked here). Values beyond `cap` are returned as `cap`: the
 * counters this reads (path lengths, skip counts) mean "unlimited" long before 2^31.
 */
export function readNonNegativeInteger(buf: Buffer, tlv: Tlv, cap = 0x7fffffff): number {
  const { valueStart: start, end } = tlv;
  if (end <= start) throw malformed('empty INTEGER');
  if ((buf[start]! & 0x80) !== 0) throw malformed('negative INTEGER where a count is expected');
  if (end - start > 1 && buf[start] === 0 && (buf[start + 1]! & 0x80) === 0) throw malformed('non-minimal INTEGER');
  let value = 0;
  for (let i = start; i < end; i++) {
    value = value * 256 + buf[i]!;
    if (value > cap) return cap;
  }
  return value;
}

/** True when two TLVs of the same buffer have identical encodings (tag, length and contents). */
export function sameEncoding(buf: Buffer, a: Tlv, b: Tlv): boolean {
  return a.end - a.start === b.end - b.start && buf.compare(buf, a.start, a.end, b.start, b.end) === 0;
}
