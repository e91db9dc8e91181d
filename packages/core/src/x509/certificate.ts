/**
 * Parsing a certificate into the normalized `ClientCertificate` model.
 *
 * Everything is read from the DER with the strict reader (der.ts, tbs.ts, name.ts,
 * general-name.ts, time.ts): node:crypto's `X509Certificate` costs ~100 µs and ~10 KB outside the
 * heap per certificate, so it is made only when a caller reads `cert.x509` (facts.ts). Node's
 * `subject` / `subjectAltName` strings are never parsed: their escaping is ambiguous.
 *
 * Everything is validated eagerly, so a malformed certificate fails in `parseCertificate` and
 * never later: the DER framing, the fields OpenSSL's own parser insists on (a minimal serial
 * number, the algorithm identifiers, the public key's framing), the names and SANs (OIDs well
 * formed, string contents valid for their types) and the validity period. Building the strings
 * and objects is deferred to first access (the certificate's record, facts.ts), because a request
 * may only need the fingerprint; those getters cannot fail, since they re-read what was checked.
 */
import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { looksLikePem, readPem, writePem } from '../encoding/pem.js';
import { isPemSpace } from '../encoding/text.js';
import { isClientCertError } from '../errors.js';
import type {
  Authorization,
  ClientCertificate,
  DistinguishedName,
  SourceName,
  SubjectAltNames,
  Verification,
} from '../model.js';
import { checkOid, DerCursor, malformed, readTlv, Tag, type Tlv } from './der.js';
import { CertificateRecord, factsOf } from './facts.js';
import { validateSubjectAltNames } from './general-name.js';
import { validateName } from './name.js';
import { checkOuterFraming, type TbsLayout } from './tbs.js';
import type { ValidityWindow } from './time.js';
import { privateCopy, x509FromDer } from './x509-object.js';

// The names other folders import from here; their new homes are the modules named.
export { NAME_ALIASES } from './attributes.js';
export { formatIpAddress } from './general-name.js';
export { escapeRfc4514Value, parseDistinguishedName } from './name.js';
export type { ValidityWindow };

/** A certificate as callers hand it over: PEM text, DER (or PEM) bytes, or Node's object. */
export type CertificateInput = Buffer | string | X509Certificate;

// ---------------------------------------------------------------------------------------------
// Inputs

/** RFC 7468 labels that carry a plain X.509 certificate. */
const CERTIFICATE_LABELS: readonly string[] = ['CERTIFICATE', 'X509 CERTIFICATE'];

const failMalformed = (message: string): never => {
  throw malformed(message);
};

/** DER of the certificate blocks in `text` (other blocks, such as keys, are checked and skipped). */
function pemCertificates(text: string): Buffer[] {
  return readPem(text, { mode: 'file', label: CERTIFICATE_LABELS }, failMalformed).map((block) => block.der);
}

/** Decodes PEM text holding exactly one certificate to DER. */
export function pemToDer(pem: string): Buffer {
  const certificates = pemCertificates(pem);
  if (certificates.length !== 1) {
    throw malformed(
      certificates.length === 0
        ? 'no CERTIFICATE block in PEM'
        : `expected one certificate in PEM, found ${certificates.length} (use parseCertificateChain)`,
    );
  }
  return certificates[0]!;
}

/** Canonical PEM (64-column base64, LF line ends, trailing newline) of a DER certificate. */
export function derToPem(der: Uint8Array): string {
  return writePem(der, 'CERTIFICATE');
}

/** `input` as a Buffer without copying (a plain Uint8Array is accepted too). */
function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** DER of a single-certificate input (PEM text, PEM bytes or DER bytes). */
function singleDer(input: Buffer | string): Buffer {
  if (typeof input === 'string') return pemToDer(input);
  if (!(input instanceof Uint8Array)) throw malformed('expected PEM text or DER bytes');
  const bytes = asBuffer(input);
  return looksLikePem(bytes) ? pemToDer(bytes.toString('latin1')) : bytes;
}

// ---------------------------------------------------------------------------------------------
// Validity

export function certificateValidity(x509: X509Certificate): { notBefore: Date; notAfter: Date } {
  const { from, until } = factsOf(x509).validity;
  // New Date objects every time: callers may hand them to application code, which may mutate them.
  return { notBefore: new Date(from), notAfter: new Date(until) };
}

// ---------------------------------------------------------------------------------------------
// The model
//
// A certificate is handed to request handlers and cached across requests (per TLS socket, per
// header value, per presented chain, and intermediates across chains), so what a handler can reach
// must not be writable: one request must never change what another sees. Everything reachable is
// frozen once, when first computed; what cannot be frozen (a Buffer, a Date) is returned as a new
// copy on each read.

/** The pipeline's fields of a certificate: where it came from and what admitted it. */
export interface CertificateContext {
  readonly source: SourceName | null;
  readonly chain: readonly ClientCertificate[];
  readonly verifiedBy: Verification | null;
  readonly authorization: Authorization | null;
}

const NO_CERTIFICATES: readonly ClientCertificate[] = Object.freeze([]);

const UNKNOWN_CONTEXT: CertificateContext = Object.freeze({
  source: null,
  chain: NO_CERTIFICATES,
  verifiedBy: null,
  authorization: null,
});

/**
 * The model: a view of the certificate's shared record (facts.ts) plus the pipeline's four
 * fields. Those fields are writable only until `sealCertificate` freezes the object; a sealed
 * certificate is never changed again, and a certificate with other fields is a new view of the
 * same record. The record computes each value on first read and keeps it frozen, so a request
 * that only looks at the fingerprint never decodes a name, and a second view never decodes or
 * hashes again. `parseCertificate` validated all the getters read, so they do not throw.
 */
class ParsedCertificate implements ClientCertificate {
  chain: readonly ClientCertificate[];
  source: SourceName | null;
  verifiedBy: Verification | null;
  authorization: Authorization | null;
  readonly #record: CertificateRecord;

  constructor(record: CertificateRecord, context: CertificateContext) {
    this.#record = record;
    this.chain = context.chain;
    this.source = context.source;
    this.verifiedBy = context.verifiedBy;
    this.authorization = context.authorization;
  }

  /** The record behind a certificate made here, or undefined for any other object. */
  static recordOf(value: unknown): CertificateRecord | undefined {
    return typeof value === 'object' && value !== null && #record in value
      ? (value as ParsedCertificate).#record
      : undefined;
  }

  get x509(): X509Certificate {
    return this.#record.x509;
  }

  /** A copy per read: a Buffer cannot be frozen, and the bytes are shared by every request. */
  get raw(): Buffer {
    return Buffer.from(this.#record.der);
  }

  /** A new Date per read: a frozen Date still changes with `setTime`. */
  get notBefore(): Date {
    return new Date(this.#record.validity.from);
  }

  get notAfter(): Date {
    return new Date(this.#record.validity.until);
  }

  get subject(): DistinguishedName {
    return this.#record.subject;
  }

  get issuer(): DistinguishedName {
    return this.#record.issuer;
  }

  get san(): SubjectAltNames {
    return this.#record.san;
  }

  get spiffeId(): string | null {
    return this.#record.spiffeId;
  }

  get serialNumber(): string {
    return this.#record.serialNumber;
  }

  get fingerprints(): { readonly sha1: string; readonly sha256: string } {
    return this.#record.fingerprints;
  }

  get extKeyUsage(): readonly string[] {
    return this.#record.extKeyUsage;
  }

  get isCA(): boolean {
    return this.#record.isCA;
  }

  get pem(): string {
    return this.#record.pem;
  }

  /** Getters live on the prototype, so JSON and `inspect` need an explicit plain view. */
  toJSON(): Record<string, unknown> {
    return {
      subject: this.subject.rfc4514,
      issuer: this.issuer.rfc4514,
      serialNumber: this.serialNumber,
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      fingerprints: this.fingerprints,
      san: this.san,
      spiffeId: this.spiffeId,
      extKeyUsage: this.extKeyUsage,
      isCA: this.isCA,
      source: this.source,
      verifiedBy: this.verifiedBy,
      authorization: this.authorization,
      chain: this.chain,
    };
  }

  [inspect.custom](): string {
    return `ClientCertificate ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}
// No handler can redefine a getter for every certificate at once.
Object.freeze(ParsedCertificate.prototype);
Object.freeze(ParsedCertificate);

/**
 * Returns `certificate` immutable, carrying the pipeline's fields (an omitted field keeps the
 * certificate's current value). A certificate not sealed yet is sealed in place: the fields are
 * set, then it is frozen. A sealed one is never changed: the result is a new sealed view of the same
 * parsed state (nothing is parsed, decoded or hashed again; a few fields are copied), for example
 * when a predicate admits the same cached certificate under another identity per request.
 *
 * Sealing also seals the chain's certificates (in place, with their own fields, unless sealed
 * already), freezes `authorization` (a copy), and locks `x509` whenever it is made (facts.ts
 * `lock`). Throws TypeError for an object that `parseCertificate` did not make.
 */
export function sealCertificate(
  certificate: ClientCertificate,
  fields: Partial<CertificateContext>,
): ClientCertificate {
  const record = ParsedCertificate.recordOf(certificate);
  if (record === undefined)
    throw new TypeError('clientcert: sealCertificate takes a certificate made by parseCertificate');
  const sealed = Object.isFrozen(certificate);
  const context: CertificateContext = {
    source: fields.source === undefined ? certificate.source : fields.source,
    // A sealed certificate's chain is sealed already: kept as it is (the per-request path).
    chain: fields.chain === undefined && sealed ? certificate.chain : sealedChain(fields.chain ?? certificate.chain),
    verifiedBy: fields.verifiedBy === undefined ? certificate.verifiedBy : fields.verifiedBy,
    authorization: frozenAuthorization(
      fields.authorization === undefined ? certificate.authorization : fields.authorization,
      sealed ? certificate.authorization : null,
    ),
  };
  record.lock();
  if (sealed) {
    const same =
      context.source === certificate.source &&
      context.chain === certificate.chain &&
      context.verifiedBy === certificate.verifiedBy &&
      context.authorization === certificate.authorization;
    return same ? certificate : Object.freeze(new ParsedCertificate(record, context));
  }
  const writable = certificate as ParsedCertificate;
  writable.chain = context.chain;
  writable.source = context.source;
  writable.verifiedBy = context.verifiedBy;
  writable.authorization = context.authorization;
  return Object.freeze(writable);
}

/**
 * Once a decision about `certificate` is made: its record lets go of the TBS layout and the
 * extension lists (facts.ts `releaseLayout`), so a cached decision holds only what was derived.
 * Nothing observable changes. Any other object is left alone.
 */
export function releaseLayout(certificate: ClientCertificate): void {
  ParsedCertificate.recordOf(certificate)?.releaseLayout();
}

/**
 * Lets a parsed certificate's record go of its DER in favour of `text` this process keeps anyway,
 * when `fromText(text)` gives the very same bytes (facts.ts `shareDer`); false otherwise, and for
 * any other object.
 */
export function shareDer(certificate: ClientCertificate, text: string, fromText: (text: string) => Buffer): boolean {
  return ParsedCertificate.recordOf(certificate)?.shareDer(text, fromText) ?? false;
}

/** True for a certificate that `sealCertificate` returned. */
export function isSealedCertificate(value: unknown): value is ClientCertificate {
  return ParsedCertificate.recordOf(value) !== undefined && Object.isFrozen(value);
}

/** A frozen array of sealed certificates: `chain` itself when it is one already (no copy per view). */
function sealedChain(chain: readonly ClientCertificate[]): readonly ClientCertificate[] {
  if (chain.length === 0) return NO_CERTIFICATES;
  if (Object.isFrozen(chain) && chain.every(isSealedCertificate)) return chain;
  return Object.freeze(chain.map((link) => (isSealedCertificate(link) ? link : sealCertificate(link, {}))));
}

/** `authorization` frozen: the one a sealed certificate already carries as it is, anything else as a frozen copy. */
function frozenAuthorization(authorization: Authorization | null, current: Authorization | null): Authorization | null {
  if (authorization === null || authorization === current) return authorization;
  // The usual one (trusted by its chain, no identity yet) is shared by every cached certificate.
  if (authorization.pin === null && authorization.identity === null) return NO_PIN_NO_IDENTITY;
  return Object.freeze({ pin: authorization.pin, identity: authorization.identity });
}

const NO_PIN_NO_IDENTITY: Authorization = Object.freeze({ pin: null, identity: null });

/**
 * Node's certificate object for one certificate input, with the outer DER framing checked
 * (node:crypto silently ignores bytes after the certificate). Used on verification paths that do
 * not need the full model.
 */
export function toX509Certificate(input: CertificateInput): X509Certificate {
  if (input instanceof X509Certificate) return input;
  const der = singleDer(input);
  checkOuterFraming(der);
  return x509FromDer(der);
}

/**
 * The record of one certificate input, read from the DER alone (no `X509Certificate` is made),
 * with the outer framing checked; a Node object's own record. What the certificate says is read
 * (and checked) when asked for: `parseCertificate` is the one that checks everything up front.
 */
export function certificateRecord(input: CertificateInput): CertificateRecord {
  if (input instanceof X509Certificate) return factsOf(input);
  const der = singleDer(input);
  checkOuterFraming(der);
  return new CertificateRecord(privateCopy(der));
}

/**
 * Parses one certificate: PEM text (exactly one CERTIFICATE block), DER bytes, PEM bytes, or an
 * `X509Certificate`. Throws `ClientCertError` with code `certificate_malformed` on bad input.
 * The result has no pipeline fields yet (`source`, `verifiedBy`, `authorization` null, `chain`
 * empty); `sealCertificate` gives them and makes it immutable.
 */
export function parseCertificate(input: CertificateInput): ClientCertificate {
  // A private copy of the DER: no caller holds it, so no caller can change what is derived from it.
  const record = certificateRecord(input);
  try {
    validate(record);
    return new ParsedCertificate(record, UNKNOWN_CONTEXT);
  } catch (error) {
    throw isClientCertError(error) ? error : malformed('unreadable certificate', error);
  }
}

/**
 * Everything the model's getters will read, checked now so structural damage surfaces here, not
 * in a getter later: the framing (RFC 5280 §4.1, no extension twice, §4.2), what OpenSSL's parser
 * would refuse (`validateFields`), the names, the SANs and the validity period.
 */
function validate(record: CertificateRecord): void {
  const { der, tbs } = record;
  const subjectAltName = record.subjectAltNameValue;
  validateFields(der, tbs);
  validateName(der, tbs.issuer);
  validateName(der, tbs.subject);
  validateSubjectAltNames(der, subjectAltName);
  record.validity;
}

/**
 * The fields OpenSSL's parser (`new X509Certificate`) refuses when broken, which no other check
 * here reads: the serialNumber a minimally encoded INTEGER, both signature AlgorithmIdentifiers
 * and the key's a SEQUENCE that starts with an OID, the SubjectPublicKeyInfo an algorithm and a
 * BIT STRING. So a certificate parses here only if Node could parse its fields too.
 */
function validateFields(der: Buffer, tbs: TbsLayout): void {
  const { valueStart: start, end } = tbs.serialNumber;
  if (end === start) throw malformed('empty serialNumber');
  const padded =
    end - start > 1 &&
    ((der[start] === 0 && der[start + 1]! < 0x80) || (der[start] === 0xff && der[start + 1]! >= 0x80));
  if (padded) throw malformed('non-minimal serialNumber');
  algorithmIdentifier(der, tbs.signatureAlgorithm, 'signatureAlgorithm');
  algorithmIdentifier(der, tbs.innerSignature, 'signature');
  bitString(der, tbs.signatureValue, 'signatureValue');
  const spki = DerCursor.inside(der, tbs.subjectPublicKeyInfo);
  algorithmIdentifier(der, spki.expect(Tag.SEQUENCE, 'key algorithm'), 'key algorithm');
  bitString(der, spki.expect(Tag.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  spki.finish('subjectPublicKeyInfo');
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
function algorithmIdentifier(der: Buffer, tlv: Tlv, what: string): void {
  const fields = DerCursor.inside(der, tlv);
  const oid = fields.expect(Tag.OID, what);
  checkOid(der, oid.valueStart, oid.end);
  if (!fields.done) fields.next(`${what} parameters`);
  fields.finish(what);
}

/** A BIT STRING's first octet counts the unused bits of the last: at most 7. */
function bitString(der: Buffer, tlv: Tlv, what: string): void {
  if (tlv.end === tlv.valueStart || der[tlv.valueStart]! > 7) throw malformed(`invalid ${what} BIT STRING`);
}

/**
 * The record behind a certificate: the one `parseCertificate` made, or for any other object that
 * implements the model, the record of its `x509`.
 */
export function recordOf(certificate: ClientCertificate): CertificateRecord {
  return ParsedCertificate.recordOf(certificate) ?? factsOf(certificate.x509);
}

/** DER of every certificate in one chain input: PEM text with any number of blocks, or DER. */
function chainDers(input: Buffer | string): Buffer[] {
  if (typeof input === 'string') return pemCertificates(input);
  if (!(input instanceof Uint8Array)) throw malformed('expected PEM text or DER bytes');
  const bytes = asBuffer(input);
  if (looksLikePem(bytes)) return pemCertificates(bytes.toString('latin1'));
  // DER is self-delimiting, so concatenated DER certificates are split by their outer lengths.
  const ders: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const tlv = readTlv(bytes, offset, bytes.length);
    ders.push(bytes.subarray(offset, tlv.end));
    offset = tlv.end;
  }
  return ders;
}

function isBlank(input: Buffer | string): boolean {
  if (typeof input === 'string') return input.trim() === '';
  return input.every(isPemSpace);
}

/**
 * DER of every certificate in `input` (PEM bundles, DER, concatenated DER, or arrays of them),
 * in order. Non-certificate PEM blocks are skipped; a non-blank input that yields no
 * certificate is malformed.
 */
export function splitCertificates(input: string | Buffer | readonly (string | Buffer)[]): Buffer[] {
  const items = Array.isArray(input) ? input : [input as string | Buffer];
  const ders: Buffer[] = [];
  for (const item of items) {
    const found = chainDers(item);
    if (found.length === 0 && !isBlank(item)) throw malformed('no certificate found');
    ders.push(...found);
  }
  return ders;
}

/** Parses every certificate in a PEM bundle, DER buffer, or array of them, in order. */
export function parseCertificateChain(pems: string | string[] | Buffer | Buffer[]): ClientCertificate[] {
  return splitCertificates(pems).map((der) => parseCertificate(der));
}
