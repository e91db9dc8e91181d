/**
 * Forwarded client-certificate headers other than XFCC: pure decoders from request headers to DER.
 *
 * | source       | certificate header (default)                 | encoding                                               | chain |
 * | ------------ | -------------------------------------------- | ------------------------------------------------------ | ----- |
 * | `rfc9440`    | `client-cert` (+ `client-cert-chain`)        | RFC 8941 byte sequence `:base64(DER):`; chain an SF list | separate header, leaf excluded |
 * | `traefik`    | `x-forwarded-tls-client-cert` (+ `-info`)    | base64 DER per certificate, `,`-joined (≤ v2.9.1 also query-escaped) | same header, leaf first |
 * | `url-pem`    | `ssl-client-cert`                            | percent-encoded PEM (nginx `$ssl_client_escaped_cert`), or raw PEM with line breaks folded to spaces (Apache), `(null)` = none | none (leaf only) |
 * | `base64-der` | `x-client-cert`                              | strict base64 of the DER (App Service, ASP.NET, Cloudflare, Caddy, HAProxy); Caddy's unresolved placeholder = none | optional header: base64 of concatenated DER (HAProxy `ssl_c_chain_der`) |
 * | `aws-alb`    | `x-amzn-mtls-clientcert` (passthrough) / `x-amzn-mtls-clientcert-leaf` (verify) | percent-encoded PEM, `+ = /` possibly left unencoded | passthrough: same header, leaf first |
 * | custom       | any                                          | `decode(value) => Buffer \| Buffer[] \| undefined`     | from `decode` |
 *
 * Rules shared by every source (each one a decision, see the README of the integration):
 * - Percent-decoding never turns `+` into a space: `+` is a base64 character in every format here
 *   (AWS leaves it unencoded, Traefik ≥ 2.9.2 never encodes). The one exception is Traefik's
 *   `-Info` header, which Go's `url.QueryEscape` writes with `+` for space ({@link parseTraefikInfo}).
 * - A header value is checked before any decoding: at most `limits.maxLength` characters, and only
 *   printable ASCII and HTAB (no CR/LF/NUL or other controls, no obs-text). An empty value is the
 *   same as an absent header (GCP and nginx leave empty headers when there is no certificate).
 * - Base64 is strict: standard alphabet only (no URL-safe `-_`), no whitespace, padding required
 *   (every emitter pads), except in RFC 8941 byte sequences, where RFC 8941 §4.2.7 asks parsers
 *   not to fail on missing padding, so unpadded is accepted there. `=` only at the end.
 * - Every certificate must be one DER SEQUENCE spanning its bytes exactly (outer framing checked
 *   here; the full X.509 parse is `parseCertificate`'s job, after this).
 * - A header that is the same certificate twice or two values joined (Node joins repeated header
 *   lines with `", "`) is rejected wherever the format does not allow it: RFC 9440 `Client-Cert`
 *   (`:a:, :b:`), base64 (a space is not base64), PEM sources (text other than whitespace
 *   between PEM blocks), Traefik (no whitespace after its `,`). `Client-Cert-Chain` may repeat.
 * - The returned chain never contains the leaf and is in the order sent; at most
 *   `limits.maxChainLength` certificates besides the leaf.
 * - Errors are `ClientCertError`s created by {@link forwardedHeaderError}: today code
 *   `forwarded_header_malformed` with `check: 'forwarded_header'` (see FORWARDED_HEADER_ERROR_CODE);
 *   messages name the header (configuration text) and a position, never header content.
 * - `describedBy`: headers in which the proxy also describes the certificate it forwarded (subject
 *   and issuer DN, serial, fingerprints). They are read here, raw (see ForwardedDescription), and
 *   compared with the parsed certificate by proxy-description.ts: a certificate header the proxy
 *   did not write (ingress-nginx without `auth-tls-pass-certificate-to-upstream` keeps a client's
 *   `ssl-client-cert`) then disagrees with what the proxy says about the client's real certificate.
 *
 * Scanners are single left-to-right passes (`indexOf` and character tests, no regular expressions
 * on header text), so work is linear in the capped header length.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  COLON,
  COMMA,
  DQUOTE,
  EQUALS,
  HTAB,
  isBase64Char,
  isDigit,
  isPemSpace,
  isTchar,
  PERCENT,
  PLUS,
  SEMICOLON,
  SP,
  skipOws,
} from '../encoding/text.js';
import { ClientCertError, type ErrorCode, invalidOption, isClientCertError } from '../errors.js';
import { readTlv } from '../x509/der.js';

// ---------------------------------------------------------------------------------------------
// Public types

/** Header formats this module decodes (XFCC lives in xfcc.ts). */
export type HeaderSourceName = 'rfc9440' | 'traefik' | 'url-pem' | 'base64-der' | 'aws-alb';

export const HEADER_SOURCE_NAMES: readonly HeaderSourceName[] = Object.freeze([
  'rfc9440',
  'traefik',
  'url-pem',
  'base64-der',
  'aws-alb',
]);

/**
 * What a proxy said about its own verification of this request's client certificate:
 * `verified` (e.g. nginx `SUCCESS`, HAProxy `0`, AWS ALB verify mode), `failed` (any other value
 * of a configured verify header, e.g. `FAILED:certificate has expired`, Apache `GENEROUS`), `none`
 * (the proxy says no certificate was presented, e.g. `NONE`).
 */
export type ProxyVerdict = 'verified' | 'failed' | 'none';

/** The fields a proxy can describe a forwarded certificate with, besides the certificate itself. */
export type DescriptionField = 'subjectDn' | 'issuerDn' | 'serial' | 'sha256' | 'sha1';

export const DESCRIPTION_FIELDS: readonly DescriptionField[] = Object.freeze([
  'subjectDn',
  'issuerDn',
  'serial',
  'sha256',
  'sha1',
]);

/**
 * Headers in which the proxy describes the certificate it forwards (`describedBy`). Names are
 * matched lower-case, as Node delivers them. Conventions:
 * - ingress-nginx: `ssl-client-subject-dn`, `ssl-client-issuer-dn` (nginx `$ssl_client_s_dn` /
 *   `$ssl_client_i_dn`, RFC 2253 with non-ASCII bytes as `\XX`); always sent with client auth on.
 * - nginx: any names for `$ssl_client_s_dn`, `$ssl_client_i_dn`, `$ssl_client_serial`,
 *   `$ssl_client_fingerprint` (SHA-1).
 * - AWS ALB verify mode: `x-amzn-mtls-clientcert-subject`, `-issuer`, `-serial-number`.
 * - Cloudflare managed transform: `cf-cert-sha256`, `cf-cert-sha1`, `cf-cert-serial`,
 *   `cf-cert-subject-dn-rfc2253`, `cf-cert-issuer-dn-rfc2253`.
 * - HAProxy: `%[ssl_c_s_dn(,0,rfc2253)]`, `%[ssl_c_i_dn(,0,rfc2253)]`, `%[ssl_c_serial,hex]`,
 *   `%[ssl_c_sha1,hex]` (the default one-line `/C=../CN=..` DN form cannot be compared).
 */
export interface DescriptionHeaders {
  /** The subject DN as an RFC 4514 / RFC 2253 string. */
  subjectDn?: string;
  /** The issuer DN as an RFC 4514 / RFC 2253 string. */
  issuerDn?: string;
  /** The serial number in hex (any case; leading zeros and `:` separators allowed). */
  serial?: string;
  /** Hex SHA-256 of the certificate's DER (any case, `:` separators allowed). */
  sha256?: string;
  /** Hex SHA-1 of the certificate's DER (nginx `$ssl_client_fingerprint`). */
  sha1?: string;
  /**
   * The proxy always sends these with a certificate it forwarded: a certificate header without
   * them did not come from the proxy and is refused. An absent subject header alone means an
   * empty subject (nginx and the others leave out a header whose value is empty).
   */
  required?: boolean;
}

/**
 * What the proxy said about the forwarded certificate: the raw values of the `describedBy`
 * headers that were present (attacker-proof only as far as the proxy overwrites them; never
 * echoed). Compare it with the parsed certificate with `descriptionMismatch` (proxy-description.ts).
 */
export type ForwardedDescription = { readonly [K in DescriptionField]?: string };

/** A certificate (and the chain presented with it) decoded from forwarded headers. */
export interface ForwardedCertificate {
  /** The source that decoded it (`custom` for a custom decoder). */
  readonly source: HeaderSourceName | 'custom';
  /** DER of the client's leaf certificate (outer framing checked, not yet parsed). */
  readonly leaf: Buffer;
  /** DER of the other presented certificates, in the order sent, never including the leaf. */
  readonly chain: readonly Buffer[];
  /**
   * The proxy's verdict when the source has one (a configured verify header, or `aws-alb` in
   * verify mode, which is always `verified`); `null` when the format carries none, or when a
   * configured verify header is absent (treat that as "not verified"). A certificate arriving
   * with a `none` verdict is never returned: that combination throws (see readHeaderSource).
   */
  readonly proxyVerdict: ProxyVerdict | null;
  /**
   * The proxy's description of the certificate, when the source has `describedBy` and at least
   * one of its headers was sent: it must agree with the certificate (`descriptionMismatch`).
   */
  readonly description?: ForwardedDescription;
}

/** A custom decoder: the header value (already length/character-checked) to DER. */
export type CustomHeaderDecoder = (
  value: string,
) => Buffer | Uint8Array | Array<Buffer | Uint8Array> | undefined | null;

export interface HeaderSourceLimits {
  /** Longest value accepted for any header of the source, in characters (default 65536). */
  maxLength?: number;
  /** Most certificates accepted besides the leaf (default 10). */
  maxChainLength?: number;
}

/**
 * 64 KiB: four times Node's default limit for the whole header section (16 KiB), as for XFCC, so it
 * never rejects what Node let through by default yet bounds the work when that limit is raised.
 */
export const DEFAULT_HEADER_SOURCE_LIMITS: Readonly<Required<HeaderSourceLimits>> = Object.freeze({
  maxLength: 65536,
  maxChainLength: 10,
});

/**
 * A header carrying the proxy's verification result. `success` values mean `verified`, `none`
 * values mean "no certificate was presented"; any other value (including a repeated header,
 * which Node joins with `", "`) means `failed`. Values are compared exactly (case-sensitive).
 * A string is shorthand for nginx's vocabulary: `{ name, success: ['SUCCESS'], none: ['NONE'] }`.
 */
export interface VerifyHeaderOption {
  name: string;
  success: readonly string[];
  none?: readonly string[];
}

interface CommonOptions {
  /** The certificate header (lower- or mixed-case; matched lower-case as Node delivers it). */
  header?: string;
  /** The proxy's verification header, if it sends one; see VerifyHeaderOption. */
  verifyHeader?: string | VerifyHeaderOption;
  /** Headers in which the proxy also describes the certificate; `false` for none. See DescriptionHeaders. */
  describedBy?: DescriptionHeaders | false;
  limits?: HeaderSourceLimits;
}

export interface Rfc9440SourceOptions extends CommonOptions {
  source: 'rfc9440';
  /** Default `client-cert-chain`; `false` to ignore the chain. */
  chainHeader?: string | false;
}

export interface TraefikSourceOptions extends CommonOptions {
  source: 'traefik';
  /** Default `x-forwarded-tls-client-cert-info` (read only by readTraefikInfo); `false` for none. */
  infoHeader?: string | false;
}

export interface UrlPemSourceOptions extends CommonOptions {
  source: 'url-pem';
}

export interface Base64DerSourceOptions extends CommonOptions {
  source: 'base64-der';
  /** A header with base64 of the other certificates' DER concatenated (HAProxy `%[ssl_c_chain_der,base64]`). No default. */
  chainHeader?: string | false;
}

export interface AwsAlbSourceOptions extends CommonOptions {
  source: 'aws-alb';
  /**
   * The listener's mutual-authentication mode (default `passthrough`). `passthrough` reads the
   * whole presented chain from `x-amzn-mtls-clientcert`, and the app must verify it (no verdict);
   * `verify` reads `x-amzn-mtls-clientcert-leaf`, which the ALB only sends for certificates it
   * verified (verdict `verified`). It must match the ALB: the ALB does not document removing
   * client-sent `X-Amzn-Mtls-*` headers, so reading the other mode's header reads the client's.
   */
  mode?: 'passthrough' | 'verify';
}

export interface CustomSourceOptions extends Omit<CommonOptions, 'header'> {
  source?: 'custom';
  header: string;
  decode: CustomHeaderDecoder;
}

export type HeaderSourceOptions =
  | Rfc9440SourceOptions
  | TraefikSourceOptions
  | UrlPemSourceOptions
  | Base64DerSourceOptions
  | AwsAlbSourceOptions
  | CustomSourceOptions;

interface CompiledVerifyHeader {
  readonly name: string;
  readonly success: readonly string[];
  readonly none: readonly string[];
}

/** `describedBy`, validated: lower-case header names (null where not configured). */
export type CompiledDescriptionHeaders = { readonly [K in DescriptionField]: string | null } & {
  readonly required: boolean;
};

/** A validated, frozen header source; build it once with {@link compileHeaderSource}. */
export interface CompiledHeaderSource {
  readonly source: HeaderSourceName | 'custom';
  /** The header whose presence means "a certificate was forwarded" (lower-case). */
  readonly header: string;
  readonly chainHeader: string | null;
  /** Traefik only: the `-Info` header, read by readTraefikInfo, never by readHeaderSource. */
  readonly infoHeader: string | null;
  readonly verifyHeader: CompiledVerifyHeader | null;
  /** aws-alb only. */
  readonly mode: 'passthrough' | 'verify' | null;
  /**
   * True when this source reports a verdict for each request (a verify header, or aws-alb verify
   * mode): then a missing or non-`verified` verdict must not count as proxy verification.
   */
  readonly hasVerdict: boolean;
  /** The proxy's description headers, or null. */
  readonly describedBy: CompiledDescriptionHeaders | null;
  /**
   * Every header this source reads, lower-case (description headers included): for the
   * trusted-proxy check, its reports, and the memo of decisions keyed by these headers' values.
   */
  readonly headers: readonly string[];
  readonly limits: Readonly<Required<HeaderSourceLimits>>;
  /** E.g. `rfc9440 (client-cert, client-cert-chain)`, for start-up reports. */
  readonly description: string;
  readonly decode: CustomHeaderDecoder | null;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The code this module's errors carry (the pipeline answers `client_certificate_malformed`). */
export const FORWARDED_HEADER_ERROR_CODE = 'forwarded_header_malformed' satisfies ErrorCode;
/** The code wanted in errors.ts (not accepted by ClientCertError's constructor type today). */
export type ForwardedHeaderErrorCode = 'forwarded_header_malformed';
/** `check` of every error this module throws. */
export const FORWARDED_HEADER_CHECK = 'forwarded_header';

/**
 * The error for a malformed forwarded header. `header` and `label` come from the configuration,
 * never from the request; `message` must not contain header text either.
 */
export function forwardedHeaderError(header: string, message: string, cause?: unknown): ClientCertError {
  return new ClientCertError(FORWARDED_HEADER_ERROR_CODE, `forwarded certificate header "${header}": ${message}`, {
    check: FORWARDED_HEADER_CHECK,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `check` of the refusal of a certificate header that came without the proxy's required description. */
export const PROXY_DESCRIPTION_CHECK = 'proxy.description';

const DESCRIPTION_MISSING_MESSAGE =
  "The forwarded certificate came without the proxy's description of it (its subject, issuer, serial or fingerprint " +
  'headers), so the proxy did not write it.';

/** True for errors thrown by this module (by code and check, so it survives duplicate copies). */
export function isForwardedHeaderError(error: unknown): error is ClientCertError {
  return (
    isClientCertError(error) && error.code === FORWARDED_HEADER_ERROR_CODE && error.check === FORWARDED_HEADER_CHECK
  );
}

// ---------------------------------------------------------------------------------------------
// Character classes (single-character tests only; the shared ones are in text.ts)

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** RFC 9110 token, lower-case (header names are matched as Node delivers them). */
function isHeaderName(name: string): boolean {
  if (name.length === 0 || name.length > 256) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isTchar(c) || (c >= 0x41 && c <= 0x5a)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading one header value

/**
 * One header's value, or undefined when absent or empty. Node delivers a string (repeated lines
 * joined with `", "`); a string array (from `headersDistinct` or a framework) of more than one
 * value is joined the same way, so the format decides whether repetition is legal.
 */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw: unknown = headers[name];
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) value = raw.join(', ');
  else return undefined; // absent (or an inherited property of a plain object: not a header)
  return value === '' ? undefined : value;
}

/** Length first (before any other work), then characters: printable ASCII and HTAB only. */
function checkValue(header: string, value: string, limits: Required<HeaderSourceLimits>): void {
  if (value.length > limits.maxLength) {
    throw forwardedHeaderError(header, `value exceeds maxLength (${limits.maxLength} characters)`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c > 0x7e) {
      throw forwardedHeaderError(header, `control or non-ASCII character at position ${i}`);
    }
  }
}

function readChecked(source: CompiledHeaderSource, headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headerValue(headers, name);
  if (value !== undefined) checkValue(name, value, source.limits);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Decoding primitives

/**
 * Strict base64 of `text[start, end)`: standard alphabet, `=` only at the end (at most two), no
 * whitespace. Padded: length a multiple of four. `allowUnpadded` (RFC 8941): a length whose
 * remainder is 2 or 3 is completed with `=`. Positions in errors are offsets in the header value.
 */
function decodeBase64(header: string, text: string, start: number, end: number, allowUnpadded: boolean): Buffer {
  let padding = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === EQUALS) {
      padding++;
      continue;
    }
    if (padding > 0) throw forwardedHeaderError(header, `base64 padding before the end at position ${i}`);
    if (!isBase64Char(c)) throw forwardedHeaderError(header, `invalid base64 character at position ${i}`);
  }
  const length = end - start;
  if (length === 0) throw forwardedHeaderError(header, `empty base64 at position ${start}`);
  if (padding > 2) throw forwardedHeaderError(header, `invalid base64 padding at position ${end - padding}`);
  const remainder = length % 4;
  if (padding > 0 || !allowUnpadded) {
    if (remainder !== 0)
      throw forwardedHeaderError(header, `base64 length is not a multiple of 4 at position ${start}`);
  } else if (remainder === 1) {
    throw forwardedHeaderError(header, `truncated base64 at position ${start}`);
  }
  return Buffer.from(text.slice(start, end), 'base64');
}

/** `der` must be exactly one DER SEQUENCE (a certificate's outer framing). */
function checkDer(header: string, der: Buffer, index: number): Buffer {
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== 0x30) throw forwardedHeaderError(header, `certificate ${index + 1} is not a DER certificate`);
    if (outer.end !== der.length) throw forwardedHeaderError(header, `trailing data after certificate ${index + 1}`);
    return der;
  } catch (error) {
    if (isForwardedHeaderError(error)) throw error;
    // der.ts messages describe the structure, never the bytes.
    throw forwardedHeaderError(header, `certificate ${index + 1} is not DER (${(error as Error).message})`, error);
  }
}

/** Concatenated DER certificates (HAProxy `ssl_c_chain_der`), split by their outer lengths. */
function splitConcatenatedDer(header: string, bytes: Buffer, max: number): Buffer[] {
  const ders: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    if (ders.length === max) throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates`);
    let end: number;
    try {
      const tlv = readTlv(bytes, offset, bytes.length);
      if (tlv.tag !== 0x30)
        throw forwardedHeaderError(header, `certificate ${ders.length + 1} is not a DER certificate`);
      end = tlv.end;
    } catch (error) {
      if (isForwardedHeaderError(error)) throw error;
      throw forwardedHeaderError(
        header,
        `certificate ${ders.length + 1} is not DER (${(error as Error).message})`,
        error,
      );
    }
    ders.push(bytes.subarray(offset, end));
    offset = end;
  }
  return ders;
}

/**
 * Percent-decoding with `decodeURIComponent`'s rules for `%XX` and none of form decoding's: `+`
 * stays `+`. `%` must be followed by two hex digits. The decoded bytes must be printable ASCII or
 * PEM whitespace (TAB, LF, CR): every format decoded this way is PEM text.
 */
function percentDecodePemText(header: string, value: string): string {
  if (!value.includes('%')) return value;
  let out = '';
  let chunk = 0;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) !== PERCENT) continue;
    const high = hexValue(value.charCodeAt(i + 1));
    const low = hexValue(value.charCodeAt(i + 2));
    if (i + 2 >= value.length || high < 0 || low < 0) {
      throw forwardedHeaderError(header, `invalid percent-encoding at position ${i}`);
    }
    const byte = high * 16 + low;
    if ((byte < SP && !isPemSpace(byte)) || byte > 0x7e) {
      throw forwardedHeaderError(header, `percent-encoded control or non-ASCII byte at position ${i}`);
    }
    out += value.slice(chunk, i) + String.fromCharCode(byte);
    i += 2;
    chunk = i + 1;
  }
  return out + value.slice(chunk);
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

/**
 * A sequence of `CERTIFICATE` PEM blocks and nothing else: only whitespace (SP, HTAB, CR, LF)
 * before, between and after them, and inside bodies (line breaks, or the spaces Apache and nginx
 * fold them into). Stricter than certificate.ts's reader on purpose: explanatory text between
 * blocks is legal in a PEM file but, in a header, is how two joined values look (`", "`).
 */
function strictPemCertificates(header: string, text: string, maxCertificates: number): Buffer[] {
  const ders: Buffer[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isPemSpace(text.charCodeAt(pos))) pos++;
    if (pos >= text.length) return ders;
    if (!text.startsWith(PEM_BEGIN, pos)) {
      throw forwardedHeaderError(header, `expected a "${PEM_BEGIN}" line at decoded position ${pos}`);
    }
    if (ders.length === maxCertificates) {
      throw forwardedHeaderError(header, `more than ${maxCertificates} certificate(s)`);
    }
    const bodyStart = pos + PEM_BEGIN.length;
    const end = text.indexOf(PEM_END, bodyStart);
    if (end < 0) throw forwardedHeaderError(header, `PEM block without an END line at decoded position ${pos}`);
    ders.push(checkDer(header, decodePemBody(header, text, bodyStart, end), ders.length));
    pos = end + PEM_END.length;
  }
}

/** A PEM body: strict base64 with whitespace allowed anywhere, padding only at the end. */
function decodePemBody(header: string, text: string, start: number, end: number): Buffer {
  let count = 0;
  let padding = 0;
  let compact = '';
  let chunk = start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isPemSpace(c)) {
      compact += text.slice(chunk, i);
      chunk = i + 1;
      continue;
    }
    if (c === EQUALS) padding++;
    else if (padding > 0 || !isBase64Char(c)) {
      throw forwardedHeaderError(header, `invalid base64 in PEM at decoded position ${i}`);
    }
    count++;
  }
  compact += text.slice(chunk, end);
  if (count === 0 || count % 4 !== 0 || padding > 2) {
    throw forwardedHeaderError(header, `invalid base64 length in PEM at decoded position ${start}`);
  }
  return Buffer.from(compact, 'base64');
}

/** The chain without any copy of the leaf (some senders include it; the contract excludes it). */
function withoutLeaf(leaf: Buffer, chain: readonly Buffer[]): Buffer[] {
  return chain.filter((der) => !der.equals(leaf));
}

// ---------------------------------------------------------------------------------------------
// RFC 8941 structured fields (only what RFC 9440 needs)

/**
 * RFC 8941 §4.2.7 byte sequence starting at `pos` (which must be `:`). Returns the DER and the
 * offset after the closing `:`.
 */
function parseByteSequence(header: string, text: string, pos: number): { der: Buffer; end: number } {
  if (text.charCodeAt(pos) !== COLON) {
    throw forwardedHeaderError(header, `expected a structured-field byte sequence (":base64:") at position ${pos}`);
  }
  const close = text.indexOf(':', pos + 1);
  if (close < 0) throw forwardedHeaderError(header, `unterminated byte sequence at position ${pos}`);
  return { der: decodeBase64(header, text, pos + 1, close, true), end: close + 1 };
}

/**
 * After a bare item: parameters (`;key[=value]`) are rejected. RFC 9440 defines none for
 * Client-Cert or Client-Cert-Chain, no known sender writes any, and accepting ones we do not
 * understand would mean parsing every RFC 8941 bare-item type just to throw the result away.
 */
function rejectParameters(header: string, text: string, pos: number): void {
  if (text.charCodeAt(pos) === SEMICOLON) {
    throw forwardedHeaderError(header, `structured-field parameters are not accepted (position ${pos})`);
  }
}

function skipSp(text: string, pos: number): number {
  while (text.charCodeAt(pos) === SP) pos++;
  return pos;
}

/**
 * `Client-Cert`: an RFC 8941 Item that must be a byte sequence, without parameters. RFC 9440: a
 * singleton that "MUST NOT have a list of values or occur multiple times"; Node joins a repeated
 * header into `:a:, :b:`, which fails here on the `,`.
 */
function parseClientCert(header: string, value: string): Buffer {
  let pos = skipSp(value, 0);
  const item = parseByteSequence(header, value, pos);
  rejectParameters(header, value, item.end);
  pos = skipSp(value, item.end);
  if (pos < value.length) {
    throw forwardedHeaderError(
      header,
      value.charCodeAt(pos) === COMMA
        ? `more than one value (a repeated Client-Cert header?) at position ${pos}`
        : `unexpected character after the byte sequence at position ${pos}`,
    );
  }
  return checkDer(header, item.der, 0);
}

/**
 * `Client-Cert-Chain`: an RFC 8941 §4.2.1 List whose members are byte sequences (inner lists and
 * other item types rejected, parameters rejected). It may occur several times (joined by Node
 * with `", "`, which is list syntax). Empty → no chain.
 */
function parseClientCertChain(header: string, value: string, max: number): Buffer[] {
  const ders: Buffer[] = [];
  let pos = skipSp(value, 0);
  if (pos >= value.length) return ders;
  for (;;) {
    if (value.charCodeAt(pos) === 0x28) {
      throw forwardedHeaderError(header, `inner lists are not accepted (position ${pos})`);
    }
    if (ders.length === max) throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates`);
    const item = parseByteSequence(header, value, pos);
    rejectParameters(header, value, item.end);
    ders.push(checkDer(header, item.der, ders.length));
    pos = skipOws(value, item.end);
    if (pos >= value.length) return ders;
    if (value.charCodeAt(pos) !== COMMA) {
      throw forwardedHeaderError(header, `expected "," between list members at position ${pos}`);
    }
    pos = skipOws(value, pos + 1);
    if (pos >= value.length) throw forwardedHeaderError(header, `trailing comma at position ${pos - 1}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Per-source decoders

/**
 * Traefik `X-Forwarded-Tls-Client-Cert`: `b64der *( "," b64der )`, leaf first. Up to v2.9.1 each
 * certificate was additionally `url.QueryEscape`d (`%2B %2F %3D`), so each piece is split on the
 * literal `,` first and percent-decoded when it holds a `%` (base64 has none). `+` stays `+`:
 * the old form never has a literal `+` (QueryEscape writes `%2B`), the new form's `+` is base64.
 * No whitespace: Traefik writes none, and `", "` is what a repeated header looks like.
 */
function decodeTraefik(header: string, value: string, max: number): Buffer[] {
  const ders: Buffer[] = [];
  let start = 0;
  let percent = value.indexOf('%'); // the next `%` at or after `start`, found once per `%`
  for (;;) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    if (ders.length === max + 1)
      throw forwardedHeaderError(header, `more than maxChainLength (${max}) certificates besides the leaf`);
    if (percent >= 0 && percent < start) percent = value.indexOf('%', start);
    const der =
      percent >= 0 && percent < end
        ? decodeEscapedBase64(header, value, start, end, ders.length)
        : decodeBase64(header, value, start, end, false);
    ders.push(checkDer(header, der, ders.length));
    if (end === value.length) return ders;
    start = end + 1;
  }
}

/**
 * A query-escaped base64 piece (Traefik ≤ 2.9.1): `%XX` decoded, then strict base64. Positions in
 * base64 errors would refer to the unescaped text, so those name the certificate instead.
 */
function decodeEscapedBase64(header: string, value: string, start: number, end: number, index: number): Buffer {
  let out = '';
  let chunk = start;
  for (let i = start; i < end; i++) {
    if (value.charCodeAt(i) !== PERCENT) continue;
    const high = hexValue(value.charCodeAt(i + 1));
    const low = hexValue(value.charCodeAt(i + 2));
    if (i + 2 >= end || high < 0 || low < 0)
      throw forwardedHeaderError(header, `invalid percent-encoding at position ${i}`);
    out += value.slice(chunk, i) + String.fromCharCode(high * 16 + low);
    i += 2;
    chunk = i + 1;
  }
  out += value.slice(chunk, end);
  try {
    return decodeBase64(header, out, 0, out.length, false);
  } catch (error) {
    throw forwardedHeaderError(header, `certificate ${index + 1} is not valid base64 after unescaping`, error);
  }
}

/**
 * `url-pem`: nginx `$ssl_client_escaped_cert` / ingress-nginx `ssl-client-cert` (percent-encoded
 * PEM, leaf only), or raw PEM with line breaks folded into spaces (Apache mod_headers
 * `%{SSL_CLIENT_CERT}s`; nginx-style multiple spaces and tabs too). Apache writes the literal
 * `(null)` when the variable is unset: no certificate. Exactly one certificate.
 */
function decodeUrlPem(header: string, value: string): Buffer | undefined {
  if (value === '(null)') return undefined;
  const ders = strictPemCertificates(header, percentDecodePemText(header, value), 1);
  if (ders.length === 0) throw forwardedHeaderError(header, 'no certificate in the value');
  return ders[0]!;
}

// ---------------------------------------------------------------------------------------------
// Compile

const DEFAULT_HEADERS: Readonly<Record<HeaderSourceName, string>> = {
  rfc9440: 'client-cert',
  traefik: 'x-forwarded-tls-client-cert',
  'url-pem': 'ssl-client-cert',
  'base64-der': 'x-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert',
};
const AWS_ALB_LEAF_HEADER = 'x-amzn-mtls-clientcert-leaf';

const COMMON_KEYS = ['source', 'header', 'verifyHeader', 'describedBy', 'limits'];
const KEYS: Readonly<Record<HeaderSourceName | 'custom', readonly string[]>> = {
  rfc9440: [...COMMON_KEYS, 'chainHeader'],
  traefik: [...COMMON_KEYS, 'infoHeader'],
  'url-pem': COMMON_KEYS,
  'base64-der': [...COMMON_KEYS, 'chainHeader'],
  'aws-alb': [...COMMON_KEYS, 'mode'],
  custom: [...COMMON_KEYS, 'decode'],
};

function headerName(option: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidOption(option, 'must be an HTTP header name (a string)');
  const lower = value.toLowerCase();
  if (!isHeaderName(lower)) throw invalidOption(option, 'must be an HTTP header name');
  return lower;
}

function optionalHeader(option: string, value: unknown, fallback: string | null): string | null {
  if (value === undefined) return fallback;
  if (value === false) return null;
  return headerName(option, value);
}

function stringList(option: string, value: unknown, required: boolean): readonly string[] {
  if (value === undefined && !required) return Object.freeze([]);
  if (
    !Array.isArray(value) ||
    (required && value.length === 0) ||
    !value.every((item) => typeof item === 'string' && item !== '')
  ) {
    throw invalidOption(option, `must be ${required ? 'a non-empty' : 'an'} array of non-empty strings`);
  }
  return Object.freeze([...(value as string[])]);
}

function compileVerifyHeader(option: string, value: unknown): CompiledVerifyHeader | null {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    return Object.freeze({
      name: headerName(option, value),
      success: Object.freeze(['SUCCESS']),
      none: Object.freeze(['NONE']),
    });
  }
  if (typeof value !== 'object' || value === null) {
    throw invalidOption(option, 'must be a header name or { name, success: string[], none?: string[] }');
  }
  const input = value as Partial<VerifyHeaderOption>;
  for (const key of Object.keys(input)) {
    if (key !== 'name' && key !== 'success' && key !== 'none')
      throw invalidOption(`${option}.${key}`, 'is not a known option');
  }
  const success = stringList(`${option}.success`, input.success, true);
  const none = stringList(`${option}.none`, input.none, false);
  if (none.some((v) => success.includes(v))) throw invalidOption(option, 'has a value in both success and none');
  return Object.freeze({ name: headerName(`${option}.name`, input.name), success, none });
}

function compileDescribedBy(option: string, value: unknown): CompiledDescriptionHeaders | null {
  if (value === undefined || value === false) return null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(
      option,
      'must be false or { subjectDn?, issuerDn?, serial?, sha256?, sha1?, required? } with header names',
    );
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'required' && !DESCRIPTION_FIELDS.includes(key as DescriptionField)) {
      throw invalidOption(`${option}.${key}`, `is not a known option (use ${DESCRIPTION_FIELDS.join(', ')}, required)`);
    }
  }
  const names = {} as Record<DescriptionField, string | null>;
  for (const field of DESCRIPTION_FIELDS) {
    names[field] = input[field] === undefined ? null : headerName(`${option}.${field}`, input[field]);
  }
  if (DESCRIPTION_FIELDS.every((field) => names[field] === null)) {
    throw invalidOption(option, `must name at least one header (${DESCRIPTION_FIELDS.join(', ')}); use false for none`);
  }
  const required = input.required ?? false;
  if (typeof required !== 'boolean') throw invalidOption(`${option}.required`, 'must be true or false');
  return Object.freeze({ ...names, required });
}

function compileLimits(option: string, value: unknown): Readonly<Required<HeaderSourceLimits>> {
  if (value === undefined) return DEFAULT_HEADER_SOURCE_LIMITS;
  if (typeof value !== 'object' || value === null) throw invalidOption(option, 'must be an object');
  const limits = { ...DEFAULT_HEADER_SOURCE_LIMITS };
  for (const [key, raw] of Object.entries(value)) {
    if (key !== 'maxLength' && key !== 'maxChainLength')
      throw invalidOption(`${option}.${key}`, 'is not a known option');
    if (raw === undefined) continue;
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < (key === 'maxChainLength' ? 0 : 1)) {
      throw invalidOption(
        `${option}.${key}`,
        key === 'maxChainLength' ? 'must be an integer >= 0' : 'must be a positive integer',
      );
    }
    limits[key] = raw;
  }
  return Object.freeze(limits);
}

/**
 * Validates a header source once, at construction. Failures are `invalidOption` errors naming the
 * option under `optionName` (e.g. `source.header`), so misconfiguration fails at start-up.
 */
export function compileHeaderSource(input: HeaderSourceOptions, optionName = 'source'): CompiledHeaderSource {
  if (typeof input !== 'object' || input === null) throw invalidOption(optionName, 'must be an object');
  const raw = input as unknown as Record<string, unknown>;
  const hasDecode = raw.decode !== undefined;
  const kind = raw.source === undefined && hasDecode ? 'custom' : raw.source;
  if (kind !== 'custom' && !HEADER_SOURCE_NAMES.includes(kind as HeaderSourceName)) {
    throw invalidOption(
      `${optionName}.source`,
      `must be one of ${[...HEADER_SOURCE_NAMES, 'custom'].join(', ')} (or give decode)`,
    );
  }
  const name = kind as HeaderSourceName | 'custom';
  if (hasDecode && name !== 'custom') {
    throw invalidOption(
      `${optionName}.decode`,
      `cannot be combined with source "${name}": a custom decoder is its own source`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!KEYS[name].includes(key))
      throw invalidOption(`${optionName}.${key}`, `is not a known option for source "${name}"`);
  }

  const limits = compileLimits(`${optionName}.limits`, raw.limits);
  let decode: CustomHeaderDecoder | null = null;
  let mode: 'passthrough' | 'verify' | null = null;
  let header: string;
  let chainHeader: string | null = null;
  let infoHeader: string | null = null;
  if (name === 'custom') {
    if (typeof raw.decode !== 'function')
      throw invalidOption(`${optionName}.decode`, 'must be a function (value: string) => Buffer | Buffer[]');
    decode = raw.decode as CustomHeaderDecoder;
    if (raw.header === undefined) throw invalidOption(`${optionName}.header`, 'is required with a custom decoder');
    header = headerName(`${optionName}.header`, raw.header);
  } else if (name === 'aws-alb') {
    const m = raw.mode ?? 'passthrough';
    if (m !== 'passthrough' && m !== 'verify')
      throw invalidOption(`${optionName}.mode`, "must be 'passthrough' or 'verify'");
    mode = m;
    header =
      raw.header === undefined
        ? mode === 'verify'
          ? AWS_ALB_LEAF_HEADER
          : DEFAULT_HEADERS['aws-alb']
        : headerName(`${optionName}.header`, raw.header);
  } else {
    header = raw.header === undefined ? DEFAULT_HEADERS[name] : headerName(`${optionName}.header`, raw.header);
    if (name === 'rfc9440')
      chainHeader = optionalHeader(`${optionName}.chainHeader`, raw.chainHeader, 'client-cert-chain');
    if (name === 'base64-der') chainHeader = optionalHeader(`${optionName}.chainHeader`, raw.chainHeader, null);
    if (name === 'traefik')
      infoHeader = optionalHeader(`${optionName}.infoHeader`, raw.infoHeader, 'x-forwarded-tls-client-cert-info');
  }

  const verifyHeader = compileVerifyHeader(`${optionName}.verifyHeader`, raw.verifyHeader);
  if (verifyHeader && mode === 'verify') {
    throw invalidOption(
      `${optionName}.verifyHeader`,
      'does not apply to aws-alb verify mode: the ALB only forwards certificates it verified',
    );
  }
  const describedBy = compileDescribedBy(`${optionName}.describedBy`, raw.describedBy);
  const descriptionHeaders = describedBy === null ? [] : DESCRIPTION_FIELDS.map((field) => describedBy[field]);
  const headers = [header, chainHeader, infoHeader, verifyHeader?.name, ...descriptionHeaders].filter(
    (h): h is string => typeof h === 'string',
  );
  if (new Set(headers).size !== headers.length)
    throw invalidOption(optionName, 'uses one header name for two purposes');

  const described = name === 'aws-alb' ? `aws-alb ${mode}` : name;
  return Object.freeze({
    source: name,
    header,
    chainHeader,
    infoHeader,
    verifyHeader,
    mode,
    hasVerdict: verifyHeader !== null || mode === 'verify',
    describedBy,
    headers: Object.freeze(headers),
    limits,
    description: `${described} (${headers.join(', ')})`,
    decode,
  });
}

// ---------------------------------------------------------------------------------------------
// Read

/**
 * The proxy's verdict for this request, or null when the source has none or its verify header
 * is absent. Useful on its own when readHeaderSource found no certificate: a `failed` verdict
 * without a certificate header (ingress-nginx without pass-certificate-to-upstream) still means
 * the client presented a certificate that the proxy rejected.
 */
export function readProxyVerdict(source: CompiledHeaderSource, headers: IncomingHttpHeaders): ProxyVerdict | null {
  if (source.mode === 'verify') return 'verified';
  const verify = source.verifyHeader;
  if (!verify) return null;
  const value = headerValue(headers, verify.name);
  if (value === undefined) return null;
  if (verify.success.includes(value)) return 'verified';
  if (verify.none.includes(value)) return 'none';
  return 'failed';
}

/**
 * Reads one source from the request headers (Node's lower-cased `IncomingHttpHeaders`).
 *
 * Returns undefined when the certificate header is absent or empty (and, for `url-pem`, when it is
 * Apache's `(null)`; for `base64-der`, when it is Caddy's unresolved placeholder; for a custom
 * decoder, when it returns undefined/null). Traefik: only the
 * certificate header counts; a request with only `-Info` yields undefined here, and
 * readTraefikInfo returns that info (it describes a certificate this library cannot verify).
 *
 * Throws (see FORWARDED_HEADER_ERROR_CODE) on anything malformed, on a limit exceeded, on a chain
 * header without a certificate header (RFC 9440: "MUST NOT appear unless Client-Cert is also
 * present"), and on a certificate whose verify header says `none`: the proxy says no certificate
 * was presented, so the certificate header did not come from it (e.g. ingress-nginx without
 * `auth-tls-pass-certificate-to-upstream`, which leaves a client-sent `ssl-client-cert` in place).
 * A description header sent more than once (as a list) is malformed too. With `describedBy.required`,
 * a certificate without the description throws `client_certificate_untrusted` (check
 * PROXY_DESCRIPTION_CHECK); otherwise the description comes back in `description`, unchecked.
 *
 * This function does not decide trust: the caller checks the peer against `trustProxy` before
 * calling it, then verifies the certificate or honours the verdict (see ForwardedCertificate).
 */
export function readHeaderSource(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
): ForwardedCertificate | undefined {
  const value = readChecked(source, headers, source.header);
  const chainValue = source.chainHeader === null ? undefined : readChecked(source, headers, source.chainHeader);
  if (value === undefined) {
    if (chainValue !== undefined) {
      throw forwardedHeaderError(source.chainHeader!, `present without the certificate header "${source.header}"`);
    }
    return undefined;
  }

  const decoded = decodeSource(source, value, chainValue);
  if (!decoded) return undefined;
  const proxyVerdict = readProxyVerdict(source, headers);
  if (proxyVerdict === 'none') {
    throw forwardedHeaderError(
      source.header,
      `present although "${source.verifyHeader!.name}" says no certificate was presented`,
    );
  }
  const description = readDescription(source, headers);
  return Object.freeze({
    source: source.source,
    leaf: decoded.leaf,
    chain: Object.freeze(withoutLeaf(decoded.leaf, decoded.chain)),
    proxyVerdict,
    ...(description === undefined ? {} : { description }),
  });
}

/**
 * One description header: a single value (a list of several, from `headersDistinct` or a
 * framework, is malformed; Node's own `", "`-joined repeat is left to the comparison, which it
 * fails), at most `maxLength` characters, no control characters. DN headers may carry bytes
 * above 0x7e (a proxy that writes UTF-8 instead of `\XX` escapes); the others are hex, ASCII only.
 */
function readDescriptionValue(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
  name: string,
  dn: boolean,
): string | undefined {
  const raw: unknown = headers[name];
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
    if (raw.length > 1) throw forwardedHeaderError(name, 'sent more than once (the proxy sends one value)');
    value = raw.length === 0 ? '' : (raw[0] as string);
  } else return undefined;
  if (value === '') return undefined;
  if (!dn) {
    checkValue(name, value, source.limits);
    return value;
  }
  if (value.length > source.limits.maxLength) {
    throw forwardedHeaderError(name, `value exceeds maxLength (${source.limits.maxLength} characters)`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c === 0x7f) throw forwardedHeaderError(name, `control character at position ${i}`);
  }
  return value;
}

function readDescription(source: CompiledHeaderSource, headers: IncomingHttpHeaders): ForwardedDescription | undefined {
  const described = source.describedBy;
  if (described === null) return undefined;
  const description: { -readonly [K in DescriptionField]?: string } = {};
  let present = 0;
  let missingOtherThanSubject = false;
  for (const field of DESCRIPTION_FIELDS) {
    const name = described[field];
    if (name === null) continue;
    const value = readDescriptionValue(source, headers, name, field === 'subjectDn' || field === 'issuerDn');
    if (value !== undefined) {
      description[field] = value;
      present++;
    } else if (field !== 'subjectDn') {
      missingOtherThanSubject = true;
    }
  }
  if (described.required) {
    if (present === 0 || missingOtherThanSubject) {
      throw new ClientCertError('client_certificate_untrusted', DESCRIPTION_MISSING_MESSAGE, {
        check: PROXY_DESCRIPTION_CHECK,
      });
    }
    // Every other header is there, so the proxy wrote them: its subject header is missing
    // because the subject is empty (nginx sends no header for an empty value).
    if (described.subjectDn !== null && description.subjectDn === undefined) description.subjectDn = '';
  }
  return present === 0 ? undefined : Object.freeze(description);
}

/**
 * What Caddy sends for `header_up X-Client-Cert {http.request.tls.client.certificate_der_base64}`
 * when the client presented no certificate: Caddy leaves a placeholder it cannot resolve as
 * literal text (seen from Caddy 2.6.2 in test/interop; caddyserver/caddy#7530, fixed by #7534 in
 * 2026 to send an empty value). It means "no certificate", like an empty value; it can never be
 * base64, so nothing else is read as none.
 */
const CADDY_NO_CERTIFICATE = '{http.request.tls.client.certificate_der_base64}';

function decodeSource(
  source: CompiledHeaderSource,
  value: string,
  chainValue: string | undefined,
): { leaf: Buffer; chain: Buffer[] } | undefined {
  const { header, limits } = source;
  switch (source.source) {
    case 'rfc9440': {
      const leaf = parseClientCert(header, value);
      const chain =
        chainValue === undefined ? [] : parseClientCertChain(source.chainHeader!, chainValue, limits.maxChainLength);
      return { leaf, chain };
    }
    case 'traefik': {
      const [leaf, ...chain] = decodeTraefik(header, value, limits.maxChainLength);
      return { leaf: leaf!, chain };
    }
    case 'url-pem': {
      const leaf = decodeUrlPem(header, value);
      return leaf && { leaf, chain: [] };
    }
    case 'base64-der': {
      if (value === CADDY_NO_CERTIFICATE) {
        if (chainValue !== undefined)
          throw forwardedHeaderError(source.chainHeader!, `present without a certificate in "${header}"`);
        return undefined;
      }
      const leaf = checkDer(header, decodeBase64(header, value, 0, value.length, false), 0);
      const chain =
        chainValue === undefined
          ? []
          : splitConcatenatedDer(
              source.chainHeader!,
              decodeBase64(source.chainHeader!, chainValue, 0, chainValue.length, false),
              limits.maxChainLength,
            );
      return { leaf, chain };
    }
    case 'aws-alb': {
      // Passthrough: the whole presented chain, leaf first; verify: the leaf only.
      const max = source.mode === 'verify' ? 1 : limits.maxChainLength + 1;
      const ders = strictPemCertificates(header, percentDecodePemText(header, value), max);
      if (ders.length === 0) throw forwardedHeaderError(header, 'no certificate in the value');
      const [leaf, ...chain] = ders;
      return { leaf: leaf!, chain };
    }
    case 'custom':
      return decodeCustom(source, value);
  }
}

function decodeCustom(source: CompiledHeaderSource, value: string): { leaf: Buffer; chain: Buffer[] } | undefined {
  const { header, limits } = source;
  let result: ReturnType<CustomHeaderDecoder>;
  try {
    result = source.decode!(value);
  } catch (error) {
    // The decoder's own message may quote the header: keep it as the cause, out of the message.
    throw isForwardedHeaderError(error) ? error : forwardedHeaderError(header, 'the custom decoder failed', error);
  }
  if (result === undefined || result === null) return undefined;
  const list = Array.isArray(result) ? result : [result];
  if (list.length === 0) return undefined;
  if (list.length > limits.maxChainLength + 1) {
    throw forwardedHeaderError(
      header,
      `more than maxChainLength (${limits.maxChainLength}) certificates besides the leaf`,
    );
  }
  const ders = list.map((item, index) => {
    if (!(item instanceof Uint8Array))
      throw forwardedHeaderError(header, `the custom decoder returned a non-Buffer for certificate ${index + 1}`);
    const der = Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    return checkDer(header, der, index);
  });
  const [leaf, ...chain] = ders;
  return { leaf: leaf!, chain };
}

// ---------------------------------------------------------------------------------------------
// Traefik X-Forwarded-Tls-Client-Cert-Info

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

/**
 * Go's `url.QueryUnescape`: `%XX` → byte, `+` → space (Traefik's `-Info` is query-escaped). The
 * wire form only contains `A–Z a–z 0–9 - _ . ~ +` and `%XX`; anything else is rejected, so an
 * unescaped value cannot be mistaken for an escaped one. The bytes must be UTF-8.
 */
function queryUnescape(header: string, value: string): string {
  const bytes = Buffer.alloc(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === PERCENT) {
      const high = hexValue(value.charCodeAt(i + 1));
      const low = hexValue(value.charCodeAt(i + 2));
      if (i + 2 >= value.length || high < 0 || low < 0)
        throw forwardedHeaderError(header, `invalid percent-encoding at position ${i}`);
      bytes[n++] = high * 16 + low;
      i += 2;
    } else if (c === PLUS) {
      bytes[n++] = SP;
    } else if (
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      isDigit(c) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x2e ||
      c === 0x7e
    ) {
      bytes[n++] = c;
    } else {
      throw forwardedHeaderError(header, `character not produced by query escaping at position ${i}`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n));
  } catch (error) {
    throw forwardedHeaderError(header, 'invalid UTF-8 after unescaping', error);
  }
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
  return parseInfo(INFO_HEADER_LABEL, value, compileLimits('limits', limits));
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
