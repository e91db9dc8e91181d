/**
 * Revocation: is any certificate of a verified path revoked, according to configured CRLs and,
 * where enabled, the OCSP responders the certificates name?
 *
 * `compileRevocation(options)` validates the options once and returns a checker;
 * `checker.check(chain, now)` takes the *verified* path (leaf first, trust anchor last, as
 * `verifyChain` returns it) and answers `good`, `revoked` or `unknown`. `decideRevocation` turns
 * that answer into pass/fail under the policy (`off | soft | strict`) and says how long the
 * decision may be cached.
 *
 * What is checked
 * - Every certificate of the path except the trust anchor (`scope: 'chain'`, the default, as
 *   Envoy does when a CRL is configured), or only the leaf (`scope: 'leaf'`). Each certificate's
 *   status comes from its issuer, which is the next certificate of the verified path.
 * - CRLs first (local, cheap): a CRL is used for a certificate when its issuer name is
 *   byte-for-byte the certificate's issuer name, its signature verifies with the issuer's public
 *   key (a CRL signed by any other key is ignored), its issuingDistributionPoint scope covers the
 *   certificate, and now is within [thisUpdate - 5 min, nextUpdate]. Listed → revoked (an entry
 *   with reason removeFromCRL is not a revocation); not listed in a usable CRL → good. A CRL past
 *   its nextUpdate is stale: the status is unknown.
 * - A CRL so matched is still "no data" (status unknown: `strict` refuses, `soft` passes with a
 *   warning) — never evidence of good standing, nor of revocation — when RFC 5280 §5 and §6.3.3
 *   say not to use it: no cRLNumber, a critical or out-of-range cRLNumber, a critical CRL or
 *   entry extension this module does not process, an issuer certificate whose keyUsage lacks
 *   cRLSign, or a kind of CRL not supported (below). Such a CRL given inline or as a file is
 *   listed in `problems` for the start-up report rather than refused as an option: a CRL fetched
 *   or reloaded later can be just as wrong, and must behave the same.
 * - Then OCSP, when enabled and no CRL answered: a SHA-1 CertID request (RFC 6960 common
 *   practice) POSTed to the responder named in the certificate's authorityInfoAccess (or the
 *   configured `responderUrl`), answered by a BasicOCSPResponse signed by the issuer itself or by
 *   a delegated responder certificate that the issuer signed, that has the OCSPSigning EKU and
 *   that is valid now. Answers are cached per (issuer key, serial) until their nextUpdate, and
 *   never longer than `ocsp.maxCacheSeconds` (default one hour).
 *
 * Sources
 * - `crls` entries are file paths, http(s) URLs, inline PEM text, or Buffers (DER or PEM; a PEM
 *   may hold several CRLs). Files and Buffers are read and parsed at construction (a bad one is
 *   an `invalid_option` naming `revocation.crls[i]`); URLs are fetched on first use. Files and
 *   URLs are loaded again in the background when a CRL nears its nextUpdate (the last tenth of
 *   its period, at most an hour), and before answering once it has passed; a failed load keeps
 *   the CRL in hand. A newer load never replaces a CRL with an older one (thisUpdate and
 *   cRLNumber must not go back), which stops the replay of an old CRL over plain HTTP.
 * - Network: `node:http`/`node:https`, one connection per request, no redirects, a deadline of
 *   `timeoutMs` per exchange, bounded response sizes. Concurrent checks share one fetch per
 *   source; after any attempt a source is not tried again for `retryAfterMs` (so an outage costs
 *   one timeout, not one per request).
 *
 * Synchronous when possible: `check` returns a plain result when everything it needs is in hand
 * (the steady state), and a Promise only when it must wait for a fetch. Policy `off` does no
 * work at all.
 *
 * Out of scope: delta CRLs and indirect CRLs (a CRL that is one is "no data", as RFC 5280 requires
 * for critical extensions one does not process), CRLs partitioned by reason (onlySomeReasons),
 * RSASSA-PSS signatures on CRLs and OCSP responses, fetching the CRL distribution points a
 * certificate names, checking the revocation of a delegated OCSP responder, and name comparison
 * beyond exact encoding for CRL issuers (CAs copy their subject's bytes into their CRLs).
 *
 * Messages are fixed texts with the certificate's depth, never certificate or CRL content.
 */
import { createHash, type KeyObject, randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ClientCertError, invalidOption, isClientCertError, rejectUnknownOptions } from '../errors.js';
import { certificateValidity } from '../x509/certificate.js';
import { DerCursor, decodeOid, malformed, readTlv, Tag, type Tlv } from '../x509/der.js';

// ---------------------------------------------------------------------------------------------
// Public types

export type RevocationPolicy = 'off' | 'soft' | 'strict';

/** Which certificates of the verified path are checked: all but the trust anchor, or the leaf. */
export type RevocationScope = 'chain' | 'leaf';

/** A file path, an http(s) URL, PEM text, or the CRL itself (DER or PEM bytes). */
export type CrlInput = string | Buffer;

export interface OcspOptions {
  /** Ask this responder for every certificate instead of the one its authorityInfoAccess names. */
  responderUrl?: string;
  /** Deadline of one OCSP exchange in ms (default: the top-level `timeoutMs`). */
  timeoutMs?: number;
  /** Send a nonce and require the response to echo it (default false: responses stay cacheable). */
  nonce?: boolean;
  /** Longest an OCSP answer is cached, in seconds, even when its nextUpdate is later (default 3600). */
  maxCacheSeconds?: number;
}

export interface RevocationOptions {
  /**
   * What an unknown status does: `strict` rejects, `soft` accepts (a transient failure is then not
   * cached), `off` checks nothing. Default: `strict` when `crls` or `ocsp` is configured, else `off`.
   */
  policy?: RevocationPolicy;
  /** CRLs: file paths, http(s) URLs, PEM text, or Buffers (DER or PEM), one or a list. */
  crls?: CrlInput | readonly CrlInput[];
  /** Ask OCSP responders (from each certificate's authorityInfoAccess); default false. */
  ocsp?: boolean | OcspOptions;
  /** `chain` (default): every certificate except the trust anchor; `leaf`: the leaf only. */
  scope?: RevocationScope;
  /** Deadline of one network exchange (CRL download or OCSP request) in ms; default 2000. */
  timeoutMs?: number;
  /** After a fetch of a CRL or an OCSP answer, wait this long before trying that one again; default 5000. */
  retryAfterMs?: number;
}

/**
 * The status of a verified path. `validUntil` (ms since the epoch; `Infinity` when no data
 * limits it) is when the revocation data behind the answer stops being valid: never cache a
 * decision beyond it. `depth` is the position in the path (0 = leaf).
 */
export type RevocationResult =
  | { readonly status: 'good'; readonly validUntil: number }
  | { readonly status: 'revoked'; readonly depth: number; readonly message: string; readonly validUntil: number }
  | {
      readonly status: 'unknown';
      readonly depth: number;
      /** A network failure or data that may be refreshed soon: the answer must not be cached. */
      readonly transient: boolean;
      readonly message: string;
      readonly validUntil: number;
    };

export interface RevocationChecker {
  readonly policy: RevocationPolicy;
  /** One line for the start-up report, e.g. `strict; 1 CRL file, 1 CRL URL; OCSP; whole chain`. */
  readonly description: string;
  /**
   * One fixed line per CRL given inline or as a file that parses but must not be used (RFC 5280
   * §5), e.g. `revocation.crls[1] is not a valid CRL: it has no cRLNumber (RFC 5280 §5.2.3); the
   * certificates it covers have no revocation status`. Empty when all are usable. For the start-up
   * report: such a CRL is not an option error, because a CRL fetched or reloaded later can have
   * the same defect and is then "no data" too. An issuer whose keyUsage lacks cRLSign is only seen
   * when a certificate is checked.
   */
  readonly problems: readonly string[];
  /**
   * The status of `chain`, the verified path (leaf first, trust anchor last), at `now`. A plain
   * result when everything needed is in hand; a Promise (which never rejects) when something must
   * be fetched first.
   */
  check(chain: readonly X509Certificate[], now: Date): RevocationResult | Promise<RevocationResult>;
  /** `decideRevocation(result, this.policy)`. */
  decide(result: RevocationResult): RevocationDecision;
}

/**
 * What the pipeline does with a result. `cacheUntil` (ms since the epoch) bounds how long the
 * decision may be cached; 0 means "do not cache".
 */
export type RevocationDecision =
  | {
      readonly ok: true;
      readonly cacheUntil: number /** Set when status was unknown under `soft`: log it. */;
      readonly warning: string | null;
    }
  | {
      readonly ok: false;
      readonly code: 'client_certificate_revoked' | 'client_certificate_untrusted';
      readonly message: string;
      readonly cacheUntil: number;
    };

/**
 * The policy, in one place. `revoked` always fails with `client_certificate_revoked`. `unknown`
 * fails under `strict` with `client_certificate_untrusted` (the certificate is not known to be
 * revoked, so saying "revoked" would be wrong; it is not trusted because its status could not be
 * established) and passes otherwise, with a warning. Transient answers are never cacheable.
 */
export function decideRevocation(result: RevocationResult, policy: RevocationPolicy): RevocationDecision {
  switch (result.status) {
    case 'good':
      return { ok: true, cacheUntil: result.validUntil, warning: null };
    case 'revoked':
      return { ok: false, code: 'client_certificate_revoked', message: result.message, cacheUntil: result.validUntil };
    default: {
      const cacheUntil = result.transient ? 0 : result.validUntil;
      if (policy === 'strict')
        return { ok: false, code: 'client_certificate_untrusted', message: result.message, cacheUntil };
      return { ok: true, cacheUntil, warning: result.message };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Constants

const HOUR_MS = 3_600_000;
/** Revocation data dated up to this far in the future is accepted (OpenSSL's OCSP default too). */
const CLOCK_LEEWAY_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_RETRY_AFTER_MS = 5000;
const DEFAULT_OCSP_MAX_CACHE_SECONDS = 3600;
const MAX_TIMEOUT_MS = 60_000;
const MAX_CRL_BYTES = 32 * 1024 * 1024;
const MAX_OCSP_RESPONSE_BYTES = 256 * 1024;
const MAX_OCSP_CACHE_ENTRIES = 10_000;
/** Certificates looked at in an OCSP response's `certs` (real responses carry one or two). */
const MAX_RESPONSE_CERTS = 8;
/** SingleResponses looked at in one OCSP response. */
const MAX_SINGLE_RESPONSES = 64;
/** Issuer keys remembered per CRL as having (not) signed it. */
const MAX_VERDICTS_PER_CRL = 16;

const ENUMERATED = 0x0a;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

const OID = {
  crlNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  certificateIssuer: '2.5.29.29',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  keyUsage: '2.5.29.15',
  issuerAltName: '2.5.29.18',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspAccess: '1.3.6.1.5.5.7.48.1',
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/**
 * CRL extensions that may be critical although this module does not act on them: issuerAltName
 * only names the issuer again (RFC 5280 §5.2.2), and the issuer is matched by name and signature.
 * cRLNumber and issuingDistributionPoint are processed; authorityKeyIdentifier, freshestCRL and
 * authorityInfoAccess MUST be non-critical (§5.2.1, §5.2.6, §5.2.7); anything else critical makes
 * the CRL unusable (§5.2: "MUST NOT use that CRL").
 */
const IGNORABLE_CRITICAL_CRL_EXTENSIONS: ReadonlySet<string> = new Set([OID.issuerAltName]);
/** Entry extensions that may be critical: reasonCode is read, invalidityDate changes nothing here. */
const KNOWN_ENTRY_EXTENSIONS: ReadonlySet<string> = new Set([OID.reasonCode, OID.invalidityDate]);
const REMOVE_FROM_CRL = 8;
/** RFC 5280 §5.2.3: verifiers handle cRLNumber values up to 20 octets; issuers use no longer ones. */
const MAX_CRL_NUMBER_OCTETS = 20;

// ---------------------------------------------------------------------------------------------
// Messages: fixed texts

type Reason =
  | 'no_source'
  | 'no_crl'
  | 'crl_stale'
  | 'crl_invalid'
  | 'crl_unavailable'
  | 'no_responder'
  | 'ocsp_unreachable'
  | 'ocsp_error'
  | 'ocsp_invalid'
  | 'ocsp_unknown'
  | 'unreadable';

const REASON_TEXT: Record<Reason, string> = {
  no_source: 'no CRL or OCSP responder covers it',
  no_crl: 'no CRL covers it',
  crl_stale: 'its CRL is out of date',
  crl_invalid: 'its CRL is not valid',
  crl_unavailable: 'a CRL could not be loaded',
  no_responder: 'it names no OCSP responder',
  ocsp_unreachable: 'the OCSP responder could not be reached',
  ocsp_error: 'the OCSP responder returned an error',
  ocsp_invalid: 'the OCSP response could not be validated',
  ocsp_unknown: 'the OCSP responder does not know the certificate',
  unreadable: 'the certificate could not be read',
};

function revokedMessage(depth: number): string {
  return `certificate at depth ${depth} has been revoked`;
}

/**
 * Why a CRL that its issuer signed must still not be used (RFC 5280 §5, §6.3.3): it is then "no
 * data", never evidence of good standing nor of revocation.
 */
type CrlDefect =
  | 'no_crl_number'
  | 'crl_number_critical'
  | 'crl_number_invalid'
  | 'critical_extension'
  | 'critical_entry_extension'
  | 'delta'
  | 'indirect'
  | 'some_reasons'
  | 'distribution_point_form'
  | 'issuer_not_crl_signer';

const DEFECT_TEXT: Record<CrlDefect, string> = {
  no_crl_number: 'it has no cRLNumber (RFC 5280 §5.2.3)',
  crl_number_critical: 'its cRLNumber is marked critical (RFC 5280 §5.2.3)',
  crl_number_invalid: 'its cRLNumber is negative or longer than 20 octets (RFC 5280 §5.2.3)',
  critical_extension: 'it has a critical extension that is not supported (RFC 5280 §5.2)',
  critical_entry_extension: 'it has a critical entry extension that is not supported (RFC 5280 §5.3)',
  delta: 'it is a delta CRL, which is not supported',
  indirect: 'it is an indirect CRL, which is not supported',
  some_reasons: 'it covers only some revocation reasons, which is not supported',
  distribution_point_form: 'it names its distribution point in a form that is not supported',
  issuer_not_crl_signer: 'the keyUsage of its issuer does not include cRLSign (RFC 5280 §6.3.3)',
};

function unknownMessage(depth: number, reason: Reason, defect: CrlDefect | null): string {
  const why = defect === null ? REASON_TEXT[reason] : `${REASON_TEXT[reason]}: ${DEFECT_TEXT[defect]}`;
  return `revocation status of the certificate at depth ${depth} could not be determined: ${why}`;
}

// ---------------------------------------------------------------------------------------------
// DER helpers

function expectWhole(buf: Buffer, what: string): Tlv {
  const top = readTlv(buf, 0, buf.length);
  if (top.tag !== Tag.SEQUENCE || top.end !== buf.length) throw malformed(`${what} is not one DER SEQUENCE`);
  return top;
}

function readBool(buf: Buffer, tlv: Tlv): boolean {
  if (tlv.end - tlv.valueStart !== 1) throw malformed('BOOLEAN must be one octet');
  const value = buf[tlv.valueStart]!;
  if (value !== 0x00 && value !== 0xff) throw malformed('non-DER BOOLEAN');
  return value === 0xff;
}

/** A small non-negative INTEGER or ENUMERATED value. */
function readSmall(buf: Buffer, tlv: Tlv): number {
  const length = tlv.end - tlv.valueStart;
  if (length < 1 || length > 4 || (buf[tlv.valueStart]! & 0x80) !== 0) throw malformed('unexpected integer value');
  let value = 0;
  for (let i = tlv.valueStart; i < tlv.end; i++) value = value * 256 + buf[i]!;
  return value;
}

/**
 * An INTEGER as a comparison key: positive values without leading zero octets, so that a
 * non-minimal encoding (seen in the wild) still matches; negative ones (also seen) kept as is.
 */
function integerKey(buf: Buffer, tlv: Tlv): string {
  let start = tlv.valueStart;
  const end = tlv.end;
  if (end <= start) throw malformed('empty INTEGER');
  if ((buf[start]! & 0x80) !== 0) return `-${buf.toString('hex', start, end)}`;
  while (start < end - 1 && buf[start] === 0) start++;
  return buf.toString('hex', start, end);
}

function integerBig(buf: Buffer, tlv: Tlv): bigint {
  if (tlv.end - tlv.valueStart > 32) throw malformed('INTEGER too large');
  const key = integerKey(buf, tlv);
  return key.startsWith('-') ? -1n : BigInt(`0x${key}`);
}

/** The bits of a BIT STRING with no unused bits (signatures, keys). */
function readBits(buf: Buffer, tlv: Tlv): Buffer {
  if (tlv.end <= tlv.valueStart || buf[tlv.valueStart] !== 0) throw malformed('BIT STRING with unused bits');
  return buf.subarray(tlv.valueStart + 1, tlv.end);
}

function readOid(buf: Buffer, cursor: DerCursor, what: string): string {
  const tlv = cursor.expect(Tag.OID, what);
  return decodeOid(buf, tlv.valueStart, tlv.end);
}

/** X.509 Time (UTCTime or GeneralizedTime, `Z` only) as ms since the epoch, to the second. */
function readTime(buf: Buffer, tlv: Tlv, what: string): number {
  if (tlv.end - tlv.valueStart > 32) throw malformed(`${what} is too long`);
  const text = buf.toString('latin1', tlv.valueStart, tlv.end);
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === UTC_TIME) {
    match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (match === null) throw malformed(`${what} is not a valid UTCTime`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === GENERALIZED_TIME) {
    match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d*[1-9])?Z$/.exec(text);
    if (match === null) throw malformed(`${what} is not a valid GeneralizedTime`);
    year = Number(match[1]);
    if (year < 1950) throw malformed(`${what} is out of range`);
  } else {
    throw malformed(`${what} is not a time`);
  }
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (
    month < 1 ||
    month > 12 ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw malformed(`${what} is not a valid date`);
  }
  return ms;
}

interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING; its contents are the extension's DER. */
  readonly value: Tlv;
}

/** Reads `Extensions` (a SEQUENCE of Extension); duplicates are malformed (RFC 5280 §4.2). */
function readExtensions(buf: Buffer, list: Tlv, allowEmpty = false): Extension[] {
  if (list.tag !== Tag.SEQUENCE) throw malformed('extensions are not a SEQUENCE');
  const cursor = DerCursor.inside(buf, list);
  const out: Extension[] = [];
  while (!cursor.done) {
    const ext = DerCursor.inside(buf, cursor.expect(Tag.SEQUENCE, 'extension'));
    const oid = readOid(buf, ext, 'extnID');
    const criticalTlv = ext.optional(Tag.BOOLEAN, 'critical');
    const critical = criticalTlv === undefined ? false : readBool(buf, criticalTlv);
    const value = ext.expect(Tag.OCTET_STRING, 'extnValue');
    ext.finish('extension');
    if (out.some((seen) => seen.oid === oid)) throw malformed('duplicate extension');
    out.push({ oid, critical, value });
  }
  if (out.length === 0 && !allowEmpty) throw malformed('empty extensions');
  return out;
}

/** Minimal DER encoder for the OCSP request. */
function der(tag: number, ...parts: Buffer[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else if (length < 0x10000) header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  else throw new RangeError('value too long');
  return Buffer.concat([header, ...parts]);
}

function sha(algorithm: string, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest();
}

// ---------------------------------------------------------------------------------------------
// Signatures

interface SignatureAlgorithm {
  /** node:crypto digest name, or null for EdDSA. */
  readonly hash: string | null;
  /** `asymmetricKeyType` the key must have. */
  readonly keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448';
}

const SIGNATURE_ALGORITHMS: ReadonlyMap<string, SignatureAlgorithm> = new Map([
  ['1.2.840.113549.1.1.5', { hash: 'sha1', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.14', { hash: 'sha224', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', keyType: 'rsa' }],
  ['1.2.840.10045.4.1', { hash: 'sha1', keyType: 'ec' }],
  ['1.2.840.10045.4.3.1', { hash: 'sha224', keyType: 'ec' }],
  ['1.2.840.10045.4.3.2', { hash: 'sha256', keyType: 'ec' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', keyType: 'ec' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', keyType: 'ec' }],
  ['1.3.101.112', { hash: null, keyType: 'ed25519' }],
  ['1.3.101.113', { hash: null, keyType: 'ed448' }],
] as const);

/** The algorithm of an AlgorithmIdentifier, or null when not supported (MD5, PSS, ...). */
function readSignatureAlgorithm(buf: Buffer, tlv: Tlv): SignatureAlgorithm | null {
  const cursor = DerCursor.inside(buf, tlv);
  const oid = readOid(buf, cursor, 'signature algorithm');
  return SIGNATURE_ALGORITHMS.get(oid) ?? null;
}

function signatureValid(algorithm: SignatureAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== algorithm.keyType) return false;
  try {
    return verifySignature(algorithm.hash, data, key, signature);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// What revocation needs from a certificate, read once per X509Certificate object

interface CertFacts {
  /** `integerKey` of the serial number. */
  readonly serial: string;
  /** The serialNumber INTEGER as encoded, for the OCSP CertID. */
  readonly serialTlv: Buffer;
  /** The issuer Name as encoded. */
  readonly issuer: Buffer;
  /** The subject Name as encoded. */
  readonly subject: Buffer;
  /** subjectPublicKey bits (what an OCSP issuerKeyHash and a byKey ResponderID hash). */
  readonly keyBits: Buffer;
  readonly ca: boolean;
  /** keyUsage absent, or present with cRLSign: this certificate's key may sign CRLs (RFC 5280 §6.3.3 (f)). */
  readonly crlSign: boolean;
  /** First http(s) OCSP responder of authorityInfoAccess. */
  readonly ocspUrl: string | null;
  /** Hex DER of every GeneralName of cRLDistributionPoints; null without that extension. */
  readonly distributionPoints: ReadonlySet<string> | null;
  /** SHA-256 of the SubjectPublicKeyInfo, hex: the identity of this certificate as an issuer. */
  readonly keyId: string;
  keyHashSha1: Buffer | undefined;
  publicKey: KeyObject | undefined;
}

const factsCache = new WeakMap<X509Certificate, CertFacts | null>();

/** Facts of `cert`, or null when it cannot be read (its status is then unknown). */
function factsOf(cert: X509Certificate): CertFacts | null {
  let facts = factsCache.get(cert);
  if (facts === undefined) {
    try {
      facts = readFacts(cert);
    } catch {
      facts = null;
    }
    factsCache.set(cert, facts);
  }
  return facts;
}

function readFacts(cert: X509Certificate): CertFacts {
  const buf = cert.raw;
  const top = DerCursor.inside(buf, expectWhole(buf, 'certificate'));
  const tbs = DerCursor.inside(buf, top.expect(Tag.SEQUENCE, 'tbsCertificate'));
  tbs.optional(0xa0, 'version');
  const serial = tbs.expect(Tag.INTEGER, 'serialNumber');
  tbs.expect(Tag.SEQUENCE, 'signature');
  const issuer = tbs.expect(Tag.SEQUENCE, 'issuer');
  tbs.expect(Tag.SEQUENCE, 'validity');
  const subject = tbs.expect(Tag.SEQUENCE, 'subject');
  const spki = tbs.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const spkiCursor = DerCursor.inside(buf, spki);
  spkiCursor.expect(Tag.SEQUENCE, 'algorithm');
  const keyBits = readBits(buf, spkiCursor.expect(Tag.BIT_STRING, 'subjectPublicKey'));
  tbs.optional(0x81, 'issuerUniqueID');
  tbs.optional(0x82, 'subjectUniqueID');
  const extensionsTlv = tbs.optional(0xa3, 'extensions');

  let ocspUrl: string | null = null;
  let distributionPoints: Set<string> | null = null;
  let crlSign = true;
  if (extensionsTlv !== undefined) {
    const list = DerCursor.inside(buf, extensionsTlv).expect(Tag.SEQUENCE, 'extensions');
    for (const ext of readExtensions(buf, list)) {
      if (ext.oid === OID.authorityInfoAccess) ocspUrl = readOcspUrl(buf, ext.value);
      if (ext.oid === OID.crlDistributionPoints) distributionPoints = readDistributionPoints(buf, ext.value);
      if (ext.oid === OID.keyUsage) crlSign = allowsCrlSign(buf, ext.value);
    }
  }
  return {
    serial: integerKey(buf, serial),
    serialTlv: Buffer.from(buf.subarray(serial.start, serial.end)),
    issuer: Buffer.from(buf.subarray(issuer.start, issuer.end)),
    subject: Buffer.from(buf.subarray(subject.start, subject.end)),
    keyBits: Buffer.from(keyBits),
    ca: cert.ca,
    crlSign,
    ocspUrl,
    distributionPoints,
    keyId: createHash('sha256').update(buf.subarray(spki.start, spki.end)).digest('hex'),
    keyHashSha1: undefined,
    publicKey: undefined,
  };
}

/** cRLSign (bit 6) of a keyUsage extension value; a malformed one allows nothing. */
function allowsCrlSign(buf: Buffer, value: Tlv): boolean {
  try {
    const wrapper = DerCursor.inside(buf, value);
    const bits = wrapper.expect(Tag.BIT_STRING, 'keyUsage');
    wrapper.finish('keyUsage');
    const length = bits.end - bits.valueStart;
    return length >= 2 && (buf[bits.valueStart + 1]! & 0x02) !== 0;
  } catch {
    return false;
  }
}

/** The first http(s) id-ad-ocsp URI; a malformed extension names no responder. */
function readOcspUrl(buf: Buffer, value: Tlv): string | null {
  try {
    const list = DerCursor.inside(buf, value);
    const descriptions = DerCursor.inside(buf, list.expect(Tag.SEQUENCE, 'authorityInfoAccess'));
    list.finish('authorityInfoAccess');
    while (!descriptions.done) {
      const description = DerCursor.inside(buf, descriptions.expect(Tag.SEQUENCE, 'accessDescription'));
      const method = readOid(buf, description, 'accessMethod');
      const location = description.next('accessLocation');
      if (method !== OID.ocspAccess || location.tag !== 0x86) continue;
      const url = httpUrl(buf.toString('latin1', location.valueStart, location.end));
      if (url !== null) return url;
    }
  } catch {
    // fall through: no usable responder
  }
  return null;
}

function httpUrl(text: string): string | null {
  if (text.length > 2048 || !/^[\x21-\x7e]+$/.test(text)) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** GeneralNames of DistributionPointName.fullName (other forms are not compared). */
function addFullNames(buf: Buffer, dpName: Tlv, into: Set<string>): void {
  const inner = DerCursor.inside(buf, dpName);
  const choice = inner.next('distributionPointName');
  inner.finish('distributionPoint');
  if (choice.tag !== 0xa0) return; // nameRelativeToCRLIssuer
  const names = DerCursor.inside(buf, choice);
  while (!names.done) {
    const name = names.next('GeneralName');
    into.add(buf.toString('hex', name.start, name.end));
  }
}

/** Names of cRLDistributionPoints; a malformed extension yields an empty set (matches no CRL scope). */
function readDistributionPoints(buf: Buffer, value: Tlv): Set<string> {
  const names = new Set<string>();
  try {
    const outer = DerCursor.inside(buf, value);
    const points = DerCursor.inside(buf, outer.expect(Tag.SEQUENCE, 'cRLDistributionPoints'));
    while (!points.done) {
      const point = DerCursor.inside(buf, points.expect(Tag.SEQUENCE, 'DistributionPoint'));
      const name = point.optional(0xa0, 'distributionPoint');
      if (name !== undefined) addFullNames(buf, name, names);
      point.optional(0x81, 'reasons');
      const crlIssuer = point.optional(0xa2, 'cRLIssuer');
      if (crlIssuer !== undefined) {
        const issuers = DerCursor.inside(buf, crlIssuer);
        while (!issuers.done) {
          const general = issuers.next('GeneralName');
          names.add(buf.toString('hex', general.start, general.end));
        }
      }
    }
  } catch {
    names.clear();
  }
  return names;
}

function publicKeyOf(cert: X509Certificate, facts: CertFacts): KeyObject {
  facts.publicKey ??= cert.publicKey;
  return facts.publicKey;
}

function keyHashSha1(facts: CertFacts): Buffer {
  facts.keyHashSha1 ??= sha('sha1', facts.keyBits);
  return facts.keyHashSha1;
}

// ---------------------------------------------------------------------------------------------
// CRLs

interface ParsedCrl {
  readonly der: Buffer;
  readonly tbs: Buffer;
  readonly algorithm: SignatureAlgorithm;
  readonly signature: Buffer;
  readonly issuer: Buffer;
  readonly thisUpdate: number;
  readonly nextUpdate: number | null;
  /** `integerKey` of every revoked serial. */
  readonly revoked: ReadonlySet<string>;
  readonly number: bigint | null;
  readonly onlyUserCerts: boolean;
  readonly onlyCaCerts: boolean;
  readonly onlyAttributeCerts: boolean;
  /** Hex DER of the GeneralNames of the IDP distributionPoint; null when the CRL is not scoped to one. */
  readonly distributionPoint: ReadonlySet<string> | null;
  /** Why the CRL must not be used although it parsed (the first reason found); null when it may be. */
  readonly defect: CrlDefect | null;
  /** Issuer keyId → whether that key signed this CRL. */
  readonly verdicts: Map<string, boolean>;
  /** The key that first verified this CRL, to check that a reload comes from the same issuer. */
  verifiedKey: KeyObject | null;
}

/** Why a CRL cannot be used at all; the message is a fixed text. */
class CrlError extends Error {}

/**
 * Reads a CRL. What is not a CRL at all throws; a CRL that RFC 5280 says not to use parses with
 * its `defect` set, so that a certificate it would cover gets "no data" with the reason rather
 * than a CRL that silently counts, or a start-up error for a CRL fetched later.
 */
function parseCrl(buf: Buffer): ParsedCrl {
  const top = DerCursor.inside(buf, expectWhole(buf, 'CRL'));
  const tbsTlv = top.expect(Tag.SEQUENCE, 'tbsCertList');
  const outerAlgorithm = top.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  const signature = readBits(buf, top.expect(Tag.BIT_STRING, 'signatureValue'));
  top.finish('CRL');

  const tbs = DerCursor.inside(buf, tbsTlv);
  const versionTlv = tbs.optional(Tag.INTEGER, 'version');
  const version = versionTlv === undefined ? 0 : readSmall(buf, versionTlv);
  if (version !== 1 && versionTlv !== undefined) throw new CrlError('has an unsupported version');
  const innerAlgorithm = tbs.expect(Tag.SEQUENCE, 'signature');
  if (
    innerAlgorithm.end - innerAlgorithm.start !== outerAlgorithm.end - outerAlgorithm.start ||
    buf.compare(buf, innerAlgorithm.start, innerAlgorithm.end, outerAlgorithm.start, outerAlgorithm.end) !== 0
  ) {
    throw new CrlError('names two different signature algorithms');
  }
  const algorithm = readSignatureAlgorithm(buf, outerAlgorithm);
  if (algorithm === null) throw new CrlError('uses an unsupported signature algorithm');
  const issuer = tbs.expect(Tag.SEQUENCE, 'issuer');
  const thisUpdate = readTime(buf, tbs.next('thisUpdate'), 'thisUpdate');
  let nextUpdate: number | null = null;
  const peek = tbs.peekTag();
  if (peek === UTC_TIME || peek === GENERALIZED_TIME) nextUpdate = readTime(buf, tbs.next('nextUpdate'), 'nextUpdate');

  let defect: CrlDefect | null = null;
  const found = (kind: CrlDefect): void => {
    defect ??= kind;
  };

  const revoked = new Set<string>();
  const entries = tbs.optional(Tag.SEQUENCE, 'revokedCertificates');
  if (entries !== undefined) {
    const list = DerCursor.inside(buf, entries);
    while (!list.done) {
      const entry = DerCursor.inside(buf, list.expect(Tag.SEQUENCE, 'revoked certificate'));
      const serial = integerKey(buf, entry.expect(Tag.INTEGER, 'userCertificate'));
      readTime(buf, entry.next('revocationDate'), 'revocationDate');
      let reason = -1;
      const entryExtensions = entry.optional(Tag.SEQUENCE, 'crlEntryExtensions');
      entry.finish('revoked certificate');
      if (entryExtensions !== undefined) {
        // Some generators write an empty list here; it means the same as none.
        for (const ext of readExtensions(buf, entryExtensions, true)) {
          if (ext.oid === OID.reasonCode) {
            const value = DerCursor.inside(buf, ext.value);
            reason = readSmall(buf, value.expect(ENUMERATED, 'reasonCode'));
            value.finish('reasonCode');
          } else if (ext.oid === OID.certificateIssuer) {
            found('indirect'); // only an indirect CRL names other issuers (§5.3.3)
          } else if (ext.critical && !KNOWN_ENTRY_EXTENSIONS.has(ext.oid)) {
            found('critical_entry_extension');
          }
        }
      }
      if (reason !== REMOVE_FROM_CRL) revoked.add(serial);
    }
  }

  let number: bigint | null = null;
  let onlyUserCerts = false;
  let onlyCaCerts = false;
  let onlyAttributeCerts = false;
  let distributionPoint: Set<string> | null = null;
  const extensionsTlv = tbs.optional(0xa0, 'crlExtensions');
  tbs.finish('tbsCertList');
  if (extensionsTlv !== undefined) {
    if (version !== 1) throw new CrlError('is a v1 CRL with extensions');
    const wrapper = DerCursor.inside(buf, extensionsTlv);
    const list = wrapper.expect(Tag.SEQUENCE, 'crlExtensions');
    wrapper.finish('crlExtensions');
    for (const ext of readExtensions(buf, list)) {
      if (ext.oid === OID.deltaCrlIndicator) {
        found('delta');
      } else if (ext.oid === OID.crlNumber) {
        const value = DerCursor.inside(buf, ext.value);
        const tlv = value.expect(Tag.INTEGER, 'cRLNumber');
        value.finish('cRLNumber');
        if (ext.critical) found('crl_number_critical');
        const octets = tlv.end - tlv.valueStart;
        const negative = octets > 0 && (buf[tlv.valueStart]! & 0x80) !== 0;
        // A leading zero octet only carries the sign of a 20-octet number.
        const length = octets > 1 && buf[tlv.valueStart] === 0 ? octets - 1 : octets;
        if (negative || length > MAX_CRL_NUMBER_OCTETS) found('crl_number_invalid');
        else number = integerBig(buf, tlv);
      } else if (ext.oid === OID.issuingDistributionPoint) {
        const outer = DerCursor.inside(buf, ext.value);
        const idp = DerCursor.inside(buf, outer.expect(Tag.SEQUENCE, 'issuingDistributionPoint'));
        outer.finish('issuingDistributionPoint');
        const point = idp.optional(0xa0, 'distributionPoint');
        if (point !== undefined) {
          distributionPoint = new Set<string>();
          addFullNames(buf, point, distributionPoint);
          if (distributionPoint.size === 0) found('distribution_point_form');
        }
        const user = idp.optional(0x81, 'onlyContainsUserCerts');
        const ca = idp.optional(0x82, 'onlyContainsCACerts');
        const reasons = idp.optional(0x83, 'onlySomeReasons');
        const indirect = idp.optional(0x84, 'indirectCRL');
        const attribute = idp.optional(0x85, 'onlyContainsAttributeCerts');
        idp.finish('issuingDistributionPoint');
        onlyUserCerts = user !== undefined && readBool(buf, user);
        onlyCaCerts = ca !== undefined && readBool(buf, ca);
        onlyAttributeCerts = attribute !== undefined && readBool(buf, attribute);
        if (reasons !== undefined) found('some_reasons');
        if (indirect !== undefined && readBool(buf, indirect)) found('indirect');
      } else if (ext.critical && !IGNORABLE_CRITICAL_CRL_EXTENSIONS.has(ext.oid)) {
        found('critical_extension');
      }
    }
  }
  if (number === null) found('no_crl_number');
  return {
    der: buf,
    tbs: buf.subarray(tbsTlv.start, tbsTlv.end),
    algorithm,
    signature,
    issuer: buf.subarray(issuer.start, issuer.end),
    thisUpdate,
    nextUpdate,
    revoked,
    number,
    onlyUserCerts,
    onlyCaCerts,
    onlyAttributeCerts,
    distributionPoint,
    defect,
    verdicts: new Map(),
    verifiedKey: null,
  };
}

const PEM_CRL = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]*)-----END X509 CRL-----/g;

/** Every CRL in `data`: one DER CRL, or PEM text with one or more `X509 CRL` blocks. */
function parseCrlBundle(data: Buffer | string): ParsedCrl[] {
  const text = typeof data === 'string' ? data : data[0] === 0x30 ? null : data.toString('latin1');
  if (text === null) return [parseCrl(Buffer.from(data as Buffer))];
  const crls: ParsedCrl[] = [];
  for (const match of text.matchAll(PEM_CRL)) crls.push(parseCrl(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')));
  if (crls.length === 0) throw new CrlError('holds no DER CRL or PEM "X509 CRL" block');
  return crls;
}

/** A fixed text for a CRL that could not be parsed. */
function crlProblem(error: unknown): string {
  if (error instanceof CrlError) return error.message;
  if (isClientCertError(error)) return `is not a valid CRL (${error.message.replace(/^malformed certificate: /, '')})`;
  return 'is not a valid CRL';
}

/** True when `crl` could be used for a certificate with these facts (IDP scope). */
function crlCovers(crl: ParsedCrl, facts: CertFacts): boolean {
  if (crl.onlyAttributeCerts) return false;
  if (crl.onlyUserCerts && facts.ca) return false;
  if (crl.onlyCaCerts && !facts.ca) return false;
  if (crl.distributionPoint !== null) {
    if (facts.distributionPoints === null) return false;
    for (const name of facts.distributionPoints) if (crl.distributionPoint.has(name)) return true;
    return false;
  }
  return true;
}

function crlSignedBy(crl: ParsedCrl, issuer: X509Certificate, facts: CertFacts): boolean {
  let verdict = crl.verdicts.get(facts.keyId);
  if (verdict === undefined) {
    const key = publicKeyOf(issuer, facts);
    verdict = signatureValid(crl.algorithm, key, crl.tbs, crl.signature);
    if (crl.verdicts.size >= MAX_VERDICTS_PER_CRL) crl.verdicts.clear();
    crl.verdicts.set(facts.keyId, verdict);
    if (verdict && crl.verifiedKey === null) crl.verifiedKey = key;
  }
  return verdict;
}

/** True when `next` is older than `current` by thisUpdate or cRLNumber (a replay). */
function isRollback(next: ParsedCrl, current: ParsedCrl): boolean {
  if (next.thisUpdate < current.thisUpdate) return true;
  return next.number !== null && current.number !== null && next.number < current.number;
}

interface CrlEntry {
  readonly crl: ParsedCrl;
  /** Check-clock time it was loaded, for CRLs without nextUpdate. */
  readonly loadedAt: number;
}

interface CrlSource {
  /** `static` (a Buffer or PEM text: never reloaded), `file` or `url`. */
  readonly kind: 'static' | 'file' | 'url';
  /** The option path, e.g. `revocation.crls[1]`. */
  readonly path: string;
  /** File path or URL. */
  readonly location: string;
  /** null until first loaded (URLs). */
  entries: CrlEntry[] | null;
  /** Check-clock time from which a reload is due. */
  refreshAt: number;
  inflight: Promise<void> | null;
  /** performance.now() before which no new load starts. */
  retryAt: number;
  /** performance.now() of the last failed load. */
  failedAt: number;
}

/** When a CRL should be loaded again: its last tenth (at most an hour) before nextUpdate. */
function refreshTime(entry: CrlEntry): number {
  const { thisUpdate, nextUpdate } = entry.crl;
  if (nextUpdate === null) return entry.loadedAt + HOUR_MS;
  return nextUpdate - Math.min(Math.max((nextUpdate - thisUpdate) / 10, 0), HOUR_MS);
}

function sourceRefreshAt(source: CrlSource): number {
  if (source.kind === 'static' || source.entries === null) return Infinity;
  let at = Infinity;
  for (const entry of source.entries) at = Math.min(at, refreshTime(entry));
  return at;
}

// ---------------------------------------------------------------------------------------------
// Network

/** Why a fetch failed, as an unknown-status reason. */
class FetchError extends Error {
  constructor(readonly reason: Reason) {
    super(REASON_TEXT[reason]);
  }
}

interface Exchange {
  method: 'GET' | 'POST';
  body?: Buffer;
  contentType?: string;
  accept: string;
  timeoutMs: number;
  maxBytes: number;
}

/** One HTTP exchange on a fresh connection with an overall deadline; resolves to a 200 body. */
function exchange(url: string, init: Exchange): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (error: FetchError | null, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== null) {
        request?.destroy();
        reject(error);
      } else {
        resolve(body!);
      }
    };
    const timer = setTimeout(() => finish(new FetchError('ocsp_unreachable')), init.timeoutMs);
    const headers: http.OutgoingHttpHeaders = { accept: init.accept, connection: 'close', 'user-agent': 'clientcert' };
    if (init.body !== undefined) {
      headers['content-type'] = init.contentType;
      headers['content-length'] = init.body.length;
    }
    try {
      const client = url.startsWith('https:') ? https : http;
      request = client.request(url, { method: init.method, headers, agent: false });
    } catch {
      finish(new FetchError('ocsp_unreachable'));
      return;
    }
    request.on('error', () => finish(new FetchError('ocsp_unreachable')));
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        finish(new FetchError('ocsp_error'));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (declared > init.maxBytes) {
        finish(new FetchError('ocsp_invalid'));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > init.maxBytes) finish(new FetchError('ocsp_invalid'));
        else chunks.push(chunk);
      });
      response.on('end', () => finish(null, Buffer.concat(chunks, size)));
      response.on('error', () => finish(new FetchError('ocsp_unreachable')));
      response.on('close', () => {
        if (!response.complete) finish(new FetchError('ocsp_unreachable'));
      });
    });
    request.end(init.body);
  });
}

// ---------------------------------------------------------------------------------------------
// OCSP

const SHA1_ALGORITHM_ID = Buffer.from('300906052b0e03021a0500', 'hex');
const NONCE_OID = Buffer.from('2b0601050507300102', 'hex');
const CERT_ID_HASHES: ReadonlyMap<string, string> = new Map([
  ['1.3.14.3.2.26', 'sha1'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
]);

/** DER OCSPRequest for one certificate: SHA-1 CertID, optionally a nonce. */
function buildOcspRequest(facts: CertFacts, issuerFacts: CertFacts, nonce: Buffer | null): Buffer {
  const certId = der(
    Tag.SEQUENCE,
    SHA1_ALGORITHM_ID,
    der(Tag.OCTET_STRING, sha('sha1', facts.issuer)),
    der(Tag.OCTET_STRING, keyHashSha1(issuerFacts)),
    facts.serialTlv,
  );
  const parts = [der(Tag.SEQUENCE, der(Tag.SEQUENCE, certId))];
  if (nonce !== null) {
    const extension = der(Tag.SEQUENCE, der(Tag.OID, NONCE_OID), der(Tag.OCTET_STRING, der(Tag.OCTET_STRING, nonce)));
    parts.push(der(0xa2, der(Tag.SEQUENCE, extension)));
  }
  return der(Tag.SEQUENCE, der(Tag.SEQUENCE, ...parts));
}

interface OcspAnswer {
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly thisUpdate: number;
  readonly nextUpdate: number | null;
}

interface OcspQuery {
  readonly cert: X509Certificate;
  readonly facts: CertFacts;
  readonly issuer: X509Certificate;
  readonly issuerFacts: CertFacts;
  readonly nonce: Buffer | null;
  readonly now: number;
  readonly maxAgeMs: number;
}

/** True when a CertID of the response names the certificate asked about. */
function certIdMatches(buf: Buffer, certId: Tlv, query: OcspQuery): boolean {
  const cursor = DerCursor.inside(buf, certId);
  const algorithm = DerCursor.inside(buf, cursor.expect(Tag.SEQUENCE, 'hashAlgorithm'));
  const hash = CERT_ID_HASHES.get(readOid(buf, algorithm, 'hashAlgorithm'));
  const nameHash = cursor.expect(Tag.OCTET_STRING, 'issuerNameHash');
  const keyHash = cursor.expect(Tag.OCTET_STRING, 'issuerKeyHash');
  const serial = cursor.expect(Tag.INTEGER, 'serialNumber');
  cursor.finish('CertID');
  if (hash === undefined || integerKey(buf, serial) !== query.facts.serial) return false;
  const expectedKey = hash === 'sha1' ? keyHashSha1(query.issuerFacts) : sha(hash, query.issuerFacts.keyBits);
  return (
    buf.subarray(nameHash.valueStart, nameHash.end).equals(sha(hash, query.facts.issuer)) &&
    buf.subarray(keyHash.valueStart, keyHash.end).equals(expectedKey)
  );
}

/** A delegated responder certificate: issued by the issuer, OCSPSigning EKU, valid now. */
function isDelegatedResponder(candidate: X509Certificate, query: OcspQuery): boolean {
  try {
    if (!candidate.checkIssued(query.issuer) || !candidate.verify(publicKeyOf(query.issuer, query.issuerFacts)))
      return false;
    if (!(candidate.keyUsage ?? []).includes(OID.ocspSigning)) return false;
    const { notBefore, notAfter } = certificateValidity(candidate);
    return query.now >= notBefore.getTime() && query.now <= notAfter.getTime();
  } catch {
    return false;
  }
}

/** Validates a DER OCSPResponse for `query`; throws FetchError with the reason otherwise. */
function parseOcspResponse(buf: Buffer, query: OcspQuery): OcspAnswer {
  try {
    return readOcspResponse(buf, query);
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError('ocsp_invalid');
  }
}

function readOcspResponse(buf: Buffer, query: OcspQuery): OcspAnswer {
  const top = DerCursor.inside(buf, expectWhole(buf, 'OCSPResponse'));
  const status = readSmall(buf, top.expect(ENUMERATED, 'responseStatus'));
  if (status !== 0) throw new FetchError('ocsp_error');
  const bytesWrapper = DerCursor.inside(buf, top.expect(0xa0, 'responseBytes'));
  top.finish('OCSPResponse');
  const responseBytes = DerCursor.inside(buf, bytesWrapper.expect(Tag.SEQUENCE, 'ResponseBytes'));
  bytesWrapper.finish('responseBytes');
  if (readOid(buf, responseBytes, 'responseType') !== OID.ocspBasic) throw new FetchError('ocsp_invalid');
  const responseOctets = responseBytes.expect(Tag.OCTET_STRING, 'response');
  responseBytes.finish('ResponseBytes');

  const basicTlv = readTlv(buf, responseOctets.valueStart, responseOctets.end);
  if (basicTlv.tag !== Tag.SEQUENCE || basicTlv.end !== responseOctets.end) throw malformed('BasicOCSPResponse');
  const basic = DerCursor.inside(buf, basicTlv);
  const tbsTlv = basic.expect(Tag.SEQUENCE, 'tbsResponseData');
  const algorithm = readSignatureAlgorithm(buf, basic.expect(Tag.SEQUENCE, 'signatureAlgorithm'));
  const signature = readBits(buf, basic.expect(Tag.BIT_STRING, 'signature'));
  const certsTlv = basic.optional(0xa0, 'certs');
  basic.finish('BasicOCSPResponse');
  if (algorithm === null) throw new FetchError('ocsp_invalid');

  const data = DerCursor.inside(buf, tbsTlv);
  const version = data.optional(0xa0, 'version');
  if (version !== undefined) {
    const inner = DerCursor.inside(buf, version);
    if (readSmall(buf, inner.expect(Tag.INTEGER, 'version')) !== 0) throw new FetchError('ocsp_invalid');
  }
  const responderId = data.next('responderID');
  readTime(buf, data.expect(GENERALIZED_TIME, 'producedAt'), 'producedAt');
  const responses = DerCursor.inside(buf, data.expect(Tag.SEQUENCE, 'responses'));
  const responseExtensions = data.optional(0xa1, 'responseExtensions');
  data.finish('ResponseData');

  // The signer: the issuer itself, or a delegated responder certificate from `certs`.
  const tbs = buf.subarray(tbsTlv.start, tbsTlv.end);
  let signerKey: KeyObject | null = null;
  const byName = responderId.tag === 0xa1;
  if (!byName && responderId.tag !== 0xa2) throw new FetchError('ocsp_invalid');
  const idInner = DerCursor.inside(buf, responderId);
  const id = idInner.next('ResponderID');
  idInner.finish('ResponderID');
  if (byName ? id.tag !== Tag.SEQUENCE : id.tag !== Tag.OCTET_STRING) throw new FetchError('ocsp_invalid');
  const idBytes = byName ? buf.subarray(id.start, id.end) : buf.subarray(id.valueStart, id.end);
  const matchesId = (facts: CertFacts): boolean =>
    byName ? idBytes.equals(facts.subject) : idBytes.equals(keyHashSha1(facts));
  if (matchesId(query.issuerFacts)) {
    signerKey = publicKeyOf(query.issuer, query.issuerFacts);
  } else if (certsTlv !== undefined) {
    const wrapper = DerCursor.inside(buf, certsTlv);
    const list = DerCursor.inside(buf, wrapper.expect(Tag.SEQUENCE, 'certs'));
    for (let count = 0; !list.done && count < MAX_RESPONSE_CERTS && signerKey === null; count++) {
      const certTlv = list.expect(Tag.SEQUENCE, 'certificate');
      let candidate: X509Certificate;
      try {
        candidate = new X509Certificate(buf.subarray(certTlv.start, certTlv.end));
      } catch {
        continue;
      }
      const facts = factsOf(candidate);
      if (facts !== null && matchesId(facts) && isDelegatedResponder(candidate, query))
        signerKey = publicKeyOf(candidate, facts);
    }
  }
  if (signerKey === null || !signatureValid(algorithm, signerKey, tbs, signature)) throw new FetchError('ocsp_invalid');

  if (responseExtensions !== undefined) {
    const wrapper = DerCursor.inside(buf, responseExtensions);
    const extensions = readExtensions(buf, wrapper.expect(Tag.SEQUENCE, 'responseExtensions'));
    wrapper.finish('responseExtensions');
    let nonceSeen = false;
    for (const ext of extensions) {
      if (ext.oid === OID.ocspNonce) {
        nonceSeen = true;
        if (query.nonce !== null) {
          const expected = der(Tag.OCTET_STRING, query.nonce);
          if (!buf.subarray(ext.value.valueStart, ext.value.end).equals(expected)) throw new FetchError('ocsp_invalid');
        }
      } else if (ext.critical) {
        throw new FetchError('ocsp_invalid');
      }
    }
    if (query.nonce !== null && !nonceSeen) throw new FetchError('ocsp_invalid');
  } else if (query.nonce !== null) {
    throw new FetchError('ocsp_invalid');
  }

  for (let count = 0; !responses.done && count < MAX_SINGLE_RESPONSES; count++) {
    const single = DerCursor.inside(buf, responses.expect(Tag.SEQUENCE, 'SingleResponse'));
    const certId = single.expect(Tag.SEQUENCE, 'certID');
    if (!certIdMatches(buf, certId, query)) continue;
    const certStatus = single.next('certStatus');
    let status: OcspAnswer['status'];
    if (certStatus.tag === 0x80 && certStatus.end === certStatus.valueStart) status = 'good';
    else if (certStatus.tag === 0xa1) status = 'revoked';
    else if (certStatus.tag === 0x82 && certStatus.end === certStatus.valueStart) status = 'unknown';
    else throw new FetchError('ocsp_invalid');
    const thisUpdate = readTime(buf, single.expect(GENERALIZED_TIME, 'thisUpdate'), 'thisUpdate');
    let nextUpdate: number | null = null;
    const next = single.optional(0xa0, 'nextUpdate');
    if (next !== undefined) {
      const inner = DerCursor.inside(buf, next);
      nextUpdate = readTime(buf, inner.expect(GENERALIZED_TIME, 'nextUpdate'), 'nextUpdate');
      inner.finish('nextUpdate');
    }
    const singleExtensions = single.optional(0xa1, 'singleExtensions');
    single.finish('SingleResponse');
    if (singleExtensions !== undefined) {
      const wrapper = DerCursor.inside(buf, singleExtensions);
      for (const ext of readExtensions(buf, wrapper.expect(Tag.SEQUENCE, 'singleExtensions'))) {
        if (ext.critical) throw new FetchError('ocsp_invalid');
      }
    }
    // Fresh: not dated in the future, not past nextUpdate, and without nextUpdate not older than the cache limit.
    if (thisUpdate > query.now + CLOCK_LEEWAY_MS) throw new FetchError('ocsp_invalid');
    if (nextUpdate !== null ? query.now > nextUpdate : query.now - thisUpdate > query.maxAgeMs) {
      throw new FetchError('ocsp_invalid');
    }
    return { status, thisUpdate, nextUpdate };
  }
  throw new FetchError('ocsp_invalid');
}

interface OcspCacheEntry {
  readonly status: OcspAnswer['status'];
  readonly thisUpdate: number;
  /** Check-clock time until which the answer is used. */
  readonly until: number;
}

interface OcspFailure {
  readonly reason: Reason;
  /** performance.now() of the failure and before which no new attempt starts. */
  readonly at: number;
  readonly retryAt: number;
}

// ---------------------------------------------------------------------------------------------
// Compiling the options

const POLICIES: readonly RevocationPolicy[] = ['off', 'soft', 'strict'];
const SCOPES: readonly RevocationScope[] = ['chain', 'leaf'];
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['policy', 'crls', 'ocsp', 'scope', 'timeoutMs', 'retryAfterMs']);
const KNOWN_OCSP_OPTIONS: ReadonlySet<string> = new Set(['responderUrl', 'timeoutMs', 'nonce', 'maxCacheSeconds']);

function checkTimeout(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw invalidOption(path, `must be a number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

function compileCrlSource(input: unknown, path: string): CrlSource {
  const source = (kind: CrlSource['kind'], location: string, crls: ParsedCrl[] | null): CrlSource => {
    const now = Date.now();
    const entries = crls === null ? null : crls.map((crl) => ({ crl, loadedAt: now }));
    const compiled: CrlSource = {
      kind,
      path,
      location,
      entries,
      refreshAt: Infinity,
      inflight: null,
      retryAt: 0,
      failedAt: -Infinity,
    };
    compiled.refreshAt = sourceRefreshAt(compiled);
    return compiled;
  };
  const parse = (data: Buffer | string): ParsedCrl[] => {
    try {
      return parseCrlBundle(data);
    } catch (error) {
      throw invalidOption(path, crlProblem(error));
    }
  };
  if (Buffer.isBuffer(input)) return source('static', '', parse(input));
  if (typeof input !== 'string' || input.length === 0) {
    throw invalidOption(path, 'must be a file path, an http(s) URL, PEM text or a Buffer');
  }
  if (input.includes('-----BEGIN')) return source('static', '', parse(input));
  if (/^https?:\/\//i.test(input)) {
    const url = httpUrl(input);
    if (url === null) throw invalidOption(path, 'is not a valid http(s) URL');
    return source('url', url, null);
  }
  let file = input;
  if (/^file:/i.test(input)) {
    try {
      file = fileURLToPath(input);
    } catch {
      throw invalidOption(path, 'is not a valid file URL');
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw invalidOption(path, 'must be an http(s) URL, a file path, PEM text or a Buffer');
  }
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw invalidOption(path, `could not be read (${typeof code === 'string' ? code : 'error'})`);
  }
  return source('file', file, parse(data));
}

/** Validates `options` once; every mistake is an `invalid_option` naming the option's path. */
export function compileRevocation(
  options: RevocationOptions | undefined,
  optionPath = 'revocation',
): RevocationChecker {
  if (options === undefined || options === null) return new Checker(OFF);
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidOption(optionPath, 'must be an object');
  rejectUnknownOptions(options, KNOWN_OPTIONS, optionPath);
  if (options.policy !== undefined && !POLICIES.includes(options.policy)) {
    throw invalidOption(`${optionPath}.policy`, `must be one of ${POLICIES.join(', ')}`);
  }
  const scope = options.scope ?? 'chain';
  if (!SCOPES.includes(scope)) throw invalidOption(`${optionPath}.scope`, `must be one of ${SCOPES.join(', ')}`);
  const timeoutMs = checkTimeout(options.timeoutMs, `${optionPath}.timeoutMs`, DEFAULT_TIMEOUT_MS);
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
    throw invalidOption(`${optionPath}.retryAfterMs`, 'must be a number of milliseconds >= 0');
  }

  const crls: CrlSource[] = [];
  if (options.crls !== undefined) {
    const list: readonly unknown[] = Array.isArray(options.crls) ? options.crls : [options.crls];
    const isList = Array.isArray(options.crls);
    for (const [index, item] of list.entries()) {
      crls.push(compileCrlSource(item, isList ? `${optionPath}.crls[${index}]` : `${optionPath}.crls`));
    }
  }

  let ocsp: CompiledOcsp | null = null;
  const ocspOption = options.ocsp ?? false;
  if (ocspOption !== false) {
    if (ocspOption !== true && (typeof ocspOption !== 'object' || ocspOption === null || Array.isArray(ocspOption))) {
      throw invalidOption(`${optionPath}.ocsp`, 'must be a boolean or an object');
    }
    const settings: OcspOptions = ocspOption === true ? {} : ocspOption;
    rejectUnknownOptions(settings, KNOWN_OCSP_OPTIONS, `${optionPath}.ocsp`);
    let responderUrl: string | null = null;
    if (settings.responderUrl !== undefined) {
      responderUrl = typeof settings.responderUrl === 'string' ? httpUrl(settings.responderUrl) : null;
      if (responderUrl === null) throw invalidOption(`${optionPath}.ocsp.responderUrl`, 'must be an http(s) URL');
    }
    if (settings.nonce !== undefined && typeof settings.nonce !== 'boolean') {
      throw invalidOption(`${optionPath}.ocsp.nonce`, 'must be a boolean');
    }
    const maxCache = settings.maxCacheSeconds ?? DEFAULT_OCSP_MAX_CACHE_SECONDS;
    if (typeof maxCache !== 'number' || !Number.isFinite(maxCache) || maxCache <= 0) {
      throw invalidOption(`${optionPath}.ocsp.maxCacheSeconds`, 'must be a number of seconds > 0');
    }
    ocsp = {
      responderUrl,
      timeoutMs: checkTimeout(settings.timeoutMs, `${optionPath}.ocsp.timeoutMs`, timeoutMs),
      nonce: settings.nonce ?? false,
      maxCacheMs: maxCache * 1000,
    };
  }

  const configured = crls.length > 0 || ocsp !== null;
  const policy = options.policy ?? (configured ? 'strict' : 'off');
  if (policy !== 'off' && !configured) {
    throw invalidOption(`${optionPath}.policy`, `is "${policy}" but neither crls nor ocsp is configured`);
  }
  return new Checker({ policy, scope, crls, ocsp, timeoutMs, retryAfterMs });
}

interface CompiledOcsp {
  readonly responderUrl: string | null;
  readonly timeoutMs: number;
  readonly nonce: boolean;
  readonly maxCacheMs: number;
}

interface CompiledRevocation {
  readonly policy: RevocationPolicy;
  readonly scope: RevocationScope;
  readonly crls: readonly CrlSource[];
  readonly ocsp: CompiledOcsp | null;
  readonly timeoutMs: number;
  readonly retryAfterMs: number;
}

const OFF: CompiledRevocation = {
  policy: 'off',
  scope: 'chain',
  crls: [],
  ocsp: null,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  retryAfterMs: DEFAULT_RETRY_AFTER_MS,
};

// ---------------------------------------------------------------------------------------------
// Checking

const GOOD_FOREVER: RevocationResult = Object.freeze({ status: 'good', validUntil: Infinity });

/** The answer for one certificate. */
type Answer =
  | { readonly kind: 'good'; readonly until: number }
  | { readonly kind: 'revoked'; readonly until: number }
  | {
      readonly kind: 'unknown';
      readonly until: number;
      readonly transient: boolean;
      readonly reason: Reason;
      /** With reason `crl_invalid`: what is wrong with the CRL. */
      readonly defect?: CrlDefect;
    }
  | { readonly kind: 'pending' };

const PENDING: Answer = { kind: 'pending' };

/** What one evaluation round may do. */
interface Round {
  /** May start CRL loads. */
  readonly crl: boolean;
  /** May start OCSP requests. */
  readonly ocsp: boolean;
  /** May wait for loads and requests in flight (false in the last round). */
  readonly wait: boolean;
  /** performance.now() when the check began: nothing that failed since is tried again. */
  readonly since: number;
  /** Promises to wait for, filled in by the round. */
  pending: Promise<void>[] | null;
}

class Checker implements RevocationChecker {
  readonly policy: RevocationPolicy;
  readonly description: string;
  readonly problems: readonly string[];
  readonly #scope: RevocationScope;
  readonly #crls: readonly CrlSource[];
  readonly #ocsp: CompiledOcsp | null;
  readonly #timeoutMs: number;
  readonly #retryAfterMs: number;
  readonly #ocspCache = new Map<string, OcspCacheEntry>();
  readonly #ocspInflight = new Map<string, Promise<void>>();
  readonly #ocspFailures = new Map<string, OcspFailure>();

  constructor(compiled: CompiledRevocation) {
    this.policy = compiled.policy;
    this.#scope = compiled.scope;
    this.#crls = compiled.crls;
    this.#ocsp = compiled.ocsp;
    this.#timeoutMs = compiled.timeoutMs;
    this.#retryAfterMs = compiled.retryAfterMs;
    this.description = describe(compiled);
    this.problems = Object.freeze(compiled.policy === 'off' ? [] : crlProblems(compiled.crls));
  }

  decide(result: RevocationResult): RevocationDecision {
    return decideRevocation(result, this.policy);
  }

  check(chain: readonly X509Certificate[], now: Date): RevocationResult | Promise<RevocationResult> {
    if (this.policy === 'off' || chain.length < 2) return GOOD_FOREVER;
    const t = now.getTime();
    if (Number.isNaN(t)) throw new ClientCertError('invalid_option', 'revocation check: now must be a valid Date');
    const round: Round = { crl: true, ocsp: true, wait: true, since: performance.now(), pending: null };
    const first = this.#evaluate(chain, t, round);
    if (first !== null) return first;
    return this.#finish(chain, t, round);
  }

  /** Waits for the first round's fetches, then evaluates again: OCSP may still be needed, then nothing more. */
  async #finish(chain: readonly X509Certificate[], t: number, first: Round): Promise<RevocationResult> {
    await Promise.all(first.pending!);
    const second: Round = { crl: false, ocsp: true, wait: true, since: first.since, pending: null };
    const result = this.#evaluate(chain, t, second);
    if (result !== null) return result;
    await Promise.all(second.pending!);
    return this.#evaluate(chain, t, { crl: false, ocsp: false, wait: false, since: first.since, pending: null })!;
  }

  /** The result, or null when `round.pending` must be awaited first. */
  #evaluate(chain: readonly X509Certificate[], t: number, round: Round): RevocationResult | null {
    const last = this.#scope === 'leaf' ? 1 : chain.length - 1;
    let until = Infinity;
    let unknownDepth = -1;
    let unknownReason: Reason = 'no_source';
    let unknownDefect: CrlDefect | null = null;
    let transient = false;
    for (let depth = 0; depth < last; depth++) {
      const answer = this.#answer(chain[depth]!, chain[depth + 1]!, t, round);
      switch (answer.kind) {
        case 'revoked':
          return { status: 'revoked', depth, message: revokedMessage(depth), validUntil: answer.until };
        case 'good':
          until = Math.min(until, answer.until);
          break;
        case 'unknown':
          if (unknownDepth < 0) {
            unknownDepth = depth;
            unknownReason = answer.reason;
            unknownDefect = answer.defect ?? null;
          }
          transient ||= answer.transient;
          until = Math.min(until, answer.until);
          break;
        default:
          break; // pending: round.pending holds what to wait for
      }
    }
    if (round.pending !== null) return null;
    if (unknownDepth >= 0) {
      return {
        status: 'unknown',
        depth: unknownDepth,
        transient,
        message: unknownMessage(unknownDepth, unknownReason, unknownDefect),
        validUntil: transient ? t : until,
      };
    }
    return { status: 'good', validUntil: until };
  }

  #answer(cert: X509Certificate, issuer: X509Certificate, t: number, round: Round): Answer {
    const facts = factsOf(cert);
    const issuerFacts = factsOf(issuer);
    if (facts === null || issuerFacts === null)
      return { kind: 'unknown', until: Infinity, transient: false, reason: 'unreadable' };
    const crl = this.#crls.length > 0 ? this.#crlAnswer(facts, issuer, issuerFacts, t, round) : null;
    if (crl !== null && crl.kind !== 'unknown') return crl;
    if (this.#ocsp === null) return crl ?? { kind: 'unknown', until: Infinity, transient: false, reason: 'no_source' };
    const ocsp = this.#ocspAnswer(cert, facts, issuer, issuerFacts, t, round);
    if (ocsp.kind !== 'unknown' || crl === null) return ocsp;
    // Both unknown: the OCSP reason unless there was no responder to ask.
    const transient = ocsp.transient || crl.transient;
    const until = Math.min(ocsp.until, crl.until);
    if (ocsp.reason !== 'no_responder') return { kind: 'unknown', reason: ocsp.reason, transient, until };
    if (crl.reason === 'no_crl') return { kind: 'unknown', reason: 'no_source', transient, until };
    return { ...crl, transient, until };
  }

  // -- CRLs -----------------------------------------------------------------------------------

  #crlAnswer(facts: CertFacts, issuer: X509Certificate, issuerFacts: CertFacts, t: number, round: Round): Answer {
    let good = false;
    let until = Infinity;
    let pending = false;
    let unavailable = false;
    let stale = false;
    let staleTransient = false;
    let invalid: { defect: CrlDefect; until: number } | null = null;
    for (const source of this.#crls) {
      if (source.kind !== 'static' && (source.entries === null || t >= source.refreshAt))
        this.#maybeLoad(source, t, round);
      if (source.entries === null) {
        if (source.inflight !== null && round.wait) {
          pending = true;
          (round.pending ??= []).push(source.inflight);
        } else {
          unavailable = true;
        }
        continue;
      }
      for (const entry of source.entries) {
        const crl = entry.crl;
        if (!crl.issuer.equals(facts.issuer) || !crlCovers(crl, facts) || !crlSignedBy(crl, issuer, issuerFacts))
          continue;
        // Signed by the issuer, but not to be used: no data, neither good nor revoked (§6.3.3).
        const defect = crl.defect ?? (issuerFacts.crlSign ? null : 'issuer_not_crl_signer');
        if (defect !== null) {
          // Until new data may come: the next load of a file or URL, never for a CRL given inline.
          invalid ??= { defect, until: source.kind === 'static' ? Infinity : refreshTime(entry) };
          continue;
        }
        if (crl.thisUpdate > t + CLOCK_LEEWAY_MS) continue; // not valid yet: as if absent
        if (crl.nextUpdate !== null && t > crl.nextUpdate) {
          if (source.inflight !== null && round.wait) {
            pending = true;
            (round.pending ??= []).push(source.inflight);
          } else {
            stale = true;
            staleTransient ||= source.kind !== 'static';
          }
          continue;
        }
        if (crl.revoked.has(facts.serial)) return { kind: 'revoked', until: crl.nextUpdate ?? t + HOUR_MS };
        good = true;
        until = Math.min(until, crl.nextUpdate ?? t + HOUR_MS);
      }
    }
    if (good) return { kind: 'good', until };
    if (pending) return PENDING;
    if (stale)
      return { kind: 'unknown', until: Infinity, transient: staleTransient || unavailable, reason: 'crl_stale' };
    if (invalid !== null) {
      return {
        kind: 'unknown',
        until: invalid.until,
        transient: unavailable,
        reason: 'crl_invalid',
        defect: invalid.defect,
      };
    }
    return {
      kind: 'unknown',
      until: Infinity,
      transient: unavailable,
      reason: unavailable ? 'crl_unavailable' : 'no_crl',
    };
  }

  /** Starts loading a file or URL source when allowed (not in flight, not backing off, not failed in this check). */
  #maybeLoad(source: CrlSource, t: number, round: Round): void {
    if (!round.crl || source.inflight !== null) return;
    const clock = performance.now();
    if (clock < source.retryAt || source.failedAt >= round.since) return;
    source.inflight = this.#load(source, t).finally(() => {
      source.inflight = null;
    });
  }

  async #load(source: CrlSource, t: number): Promise<void> {
    try {
      const data =
        source.kind === 'file'
          ? await readFile(source.location)
          : await exchange(source.location, {
              method: 'GET',
              accept: 'application/pkix-crl, application/x-pem-file, */*',
              timeoutMs: this.#timeoutMs,
              maxBytes: MAX_CRL_BYTES,
            });
      if (data.length > MAX_CRL_BYTES) throw new CrlError('is too large');
      this.#install(source, parseCrlBundle(data), t);
      source.retryAt = performance.now() + this.#retryAfterMs;
    } catch {
      source.failedAt = performance.now();
      source.retryAt = source.failedAt + this.#retryAfterMs;
    }
  }

  /** Replaces a source's CRLs, except where a replacement would go back in time or change signer while the old one is valid. */
  #install(source: CrlSource, crls: ParsedCrl[], t: number): void {
    const previous = source.entries ?? [];
    const entries: CrlEntry[] = [];
    for (const crl of crls) {
      const old = previous.find((entry) => entry.crl.issuer.equals(crl.issuer));
      if (old !== undefined) {
        const oldValid = old.crl.nextUpdate === null || t <= old.crl.nextUpdate;
        if (old.crl.der.equals(crl.der)) {
          entries.push({ crl: old.crl, loadedAt: t }); // unchanged: keep what is known about its signature
          continue;
        }
        if (
          isRollback(crl, old.crl) ||
          (oldValid &&
            old.crl.verifiedKey !== null &&
            !signatureValid(crl.algorithm, old.crl.verifiedKey, crl.tbs, crl.signature))
        ) {
          entries.push(old);
          continue;
        }
      }
      entries.push({ crl, loadedAt: t });
    }
    source.entries = entries;
    source.refreshAt = sourceRefreshAt(source);
  }

  // -- OCSP -----------------------------------------------------------------------------------

  #ocspAnswer(
    cert: X509Certificate,
    facts: CertFacts,
    issuer: X509Certificate,
    issuerFacts: CertFacts,
    t: number,
    round: Round,
  ): Answer {
    const settings = this.#ocsp!;
    const url = settings.responderUrl ?? facts.ocspUrl;
    if (url === null) return { kind: 'unknown', until: Infinity, transient: false, reason: 'no_responder' };
    const key = `${issuerFacts.keyId}:${facts.serial}`;
    const cached = this.#ocspCache.get(key);
    if (cached !== undefined && t < cached.until && cached.thisUpdate <= t + CLOCK_LEEWAY_MS) {
      if (cached.status === 'good') return { kind: 'good', until: cached.until };
      if (cached.status === 'revoked') return { kind: 'revoked', until: cached.until };
      return { kind: 'unknown', until: cached.until, transient: false, reason: 'ocsp_unknown' };
    }
    const inflight = this.#ocspInflight.get(key);
    if (inflight !== undefined && round.wait) {
      (round.pending ??= []).push(inflight);
      return PENDING;
    }
    const failure = this.#ocspFailures.get(key);
    const clock = performance.now();
    const mayStart =
      round.ocsp &&
      inflight === undefined &&
      (failure === undefined || (clock >= failure.retryAt && failure.at < round.since));
    if (!mayStart) {
      return { kind: 'unknown', until: t, transient: true, reason: failure?.reason ?? 'ocsp_unreachable' };
    }
    const query: OcspQuery = {
      cert,
      facts,
      issuer,
      issuerFacts,
      nonce: settings.nonce ? randomBytes(16) : null,
      now: t,
      maxAgeMs: settings.maxCacheMs,
    };
    const promise = this.#fetchOcsp(key, url, query).finally(() => {
      this.#ocspInflight.delete(key);
    });
    this.#ocspInflight.set(key, promise);
    (round.pending ??= []).push(promise);
    return PENDING;
  }

  async #fetchOcsp(key: string, url: string, query: OcspQuery): Promise<void> {
    const settings = this.#ocsp!;
    try {
      const body = await exchange(url, {
        method: 'POST',
        body: buildOcspRequest(query.facts, query.issuerFacts, query.nonce),
        contentType: 'application/ocsp-request',
        accept: 'application/ocsp-response',
        timeoutMs: settings.timeoutMs,
        maxBytes: MAX_OCSP_RESPONSE_BYTES,
      });
      const answer = parseOcspResponse(body, query);
      const until = Math.min(answer.nextUpdate ?? Infinity, query.now + settings.maxCacheMs);
      remember(this.#ocspCache, key, { status: answer.status, thisUpdate: answer.thisUpdate, until });
      this.#ocspFailures.delete(key);
    } catch (error) {
      const at = performance.now();
      const reason = error instanceof FetchError ? error.reason : 'ocsp_invalid';
      remember(this.#ocspFailures, key, { reason, at, retryAt: at + this.#retryAfterMs });
    }
  }
}

/** Map.set with a size bound: the oldest insertion goes first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_OCSP_CACHE_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

/** The `problems` lines: CRLs in hand that are not to be used. */
function crlProblems(sources: readonly CrlSource[]): string[] {
  const lines: string[] = [];
  for (const source of sources) {
    const entries = source.entries ?? [];
    entries.forEach(({ crl }, index) => {
      if (crl.defect === null) return;
      const which = entries.length > 1 ? `${source.path} (CRL ${index + 1} of ${entries.length})` : source.path;
      lines.push(
        `${which} is not a valid CRL: ${DEFECT_TEXT[crl.defect]}; the certificates it covers have no revocation status from it`,
      );
    });
  }
  return lines;
}

function describe(compiled: CompiledRevocation): string {
  if (compiled.policy === 'off') return 'off';
  const count = (kind: CrlSource['kind']): number => compiled.crls.filter((source) => source.kind === kind).length;
  const parts: string[] = [];
  const files = count('file');
  const urls = count('url');
  const inline = count('static');
  if (files > 0) parts.push(`${files} CRL file${files === 1 ? '' : 's'}`);
  if (urls > 0) parts.push(`${urls} CRL URL${urls === 1 ? '' : 's'}`);
  if (inline > 0) parts.push(`${inline} inline CRL${inline === 1 ? '' : 's'}`);
  const sources = parts.length > 0 ? [parts.join(', ')] : [];
  if (compiled.ocsp !== null) sources.push(compiled.ocsp.responderUrl !== null ? 'OCSP (fixed responder)' : 'OCSP');
  return `${compiled.policy}; ${sources.join('; ')}; ${compiled.scope === 'leaf' ? 'leaf only' : 'whole chain'}`;
}
