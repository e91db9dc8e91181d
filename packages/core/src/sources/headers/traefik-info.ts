/**
 * Traefik's `X-Forwarded-Tls-Client-Cert-Info`: Traefik's own description of the certificates it
 * forwarded, for display or correlation only (there is no certificate in it to verify).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PercentForm } from '../../encoding/percent.js';
import { COMMA, DQUOTE, isDigit, PERCENT, PLUS, SEMICOLON, SP } from '../../encoding/text.js';
import { compileLimits } from './compile.js';
import { headerPercentDecode } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource, HeaderSourceLimits } from './types.js';
import { checkValue, headerValue } from './value.js';

/**
 * One certificate as described by Traefik's `-Info` header. Only what Traefik selected is present.
 * This is Traefik's rendering, not the certificate: `subject`/`issuer` are Traefik's own
 * `K=V,K=V` text (selected attributes, unescaped, in Traefik's order — not RFC 4514), and a `,` or
 * `"` inside a value makes the header ambiguous. Use it for display or correlation, never as
 * proof of identity: there is no certificate here to verify.
 */
export interface TraefikCertInfo {
  subject?: string;
  issuer?: string;
  /** Decimal, as Traefik writes it. */
  serialNumber?: string;
  /** The same serial as upper-case hex with an even number of digits (`ClientCertificate.serialNumber`'s form). */
  serialNumberHex?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** DNS names, then e-mail addresses, then IPs, then URIs, as Traefik lists them (split on `,`). */
  san: string[];
}

/** Keys in Traefik's fixed order (getCertInfo); each at most once, in this order. */
const INFO_KEYS = ['Subject', 'Issuer', 'SerialNumber', 'NB', 'NA', 'SAN'] as const;
type InfoKey = (typeof INFO_KEYS)[number];

const INFO_HEADER_LABEL = 'x-forwarded-tls-client-cert-info';

/** Go's query escaping leaves these as they are; everything else is `%XX`, and a space is `+`. */
function isQueryUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    isDigit(c) ||
    c === 0x2d ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x7e
  );
}

const QUERY_ESCAPED: PercentForm = { output: 'utf8', bytes: 'any' };

/**
 * Go's `url.QueryUnescape`: `%XX` → byte, `+` → space (Traefik's `-Info` is query-escaped). The
 * wire form only contains `A–Z a–z 0–9 - _ . ~ +` and `%XX`; anything else is rejected, so an
 * unescaped value cannot be mistaken for an escaped one. The bytes must be UTF-8. The `+` become
 * spaces before percent-decoding, so that an escaped `%2B` stays `+`.
 */
function queryUnescape(header: string, value: string): string {
  let plus = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === PLUS) plus = true;
    else if (c !== PERCENT && !isQueryUnreserved(c)) {
      throw forwardedHeaderError(header, `character not produced by query escaping at position ${i}`);
    }
  }
  const spaced = plus ? value.replaceAll('+', ' ') : value;
  return headerPercentDecode(header, spaced, 0, spaced.length, QUERY_ESCAPED);
}

/**
 * Parses Traefik's `X-Forwarded-Tls-Client-Cert-Info` wire value (query-escaped, as Traefik
 * sends it) into one entry per certificate, leaf first. Grammar after unescaping:
 * `cert *( "," cert )`, `cert = field *( ";" field )`, `field = Key "=" DQUOTE *(not DQUOTE) DQUOTE`,
 * keys among Subject, Issuer, SerialNumber, NB, NA, SAN, each at most once and in that order
 * (Traefik's fixed order: a repeated or reordered key is how a value with an embedded `";` looks).
 * Throws (FORWARDED_HEADER_ERROR_CODE) on anything else, on control characters after unescaping,
 * and on more than `limits.maxChainLength` + 1 certificates.
 */
export function parseTraefikInfo(value: string, limits?: HeaderSourceLimits): TraefikCertInfo[] {
  return parseInfo(INFO_HEADER_LABEL, value, compileLimits(limits, 'limits'));
}

function parseInfo(header: string, value: string, lim: Readonly<Required<HeaderSourceLimits>>): TraefikCertInfo[] {
  if (typeof value !== 'string') throw forwardedHeaderError(header, 'value is not a string');
  checkValue(header, value, lim);
  const text = queryUnescape(header, value);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < SP || c === 0x7f) throw forwardedHeaderError(header, `control character at unescaped position ${i}`);
  }

  const entries: TraefikCertInfo[] = [];
  let pos = 0;
  let entry: TraefikCertInfo = { san: [] };
  let lastKey = -1;
  if (text.length === 0) return entries;
  for (;;) {
    const keyStart = pos;
    const eq = text.indexOf('=', pos);
    if (eq < 0) throw forwardedHeaderError(header, `field without "=" at unescaped position ${keyStart}`);
    const keyIndex = INFO_KEYS.indexOf(text.slice(keyStart, eq) as InfoKey);
    if (keyIndex < 0) throw forwardedHeaderError(header, `unknown field at unescaped position ${keyStart}`);
    if (keyIndex <= lastKey)
      throw forwardedHeaderError(header, `repeated or out-of-order field at unescaped position ${keyStart}`);
    lastKey = keyIndex;
    if (text.charCodeAt(eq + 1) !== DQUOTE)
      throw forwardedHeaderError(header, `unquoted value at unescaped position ${eq + 1}`);
    const close = text.indexOf('"', eq + 2);
    if (close < 0) throw forwardedHeaderError(header, `unterminated value at unescaped position ${eq + 1}`);
    setInfoField(header, entry, INFO_KEYS[keyIndex]!, text.slice(eq + 2, close), eq + 2);
    pos = close + 1;
    if (pos >= text.length) {
      entries.push(entry);
      return entries;
    }
    const separator = text.charCodeAt(pos);
    if (separator === COMMA) {
      entries.push(entry);
      if (entries.length > lim.maxChainLength) {
        throw forwardedHeaderError(
          header,
          `more than maxChainLength (${lim.maxChainLength}) certificates besides the leaf`,
        );
      }
      entry = { san: [] };
      lastKey = -1;
    } else if (separator !== SEMICOLON) {
      throw forwardedHeaderError(header, `unexpected character after a closing quote at unescaped position ${pos}`);
    }
    pos++;
  }
}

function setInfoField(header: string, entry: TraefikCertInfo, key: InfoKey, value: string, at: number): void {
  switch (key) {
    case 'Subject':
      entry.subject = value;
      return;
    case 'Issuer':
      entry.issuer = value;
      return;
    case 'SerialNumber': {
      // RFC 5280 serials are at most 20 octets (49 decimal digits); allow non-conforming ones up to 100.
      if (!isDigits(value, 100))
        throw forwardedHeaderError(header, `SerialNumber is not a decimal number at unescaped position ${at}`);
      entry.serialNumber = value;
      const hex = BigInt(value).toString(16).toUpperCase();
      entry.serialNumberHex = hex.length % 2 === 0 ? hex : `0${hex}`;
      return;
    }
    case 'NB':
    case 'NA': {
      if (!isDigits(value, 12))
        throw forwardedHeaderError(header, `${key} is not Unix seconds at unescaped position ${at}`);
      const date = new Date(Number(value) * 1000);
      if (Number.isNaN(date.getTime()))
        throw forwardedHeaderError(header, `${key} is out of range at unescaped position ${at}`);
      if (key === 'NB') entry.notBefore = date;
      else entry.notAfter = date;
      return;
    }
    case 'SAN':
      entry.san = value === '' ? [] : value.split(',');
      return;
  }
}

function isDigits(value: string, maxLength: number): boolean {
  if (value.length === 0 || value.length > maxLength) return false;
  for (let i = 0; i < value.length; i++) if (!isDigit(value.charCodeAt(i))) return false;
  return true;
}

/**
 * The parsed `-Info` header of a compiled `traefik` source, or undefined when the source has no
 * info header or the request does not carry it. The integrator decides what info without a
 * certificate means; this library's recommendation: a certificate cannot be authenticated from
 * it, so it is at most a hint (log it, or expose it next to a null `clientCert`).
 */
export function readTraefikInfo(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
): TraefikCertInfo[] | undefined {
  if (source.infoHeader === null) return undefined;
  const value = headerValue(headers, source.infoHeader);
  if (value === undefined) return undefined;
  return parseInfo(source.infoHeader, value, source.limits);
}
