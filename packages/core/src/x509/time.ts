/**
 * Times: the validity window of a certificate object (as node:crypto reports it), and DER
 * UTCTime / GeneralizedTime values (CRLs, OCSP responses) read strictly.
 */
import type { X509Certificate } from 'node:crypto';
import { malformed, Tag, type Tlv } from './der.js';

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

export function parseOpenSslTime(text: string): Date {
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

/**
 * The validity window of `x509`. Node 22.10+ has Date getters; Node 20 only the printed strings.
 * Kept per certificate object by facts.ts (`factsOf(x509).validity`).
 */
export function readValidity(x509: X509Certificate): ValidityWindow {
  const dated = x509 as X509Certificate & { validFromDate?: unknown; validToDate?: unknown };
  return dated.validFromDate instanceof Date && dated.validToDate instanceof Date
    ? { from: dated.validFromDate.getTime(), until: dated.validToDate.getTime() }
    : { from: parseOpenSslTime(x509.validFrom).getTime(), until: parseOpenSslTime(x509.validTo).getTime() };
}

const UTC_TIME_TEXT = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/;
const GENERALIZED_TIME_TEXT = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d*[1-9])?Z$/;

/** X.509 Time (UTCTime or GeneralizedTime, `Z` only) as ms since the epoch, to the second. */
export function readDerTime(buf: Buffer, tlv: Tlv, what: string): number {
  if (tlv.end - tlv.valueStart > 32) throw malformed(`${what} is too long`);
  const text = buf.toString('latin1', tlv.valueStart, tlv.end);
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === Tag.UTC_TIME) {
    match = UTC_TIME_TEXT.exec(text);
    if (match === null) throw malformed(`${what} is not a valid UTCTime`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === Tag.GENERALIZED_TIME) {
    match = GENERALIZED_TIME_TEXT.exec(text);
    if (match === null) throw malformed(`${what} is not a valid GeneralizedTime`);
    year = Number(match[1]);
    if (year < 1950) throw malformed(`${what} is out of range`);
  } else {
    throw malformed(`${what} is not a time`);
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  const calendar = month >= 1 && month <= 12 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!calendar || hour > 23 || minute > 59 || second > 59) throw malformed(`${what} is not a valid date`);
  return ms;
}
