/**
 * OCSP (RFC 6960): the request for one certificate (a SHA-1 CertID, common practice, and an
 * optional nonce) and the validation of the response: a BasicOCSPResponse signed by the issuer
 * itself or by a delegated responder certificate that the issuer signed, that has the OCSPSigning
 * EKU and that is valid now; no critical extension it does not know; the nonce echoed when one
 * was sent; a SingleResponse for the certificate asked about that is fresh.
 */
import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { certificateValidity } from '../../x509/certificate.js';
import { DerCursor, malformed, readOid, readTlv, readWholeSequence, Tag, type Tlv } from '../../x509/der.js';
import { type CertificateRecord, factsOf } from '../../x509/facts.js';
import { DIGEST_ALGORITHMS, Oid } from '../../x509/oids.js';
import { readExtensions } from '../../x509/tbs.js';
import { readDerTime } from '../../x509/time.js';
import { integerKey, readBits, readSmall } from './asn1.js';
import { readSignatureAlgorithm, type SignatureAlgorithm, signatureValid } from './signatures.js';
import { type CertFacts, keyHashSha1, revocationFacts } from './subject.js';

/** Revocation data dated up to this far in the future is accepted (OpenSSL's OCSP default too). */
export const CLOCK_LEEWAY_MS = 5 * 60_000;
export const MAX_OCSP_RESPONSE_BYTES = 256 * 1024;
/** Certificates looked at in an OCSP response's `certs` (real responses carry one or two). */
const MAX_RESPONSE_CERTS = 8;
/** SingleResponses looked at in one OCSP response. */
const MAX_SINGLE_RESPONSES = 64;

const SHA1_ALGORITHM_ID = Buffer.from('300906052b0e03021a0500', 'hex');
const NONCE_OID = Buffer.from('2b0601050507300102', 'hex');
/** The digests a responder may use in a CertID (it should echo the request's SHA-1). */
const CERT_ID_DIGESTS: ReadonlySet<string> = new Set(['sha1', 'sha256', 'sha384', 'sha512']);

/** Why a response was not an answer: the responder said no (`ocsp_error`), or it did not validate. */
export class OcspError extends Error {
  constructor(readonly reason: 'ocsp_error' | 'ocsp_invalid') {
    super(`OCSP response refused: ${reason}`);
  }
}

export interface OcspAnswer {
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly thisUpdate: number;
  readonly nextUpdate: number | null;
}

export interface OcspQuery {
  readonly cert: CertificateRecord;
  readonly facts: CertFacts;
  readonly issuer: CertificateRecord;
  readonly issuerFacts: CertFacts;
  readonly nonce: Buffer | null;
  readonly now: number;
  readonly maxAgeMs: number;
}

function sha(algorithm: string, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest();
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

/** DER OCSPRequest for one certificate: SHA-1 CertID, optionally a nonce. */
export function buildOcspRequest(facts: CertFacts, issuerFacts: CertFacts, nonce: Buffer | null): Buffer {
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

/** Validates a DER OCSPResponse for `query`; throws OcspError with the reason otherwise. */
export function parseOcspResponse(buf: Buffer, query: OcspQuery): OcspAnswer {
  try {
    return readOcspResponse(buf, query);
  } catch (error) {
    if (error instanceof OcspError) throw error;
    throw new OcspError('ocsp_invalid');
  }
}

/** The parts of a BasicOCSPResponse, framing checked. */
interface BasicResponse {
  readonly tbs: Buffer;
  readonly algorithm: SignatureAlgorithm;
  readonly signature: Buffer;
  readonly certs: Tlv | undefined;
  readonly responderId: Tlv;
  readonly responses: DerCursor;
  readonly responseExtensions: Tlv | undefined;
}

function readOcspResponse(buf: Buffer, query: OcspQuery): OcspAnswer {
  const basic = readBasicResponse(buf);
  const signerKey = signerKeyOf(buf, basic, query);
  if (signerKey === null || !signatureValid(basic.algorithm, signerKey, basic.tbs, basic.signature)) {
    throw new OcspError('ocsp_invalid');
  }
  checkResponseExtensions(buf, basic.responseExtensions, query.nonce);
  return singleAnswer(buf, basic.responses, query);
}

/** OCSPResponse → successful status → BasicOCSPResponse → ResponseData, every level framed. */
function readBasicResponse(buf: Buffer): BasicResponse {
  const top = DerCursor.inside(buf, readWholeSequence(buf, 'OCSPResponse'));
  const status = readSmall(buf, top.expect(Tag.ENUMERATED, 'responseStatus'));
  if (status !== 0) throw new OcspError('ocsp_error');
  const bytesWrapper = DerCursor.inside(buf, top.expect(0xa0, 'responseBytes'));
  top.finish('OCSPResponse');
  const responseBytes = DerCursor.inside(buf, bytesWrapper.expect(Tag.SEQUENCE, 'ResponseBytes'));
  bytesWrapper.finish('responseBytes');
  if (readOid(buf, responseBytes, 'responseType') !== Oid.ocspBasic) throw new OcspError('ocsp_invalid');
  const responseOctets = responseBytes.expect(Tag.OCTET_STRING, 'response');
  responseBytes.finish('ResponseBytes');

  const basicTlv = readTlv(buf, responseOctets.valueStart, responseOctets.end);
  if (basicTlv.tag !== Tag.SEQUENCE || basicTlv.end !== responseOctets.end) throw malformed('BasicOCSPResponse');
  const basic = DerCursor.inside(buf, basicTlv);
  const tbsTlv = basic.expect(Tag.SEQUENCE, 'tbsResponseData');
  const algorithm = readSignatureAlgorithm(buf, basic.expect(Tag.SEQUENCE, 'signatureAlgorithm'));
  const signature = readBits(buf, basic.expect(Tag.BIT_STRING, 'signature'));
  const certs = basic.optional(0xa0, 'certs');
  basic.finish('BasicOCSPResponse');
  if (algorithm === null) throw new OcspError('ocsp_invalid');

  const data = DerCursor.inside(buf, tbsTlv);
  const version = data.optional(0xa0, 'version');
  if (version !== undefined) {
    const inner = DerCursor.inside(buf, version);
    if (readSmall(buf, inner.expect(Tag.INTEGER, 'version')) !== 0) throw new OcspError('ocsp_invalid');
  }
  const responderId = data.next('responderID');
  readDerTime(buf, data.expect(Tag.GENERALIZED_TIME, 'producedAt'), 'producedAt');
  const responses = DerCursor.inside(buf, data.expect(Tag.SEQUENCE, 'responses'));
  const responseExtensions = data.optional(0xa1, 'responseExtensions');
  data.finish('ResponseData');
  const tbs = buf.subarray(tbsTlv.start, tbsTlv.end);
  return { tbs, algorithm, signature, certs, responderId, responses, responseExtensions };
}

/** The signer's key: the issuer itself, or a delegated responder certificate from `certs`. */
function signerKeyOf(buf: Buffer, basic: BasicResponse, query: OcspQuery): KeyObject | null {
  const { responderId } = basic;
  const byName = responderId.tag === 0xa1;
  if (!byName && responderId.tag !== 0xa2) throw new OcspError('ocsp_invalid');
  const idInner = DerCursor.inside(buf, responderId);
  const id = idInner.next('ResponderID');
  idInner.finish('ResponderID');
  if (byName ? id.tag !== Tag.SEQUENCE : id.tag !== Tag.OCTET_STRING) throw new OcspError('ocsp_invalid');
  const idBytes = byName ? buf.subarray(id.start, id.end) : buf.subarray(id.valueStart, id.end);
  const matchesId = (facts: CertFacts): boolean =>
    byName ? idBytes.equals(facts.subject) : idBytes.equals(keyHashSha1(facts));
  if (matchesId(query.issuerFacts)) return query.issuer.publicKey;
  if (basic.certs === undefined) return null;
  const wrapper = DerCursor.inside(buf, basic.certs);
  const list = DerCursor.inside(buf, wrapper.expect(Tag.SEQUENCE, 'certs'));
  for (let count = 0; !list.done && count < MAX_RESPONSE_CERTS; count++) {
    const certTlv = list.expect(Tag.SEQUENCE, 'certificate');
    let candidate: X509Certificate;
    try {
      candidate = new X509Certificate(buf.subarray(certTlv.start, certTlv.end));
    } catch {
      continue;
    }
    const facts = revocationFacts(factsOf(candidate));
    if (facts !== null && matchesId(facts) && isDelegatedResponder(candidate, query)) {
      return factsOf(candidate).publicKey;
    }
  }
  return null;
}

/**
 * A delegated responder certificate: issued by the issuer, OCSPSigning EKU, valid now. OpenSSL's
 * own checks (`checkIssued`) are used here, so the issuer's Node object is made: only for a
 * response signed by a delegated responder, once per issuer.
 */
function isDelegatedResponder(candidate: X509Certificate, query: OcspQuery): boolean {
  try {
    if (!candidate.checkIssued(query.issuer.x509) || !candidate.verify(query.issuer.publicKey)) return false;
    if (!(candidate.keyUsage ?? []).includes(Oid.ocspSigning)) return false;
    const { notBefore, notAfter } = certificateValidity(candidate);
    return query.now >= notBefore.getTime() && query.now <= notAfter.getTime();
  } catch {
    return false;
  }
}

/** No critical extension but the nonce, which must echo the one sent (and be there when one was). */
function checkResponseExtensions(buf: Buffer, responseExtensions: Tlv | undefined, nonce: Buffer | null): void {
  if (responseExtensions === undefined) {
    if (nonce !== null) throw new OcspError('ocsp_invalid');
    return;
  }
  const extensions = readExtensions(buf, responseExtensions, { allowEmpty: false });
  let nonceSeen = false;
  for (const ext of extensions) {
    if (ext.oid === Oid.ocspNonce) {
      nonceSeen = true;
      if (nonce !== null && !buf.subarray(ext.value.valueStart, ext.value.end).equals(der(Tag.OCTET_STRING, nonce))) {
        throw new OcspError('ocsp_invalid');
      }
    } else if (ext.critical) {
      throw new OcspError('ocsp_invalid');
    }
  }
  if (nonce !== null && !nonceSeen) throw new OcspError('ocsp_invalid');
}

/** True when a CertID of the response names the certificate asked about. */
function certIdMatches(buf: Buffer, certId: Tlv, query: OcspQuery): boolean {
  const cursor = DerCursor.inside(buf, certId);
  const algorithm = DerCursor.inside(buf, cursor.expect(Tag.SEQUENCE, 'hashAlgorithm'));
  const digest = DIGEST_ALGORITHMS.get(readOid(buf, algorithm, 'hashAlgorithm'));
  const hash = digest !== undefined && CERT_ID_DIGESTS.has(digest) ? digest : undefined;
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

/** The first SingleResponse about the certificate asked about, which must be fresh. */
function singleAnswer(buf: Buffer, responses: DerCursor, query: OcspQuery): OcspAnswer {
  for (let count = 0; !responses.done && count < MAX_SINGLE_RESPONSES; count++) {
    const single = DerCursor.inside(buf, responses.expect(Tag.SEQUENCE, 'SingleResponse'));
    const certId = single.expect(Tag.SEQUENCE, 'certID');
    if (!certIdMatches(buf, certId, query)) continue;
    const answer = readSingleResponse(buf, single);
    // Fresh: not dated in the future, not past nextUpdate, and without nextUpdate not older than the cache limit.
    if (answer.thisUpdate > query.now + CLOCK_LEEWAY_MS) throw new OcspError('ocsp_invalid');
    const { thisUpdate, nextUpdate } = answer;
    if (nextUpdate !== null ? query.now > nextUpdate : query.now - thisUpdate > query.maxAgeMs) {
      throw new OcspError('ocsp_invalid');
    }
    return answer;
  }
  throw new OcspError('ocsp_invalid');
}

/** certStatus, thisUpdate, nextUpdate of a SingleResponse (after its certID); no critical extension. */
function readSingleResponse(buf: Buffer, single: DerCursor): OcspAnswer {
  const certStatus = single.next('certStatus');
  let status: OcspAnswer['status'];
  if (certStatus.tag === 0x80 && certStatus.end === certStatus.valueStart) status = 'good';
  else if (certStatus.tag === 0xa1) status = 'revoked';
  else if (certStatus.tag === 0x82 && certStatus.end === certStatus.valueStart) status = 'unknown';
  else throw new OcspError('ocsp_invalid');
  const thisUpdate = readDerTime(buf, single.expect(Tag.GENERALIZED_TIME, 'thisUpdate'), 'thisUpdate');
  let nextUpdate: number | null = null;
  const next = single.optional(0xa0, 'nextUpdate');
  if (next !== undefined) {
    const inner = DerCursor.inside(buf, next);
    nextUpdate = readDerTime(buf, inner.expect(Tag.GENERALIZED_TIME, 'nextUpdate'), 'nextUpdate');
    inner.finish('nextUpdate');
  }
  const singleExtensions = single.optional(0xa1, 'singleExtensions');
  single.finish('SingleResponse');
  if (singleExtensions !== undefined) {
    for (const ext of readExtensions(buf, singleExtensions, { allowEmpty: false })) {
      if (ext.critical) throw new OcspError('ocsp_invalid');
    }
  }
  return { status, thisUpdate, nextUpdate };
}
