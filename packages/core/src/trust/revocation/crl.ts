/**
 * CRLs: reading one (RFC 5280 §5), deciding whether it may be used for a certificate (issuer
 * name, issuingDistributionPoint scope, signature by the issuer's key), and the sources they come
 * from (inline, file, URL) with their reload times. A CRL that RFC 5280 says not to use parses
 * with its `defect` set rather than failing: the certificates it would cover get "no data" with
 * the reason, the same whether it was configured inline or fetched later.
 */
import type { KeyObject } from 'node:crypto';
import { isClientCertError } from '../../errors.js';
import { DerCursor, malformedReason, readBoolean, readWholeSequence, Tag, type Tlv } from '../../x509/der.js';
import type { CertificateRecord } from '../../x509/facts.js';
import { Oid } from '../../x509/oids.js';
import { type Extension, readExtensions } from '../../x509/tbs.js';
import { readDerTime } from '../../x509/time.js';
import { integerBig, integerKey, readBits, readSmall } from './asn1.js';
import { type CrlDefect, DEFECT_TEXT } from './messages.js';
import { readSignatureAlgorithm, type SignatureAlgorithm, signatureValid } from './signatures.js';
import { addFullNames, type CertFacts } from './subject.js';

export const HOUR_MS = 3_600_000;

/**
 * CRL extensions that may be critical although this module does not act on them: issuerAltName
 * only names the issuer again (RFC 5280 §5.2.2), and the issuer is matched by name and signature.
 * cRLNumber and issuingDistributionPoint are processed; authorityKeyIdentifier, freshestCRL and
 * authorityInfoAccess MUST be non-critical (§5.2.1, §5.2.6, §5.2.7); anything else critical makes
 * the CRL unusable (§5.2: "MUST NOT use that CRL").
 */
const IGNORABLE_CRITICAL_CRL_EXTENSIONS: ReadonlySet<string> = new Set([Oid.issuerAltName]);
/** Entry extensions that may be critical: reasonCode is read, invalidityDate changes nothing here. */
const KNOWN_ENTRY_EXTENSIONS: ReadonlySet<string> = new Set([Oid.reasonCode, Oid.invalidityDate]);
const REMOVE_FROM_CRL = 8;
/** RFC 5280 §5.2.3: verifiers handle cRLNumber values up to 20 octets; issuers use no longer ones. */
const MAX_CRL_NUMBER_OCTETS = 20;
/** Issuer keys remembered per CRL as having (not) signed it. */
const MAX_VERDICTS_PER_CRL = 16;

export interface ParsedCrl {
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
export class CrlError extends Error {}

/** What the crlExtensions say, and the first defect found while reading the CRL. */
interface CrlScope {
  number: bigint | null;
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  onlyAttributeCerts: boolean;
  distributionPoint: Set<string> | null;
  defect: CrlDefect | null;
}

function found(scope: CrlScope, defect: CrlDefect): void {
  scope.defect ??= defect;
}

/**
 * Reads a CRL. What is not a CRL at all throws; a CRL that RFC 5280 says not to use parses with
 * its `defect` set (see the module comment).
 */
export function parseCrl(buf: Buffer): ParsedCrl {
  const top = DerCursor.inside(buf, readWholeSequence(buf, 'CRL'));
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
  const thisUpdate = readDerTime(buf, tbs.next('thisUpdate'), 'thisUpdate');
  let nextUpdate: number | null = null;
  const peek = tbs.peekTag();
  if (peek === Tag.UTC_TIME || peek === Tag.GENERALIZED_TIME)
    nextUpdate = readDerTime(buf, tbs.next('nextUpdate'), 'nextUpdate');

  const scope: CrlScope = {
    number: null,
    onlyUserCerts: false,
    onlyCaCerts: false,
    onlyAttributeCerts: false,
    distributionPoint: null,
    defect: null,
  };
  const revoked = readRevokedCertificates(buf, tbs.optional(Tag.SEQUENCE, 'revokedCertificates'), scope);
  const extensionsTlv = tbs.optional(0xa0, 'crlExtensions');
  tbs.finish('tbsCertList');
  if (extensionsTlv !== undefined) {
    if (version !== 1) throw new CrlError('is a v1 CRL with extensions');
    readCrlExtensions(buf, extensionsTlv, scope);
  }
  if (scope.number === null) found(scope, 'no_crl_number');
  return {
    der: buf,
    tbs: buf.subarray(tbsTlv.start, tbsTlv.end),
    algorithm,
    signature,
    issuer: buf.subarray(issuer.start, issuer.end),
    thisUpdate,
    nextUpdate,
    revoked,
    ...scope,
    verdicts: new Map(),
    verifiedKey: null,
  };
}

/** `integerKey` of every revoked serial, except entries with reason removeFromCRL. */
function readRevokedCertificates(buf: Buffer, entries: Tlv | undefined, scope: CrlScope): Set<string> {
  const revoked = new Set<string>();
  if (entries === undefined) return revoked;
  const list = DerCursor.inside(buf, entries);
  while (!list.done) {
    const entry = DerCursor.inside(buf, list.expect(Tag.SEQUENCE, 'revoked certificate'));
    const serial = integerKey(buf, entry.expect(Tag.INTEGER, 'userCertificate'));
    readDerTime(buf, entry.next('revocationDate'), 'revocationDate');
    let reason = -1;
    const entryExtensions = entry.optional(Tag.SEQUENCE, 'crlEntryExtensions');
    entry.finish('revoked certificate');
    // Some generators write an empty list here; it means the same as none.
    for (const ext of entryExtensions === undefined ? [] : readExtensions(buf, entryExtensions, { wrapped: false })) {
      if (ext.oid === Oid.reasonCode) {
        const value = DerCursor.inside(buf, ext.value);
        reason = readSmall(buf, value.expect(Tag.ENUMERATED, 'reasonCode'));
        value.finish('reasonCode');
      } else if (ext.oid === Oid.certificateIssuer) {
        found(scope, 'indirect'); // only an indirect CRL names other issuers (§5.3.3)
      } else if (ext.critical && !KNOWN_ENTRY_EXTENSIONS.has(ext.oid)) {
        found(scope, 'critical_entry_extension');
      }
    }
    if (reason !== REMOVE_FROM_CRL) revoked.add(serial);
  }
  return revoked;
}

function readCrlExtensions(buf: Buffer, extensionsTlv: Tlv, scope: CrlScope): void {
  for (const ext of readExtensions(buf, extensionsTlv, { allowEmpty: false })) {
    if (ext.oid === Oid.deltaCrlIndicator) found(scope, 'delta');
    else if (ext.oid === Oid.crlNumber) readCrlNumber(buf, ext, scope);
    else if (ext.oid === Oid.issuingDistributionPoint) readIssuingDistributionPoint(buf, ext, scope);
    else if (ext.critical && !IGNORABLE_CRITICAL_CRL_EXTENSIONS.has(ext.oid)) found(scope, 'critical_extension');
  }
}

function readCrlNumber(buf: Buffer, ext: Extension, scope: CrlScope): void {
  const value = DerCursor.inside(buf, ext.value);
  const tlv = value.expect(Tag.INTEGER, 'cRLNumber');
  value.finish('cRLNumber');
  if (ext.critical) found(scope, 'crl_number_critical');
  const octets = tlv.end - tlv.valueStart;
  const negative = octets > 0 && (buf[tlv.valueStart]! & 0x80) !== 0;
  // A leading zero octet only carries the sign of a 20-octet number.
  const length = octets > 1 && buf[tlv.valueStart] === 0 ? octets - 1 : octets;
  if (negative || length > MAX_CRL_NUMBER_OCTETS) found(scope, 'crl_number_invalid');
  else scope.number = integerBig(buf, tlv);
}

function readIssuingDistributionPoint(buf: Buffer, ext: Extension, scope: CrlScope): void {
  const outer = DerCursor.inside(buf, ext.value);
  const idp = DerCursor.inside(buf, outer.expect(Tag.SEQUENCE, 'issuingDistributionPoint'));
  outer.finish('issuingDistributionPoint');
  const point = idp.optional(0xa0, 'distributionPoint');
  if (point !== undefined) {
    scope.distributionPoint = new Set<string>();
    addFullNames(buf, point, scope.distributionPoint);
    if (scope.distributionPoint.size === 0) found(scope, 'distribution_point_form');
  }
  const user = idp.optional(0x81, 'onlyContainsUserCerts');
  const ca = idp.optional(0x82, 'onlyContainsCACerts');
  const reasons = idp.optional(0x83, 'onlySomeReasons');
  const indirect = idp.optional(0x84, 'indirectCRL');
  const attribute = idp.optional(0x85, 'onlyContainsAttributeCerts');
  idp.finish('issuingDistributionPoint');
  scope.onlyUserCerts = user !== undefined && readBoolean(buf, user);
  scope.onlyCaCerts = ca !== undefined && readBoolean(buf, ca);
  scope.onlyAttributeCerts = attribute !== undefined && readBoolean(buf, attribute);
  if (reasons !== undefined) found(scope, 'some_reasons');
  if (indirect !== undefined && readBoolean(buf, indirect)) found(scope, 'indirect');
}

const PEM_CRL = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]*)-----END X509 CRL-----/g;

/** Every CRL in `data`: one DER CRL, or PEM text with one or more `X509 CRL` blocks. */
export function parseCrlBundle(data: Buffer | string): ParsedCrl[] {
  const text = typeof data === 'string' ? data : data[0] === 0x30 ? null : data.toString('latin1');
  if (text === null) return [parseCrl(Buffer.from(data as Buffer))];
  const crls: ParsedCrl[] = [];
  for (const match of text.matchAll(PEM_CRL)) crls.push(parseCrl(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')));
  if (crls.length === 0) throw new CrlError('holds no DER CRL or PEM "X509 CRL" block');
  return crls;
}

/** A fixed text for a CRL that could not be parsed. */
export function crlProblem(error: unknown): string {
  if (error instanceof CrlError) return error.message;
  if (isClientCertError(error)) return `is not a valid CRL (${malformedReason(error)})`;
  return 'is not a valid CRL';
}

/** True when `crl` could be used for a certificate with these facts (IDP scope). */
export function crlCovers(crl: ParsedCrl, facts: CertFacts): boolean {
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

/** Whether the issuer's key signed `crl`, remembered per issuer key on the CRL. */
export function crlSignedBy(crl: ParsedCrl, issuer: CertificateRecord, facts: CertFacts): boolean {
  let verdict = crl.verdicts.get(facts.keyId);
  if (verdict === undefined) {
    const key = issuer.publicKey;
    verdict = signatureValid(crl.algorithm, key, crl.tbs, crl.signature);
    if (crl.verdicts.size >= MAX_VERDICTS_PER_CRL) crl.verdicts.clear();
    crl.verdicts.set(facts.keyId, verdict);
    if (verdict && crl.verifiedKey === null) crl.verifiedKey = key;
  }
  return verdict;
}

/** True when `next` is older than `current` by thisUpdate or cRLNumber (a replay). */
export function isRollback(next: ParsedCrl, current: ParsedCrl): boolean {
  if (next.thisUpdate < current.thisUpdate) return true;
  return next.number !== null && current.number !== null && next.number < current.number;
}

export interface CrlEntry {
  readonly crl: ParsedCrl;
  /** Check-clock time it was loaded, for CRLs without nextUpdate. */
  readonly loadedAt: number;
}

export interface CrlSource {
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
  /** performance.now() when the last load ended, loaded or failed (-Infinity before the first). */
  settledAt: number;
}

/** When a CRL should be loaded again: its last tenth (at most an hour) before nextUpdate. */
export function refreshTime(entry: CrlEntry): number {
  const { thisUpdate, nextUpdate } = entry.crl;
  if (nextUpdate === null) return entry.loadedAt + HOUR_MS;
  return nextUpdate - Math.min(Math.max((nextUpdate - thisUpdate) / 10, 0), HOUR_MS);
}

export function sourceRefreshAt(source: CrlSource): number {
  if (source.kind === 'static' || source.entries === null) return Infinity;
  let at = Infinity;
  for (const entry of source.entries) at = Math.min(at, refreshTime(entry));
  return at;
}

/** The `problems` lines: CRLs in hand that are not to be used. */
export function crlProblems(sources: readonly CrlSource[]): string[] {
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
