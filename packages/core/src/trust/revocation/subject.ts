/**
 * What revocation needs from a certificate, kept on its record (x509/facts.ts): its serial
 * number and names as encoded (CRL matching, the OCSP CertID), its key bits (the issuer key
 * hashes), whether its key may sign CRLs, and where its OCSP responder and CRL
 * distribution points are.
 */
import { createHash } from 'node:crypto';
import { DerCursor, readOid, Tag, type Tlv } from '../../x509/der.js';
import { type CertificateRecord, derivedKey } from '../../x509/facts.js';
import { KeyUsageBit, Oid } from '../../x509/oids.js';
import { integerKey, readBits } from './asn1.js';
import { httpUrl } from './fetch.js';

/** What revocation reads from one certificate; its bytes are views of the record's private DER. */
export interface CertFacts {
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
  /** SHA-256 of the SubjectPublicKeyInfo as encoded, hex: the identity of this certificate as an issuer. */
  readonly keyId: string;
  /** SHA-1 of `keyBits`, made on first use (OCSP only). */
  keyHashSha1: Buffer | undefined;
}

const REVOCATION_FACTS = derivedKey<CertFacts | null>('revocation');

/** Facts of a certificate, or null when it cannot be read (its status is then unknown); kept on its record. */
export function revocationFacts(record: CertificateRecord): CertFacts | null {
  return record.derived(REVOCATION_FACTS, readFactsOrNull);
}

export function keyHashSha1(facts: CertFacts): Buffer {
  facts.keyHashSha1 ??= createHash('sha1').update(facts.keyBits).digest();
  return facts.keyHashSha1;
}

function readFactsOrNull(record: CertificateRecord): CertFacts | null {
  try {
    return readFacts(record);
  } catch {
    return null;
  }
}

function readFacts(record: CertificateRecord): CertFacts {
  const { der, tbs } = record;
  const spki = DerCursor.inside(der, tbs.subjectPublicKeyInfo);
  spki.expect(Tag.SEQUENCE, 'algorithm');
  const keyBits = readBits(der, spki.expect(Tag.BIT_STRING, 'subjectPublicKey'));
  // RFC 5280 gives Extensions SIZE (1..MAX): an empty list makes the certificate unreadable here.
  if (tbs.extensions !== undefined && record.extensions.length === 0) throw new Error('empty extensions');
  const aia = record.extension(Oid.authorityInfoAccess);
  const cdp = record.extension(Oid.crlDistributionPoints);
  const keyUsage = record.keyUsage;
  const { serialNumber: serial, issuer, subject, subjectPublicKeyInfo } = tbs;
  return {
    serial: integerKey(der, serial),
    serialTlv: der.subarray(serial.start, serial.end),
    issuer: der.subarray(issuer.start, issuer.end),
    subject: der.subarray(subject.start, subject.end),
    keyBits,
    ca: record.isCA,
    crlSign: keyUsage === null || (keyUsage !== 'malformed' && (keyUsage & KeyUsageBit.cRLSign) !== 0),
    ocspUrl: aia === undefined ? null : readOcspUrl(der, aia.value),
    distributionPoints: cdp === undefined ? null : readDistributionPoints(der, cdp.value),
    keyId: createHash('sha256')
      .update(der.subarray(subjectPublicKeyInfo.start, subjectPublicKeyInfo.end))
      .digest('hex'),
    keyHashSha1: undefined,
  };
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
      if (method !== Oid.ocspAccess || location.tag !== 0x86) continue;
      const url = httpUrl(buf.toString('latin1', location.valueStart, location.end));
      if (url !== null) return url;
    }
  } catch {
    // fall through: no usable responder
  }
  return null;
}

/** GeneralNames of DistributionPointName.fullName (other forms are not compared). */
export function addFullNames(buf: Buffer, dpName: Tlv, into: Set<string>): void {
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
