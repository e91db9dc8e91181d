/**
 * Times: DER UTCTime / GeneralizedTime values read strictly, for a certificate's validity period
 * and for CRLs and OCSP responses.
 */
import { DerCursor, malformed, Tag, type Tlv } from './der.js';

/** A certificate's validity period (notBefore and notAfter) in ms since the epoch, to the whole second. */
export interface ValidityWindow {
  readonly from: number;
  readonly until: number;
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

/**
 * A certificate's Validity ::= SEQUENCE { notBefore Time, notAfter Time }, read from the DER (the
 * `validity` field `readTbs` located). Kept per certificate by its record (facts.ts).
 */
export function readValidityWindow(der: Buffer, validity: Tlv): ValidityWindow {
  const times = DerCursor.inside(der, validity);
  const from = readDerTime(der, times.next('notBefore'), 'notBefore');
  const until = readDerTime(der, times.next('notAfter'), 'notAfter');
  times.finish('validity');
  return { from, until };
}
